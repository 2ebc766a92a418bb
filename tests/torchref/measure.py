"""Measure what every counting tool prints for every registered network, into a JSON data file.

    python tests/torchref/measure.py                    # the copies -> tests/torchref/figures.json
    python tests/torchref/measure.py --only lenet5 --batches 1 -o -   # one network, to stdout
    python tests/torchref/measure.py --torchvision      # torchvision's own models (a torch with
                                                        # torchvision): structure check + figures
                                                        # -> tests/torchref/figures-torchvision.json

Run it with a Python that has torch and the tools (CI's: torch 2.13.0, torchinfo 1.8.0, ptflops 0.7.5,
fvcore 0.1.5.post20221221, thop 0.1.1.post2209072238). The figures are each tool's own exact total, the
number its printout rounds (torchinfo's "Total mult-adds", ptflops' "Computational complexity", ...):
the sources of the pins in tests/test_torchref.py. Every tool gets a fresh model in eval mode (thop and
ptflops add attributes to the modules they see).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import platform
import sys
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `torchref` importable as a package

from torchref import FIGURES, FIGURES_TORCHVISION, NETWORKS, TOOLS, Net  # noqa: E402

#: How each figure is obtained: the exact call, so anyone can re-measure one by hand.
CALLS = {
    "torchinfo": "torchinfo.summary(model, input_size=(batch, C, H, W), verbose=0).total_mult_adds "
                 "('Total mult-adds'); params: .total_params, .trainable_params",
    "ptflops": "ptflops.get_model_complexity_info(model, (C, H, W), as_strings=False, "
               "print_per_layer_stat=False, backend='pytorch', input_constructor=<a batch of that size>)[0]",
    "ptflops-nofunc": "the same with backend_specific_config={'count_functional': False}",
    "fvcore": "fvcore.nn.FlopCountAnalysis(model, x).total()",
    "thop": "thop.profile(model, inputs=(x,), verbose=False)[0] (macs); params: [1]",
    "flopcounter": "with torch.utils.flop_counter.FlopCounterMode(display=False) as m: model(x); "
                   "m.get_total_flops()",
}


def _int(v: Any) -> int:
    """A tool's figure as an exact integer (thop returns a float or a 0-d tensor)."""
    v = float(v.item() if hasattr(v, "item") else v)
    if v != int(v):
        raise ValueError(f"not an integer: {v!r}")
    return int(v)


def measure(build: Any, shape: tuple[int, ...], batch: int) -> dict[str, int]:
    """Every tool's figure for the model `build()` makes, at `batch`."""
    import torch
    import torchinfo
    from fvcore.nn import FlopCountAnalysis
    from ptflops import get_model_complexity_info
    from thop import profile
    from torch.utils.flop_counter import FlopCounterMode

    def x() -> Any:
        return torch.randn(batch, *shape, generator=torch.Generator().manual_seed(0))

    out: dict[str, int] = {}
    # Each tool is called as CALLS says, as its documentation shows: not inside torch.no_grad() (torchinfo
    # and thop enter it themselves). Under no_grad an eval-mode nn.MultiheadAttention takes its fast path
    # (torch._native_multi_head_attention), in which fvcore and FlopCounterMode see neither its
    # projections nor its products: measured on vit_b_32, fvcore 2,952,328,704 and FlopCounterMode
    # 5,895,057,408 there, against 4,367,906,304 and 8,726,212,608 as called here.
    s = torchinfo.summary(build(), input_size=(batch, *shape), verbose=0)
    out["torchinfo"], out["torchinfo_params"] = s.total_mult_adds, s.total_params
    out["torchinfo_trainable_params"] = s.trainable_params
    for name, cfg in (("ptflops", {}), ("ptflops-nofunc", {"count_functional": False})):
        macs, params = get_model_complexity_info(
            build(), shape, as_strings=False, print_per_layer_stat=False, backend="pytorch",
            input_constructor=lambda _res: x(), backend_specific_config=cfg)
        out[name] = _int(macs)
        out[f"{name}_params"] = _int(params)
    fa = FlopCountAnalysis(build(), x())
    fa.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    out["fvcore"] = _int(fa.total())
    macs, params = profile(build(), inputs=(x(),), verbose=False)
    out["thop"], out["thop_params"] = _int(macs), _int(params)
    with FlopCounterMode(display=False) as m:
        build()(x())
    out["flopcounter"] = _int(m.get_total_flops())
    return out


def trace(model: Any, shape: tuple[int, ...]) -> tuple[list[tuple[str, str]], list[str]]:
    """The modules called (path, class) and the torch functions called, in order, in one forward."""
    import torch
    from torch.overrides import TorchFunctionMode

    calls: list[tuple[str, str]] = []
    names = {m: n for n, m in model.named_modules()}
    hooks = [m.register_forward_pre_hook(lambda m, _a: calls.append((names[m], type(m).__name__)))
             for m in model.modules()]
    funcs: list[str] = []

    class Record(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
            funcs.append(getattr(func, "__name__", repr(func)))
            return func(*args, **(kwargs or {}))

    with torch.no_grad(), Record():
        model(torch.zeros(1, *shape))
    for h in hooks:
        h.remove()
    return calls, funcs


def same_as_torchvision(net: Net) -> list[str]:
    """How the copy differs from torchvision's model (empty: the same module tree, calls and parameters)."""
    mine, theirs = net.model(), net.torchvision_model()
    problems = []
    a = {k: tuple(v.shape) for k, v in mine.state_dict().items()}
    b = {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    if a != b:
        problems.append(f"state_dict differs: only in the copy {sorted(set(a) - set(b))[:5]}, only in "
                        f"torchvision {sorted(set(b) - set(a))[:5]}, shapes "
                        f"{[k for k in set(a) & set(b) if a[k] != b[k]][:5]}")
    n = sum(p.numel() for p in theirs.parameters())
    if n != net.num_params:
        problems.append(f"torchvision's model has {n:,} parameters, the registry says {net.num_params:,}")
    (mc, mf), (tc, tf) = trace(mine, net.input), trace(theirs, net.input)
    if mc != tc:
        i = next((i for i, (p, q) in enumerate(zip(mc, tc, strict=False)) if p != q), min(len(mc), len(tc)))
        problems.append(f"modules called differ at call {i}: {mc[i:i + 2]} vs {tc[i:i + 2]}")
    if mf != tf:
        i = next((i for i, (p, q) in enumerate(zip(mf, tf, strict=False)) if p != q), min(len(mf), len(tf)))
        problems.append(f"torch functions called differ at call {i}: {mf[i:i + 3]} vs {tf[i:i + 3]}")
    return problems


def versions(torchvision: bool) -> dict[str, str]:
    from importlib.metadata import version
    names = ["torch", "torchinfo", "ptflops", "fvcore", "thop"] + (["torchvision"] if torchvision else [])
    return {"python": platform.python_version(), **{n: version(n) for n in names}}


def dumps(obj: Any) -> str:
    """JSON with every mapping of plain values on one line: one line per network and batch."""
    if isinstance(obj, dict) and not any(isinstance(v, dict) for v in obj.values()):
        return json.dumps(obj)
    if isinstance(obj, dict):
        return "{\n" + ",\n".join(f"{json.dumps(k)}: {dumps(v)}" for k, v in obj.items()) + "\n}"
    return json.dumps(obj)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="+", choices=sorted(NETWORKS), help="these networks only")
    ap.add_argument("--batches", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--torchvision", action="store_true",
                    help="measure torchvision's models (after checking each copy has their structure)")
    ap.add_argument("-o", "--output", help="JSON file ('-': stdout; default: figures.json, or "
                                           "figures-torchvision.json with --torchvision)")
    args = ap.parse_args(argv)

    import torch
    torch.set_num_threads(1)
    logging.getLogger("fvcore").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    nets = [NETWORKS[n] for n in (args.only or NETWORKS)]
    if args.torchvision:
        nets = [n for n in nets if n.torchvision]
    result: dict[str, Any] = {
        "about": ("what each tool prints for " + ("torchvision's own models" if args.torchvision else
                  "the plain-torch copies in tests/torchref") + ", measured by tests/torchref/measure.py"),
        "versions": versions(args.torchvision), "calls": CALLS, "networks": {}}
    failed = False
    for net in nets:
        entry: dict[str, Any] = {"spec": net.spec, "variant": net.variant, "overrides": net.overrides,
                                 "input": list(net.input),
                                 "num_params": net.num_params}
        if args.torchvision:
            problems = same_as_torchvision(net)
            entry["same_as_copy"] = not problems
            for p in problems:
                print(f"{net.name}: {p}", file=sys.stderr)
            failed |= bool(problems)
            build = net.torchvision_model
        else:
            build = net.model
        entry["params"] = sum(p.numel() for p in build().parameters())
        with contextlib.redirect_stdout(io.StringIO()):  # thop and ptflops print as they go
            entry["batch"] = {str(b): measure(build, net.input, b) for b in args.batches}
        result["networks"][net.name] = entry
        print(f"{net.name}: " + ", ".join(f"{t} {entry['batch']['1'][t]:,}" for t in TOOLS
                                          if "1" in entry["batch"]), file=sys.stderr)
    text = dumps(result) + "\n"
    out = args.output or str(FIGURES_TORCHVISION if args.torchvision else FIGURES)
    if out == "-":
        sys.stdout.write(text)
    else:
        if args.only and Path(out).exists():  # update those networks, keep the others
            old = json.loads(Path(out).read_text())
            old["networks"].update(result["networks"])
            old["versions"], old["calls"] = result["versions"], result["calls"]
            text = dumps(old) + "\n"
        Path(out).write_text(text)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
