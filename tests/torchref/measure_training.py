"""Measure what a training step keeps in PyTorch for every registered network, into tests/torchref/training.json.

    python tests/torchref/measure_training.py                  # every network in NETWORKS
    python tests/torchref/measure_training.py --only resnet18  # some (the others are kept in the file)
    python tests/torchref/measure_training.py --only lenet5 -o -   # to stdout
    for n in A B C; do python tests/torchref/measure_training.py --only $n; done   # large ones: a process each

Run it with CI's torch (2.13.0, CPU; no counting tool needed). One process measuring many large networks
grows (glibc keeps what torch freed, 21 GB after the ResNeXt-101s, and was killed): measure those one
process each; the file is written after every network. For each network, on its plain-torch copy
(tests/torchref, the same module tree as torchvision's model) in training mode:

- `saved` (batch 1 and 8): the bytes autograd keeps for backward during one forward. Every tensor that
  autograd saves passes through `torch.autograd.graph.saved_tensors_hooks`' pack hook; the figure is the
  sum of `untyped_storage().nbytes()` over the distinct storages of those tensors (a storage is counted
  once however many tensors view it: an in-place ReLU's result and its input, a flatten and the tensor it
  flattens, a transposed weight and the weight), leaving out the storages of the model's own parameters
  and buffers (BatchNorm's weight and running statistics are saved too, but they are held whether or not
  a forward runs). `saved_tensors` counts those storages.
  A batch at which torch refuses the forward (BatchNorm in training over one value per channel) is
  recorded as `{"error": message}`.
- `flopcounter_step` (at `step_batch`: 1, or the first batch torch runs): `torch.utils.flop_counter.
  FlopCounterMode` around the forward and `out.sum().backward()` (of every output): 2 x the MACs of
  every convolution and matrix product, forward and backward (each gradient only where autograd
  computes it: not the input's gradient of a layer reading the network's input).
- `grad_bytes`: the bytes of every parameter's `.grad` after that backward.
- `optimizer_state`: after one `step()` of each optimizer on those gradients, the bytes of the tensors
  in `optimizer.state`: SGD (lr 0.1), SGD with momentum 0.9, Adam and AdamW (defaults).

`--device meta` measures on torch's meta device, which runs the same ops and keeps the same tensors
without memory or arithmetic: for networks whose batch of 8 does not fit the machine (EfficientNet-B4
to B7 keep 5 to 29 GiB). On the CPU and on meta the figures were equal for alexnet, resnet50,
googlenet_aux_logits, inception_v3, densenet121, squeezenet1_0, mobilenet_v3_large, efficientnet_b0 and
shufflenet_v2_x1_0 at batch 2 (and for unet at batch 1 and 2); an entry measured so says `"device": "meta"`.
Not for a network with nn.MultiheadAttention, which it refuses: scaled_dot_product_attention picks its kernel
by device, and on meta takes the unfused path, which keeps other tensors (ViT-B/32, batch 1: 35,536,912 B in 185
storages on meta, 30,439,312 B in 161 on the CPU).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `torchref` importable as a package

from torchref import NETWORKS, TRAINING, Net  # noqa: E402
from torchref.measure import dumps  # noqa: E402  (one line per network's figures)

BATCHES = (1, 8)
OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")


def state_storages(model: Any) -> set[int]:
    """The storages of a model's parameters and buffers (keys: the StorageImpl's address)."""
    return {t.untyped_storage()._cdata for t in (*model.parameters(), *model.buffers())}


def saved(model: Any, x: Any) -> tuple[int, int]:
    """(bytes, storages) autograd saves in one forward of `model` on `x`, model state left out."""
    import torch
    state = state_storages(model)
    kept: dict[int, int] = {}
    held: list[Any] = []

    def pack(t: Any) -> Any:
        s = t.untyped_storage()
        if s._cdata not in state:
            kept[s._cdata] = s.nbytes()
            held.append(s)  # alive until the end: no address is reused while counting
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(x)
    del out
    return sum(kept.values()), len(kept)


def optimizer(name: str, params: Any) -> Any:
    import torch
    return {"sgd": lambda: torch.optim.SGD(params, lr=0.1),
            "momentum": lambda: torch.optim.SGD(params, lr=0.1, momentum=0.9),
            "adam": lambda: torch.optim.Adam(params),
            "adamw": lambda: torch.optim.AdamW(params)}[name]()


def _input(net: Net, batch: int, device: str) -> Any:
    import torch
    x = torch.randn(batch, *net.input, generator=torch.Generator().manual_seed(0))
    return x.to(device)


def step_figures(net: Net, batch: int, device: str = "cpu") -> dict[str, Any]:
    """FlopCounterMode over forward and backward, gradient bytes and optimizer state, at `batch`."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    model = net.model().train().to(device)
    x = _input(net, batch, device)
    with FlopCounterMode(display=False) as m:
        out_ = model(x)
        (sum(o.sum() for o in out_) if isinstance(out_, tuple) else out_.sum()).backward()
    out: dict[str, Any] = {"step_batch": batch, "flopcounter_step": m.get_total_flops(),
                           "grad_bytes": sum(p.grad.nbytes for p in model.parameters() if p.grad is not None)}
    states = {}
    for name in OPTIMIZERS:
        opt = optimizer(name, list(model.parameters()))
        opt.step()
        states[name] = sum(t.nbytes for s in opt.state.values() for t in s.values() if torch.is_tensor(t))
    out["optimizer_state"] = states
    return out


def measure(net: Net, batches: tuple[int, ...] = BATCHES, device: str = "cpu") -> dict[str, Any]:
    if device == "meta":
        from torch import nn
        if any(isinstance(m, nn.MultiheadAttention) for m in net.model().modules()):
            sys.exit(f"{net.name}: nn.MultiheadAttention keeps other tensors on the meta device than on the CPU "
                     "(scaled_dot_product_attention's kernel depends on the device): measure it on the CPU")
    entry: dict[str, Any] = {"spec": net.spec, "variant": net.variant, "overrides": net.overrides,
                             "input": list(net.input), **({"device": device} if device != "cpu" else {}),
                             "saved": {}, "saved_tensors": {}}
    for b in batches:
        model = net.model().train().to(device)
        x = _input(net, b, device)
        try:
            entry["saved"][str(b)], entry["saved_tensors"][str(b)] = saved(model, x)
        except ValueError as e:  # BatchNorm in training over one value per channel (a head on a 1 x 1 map)
            entry["saved"][str(b)] = entry["saved_tensors"][str(b)] = {"error": str(e)}
        del model, x
    ok = [b for b in batches if isinstance(entry["saved"][str(b)], int)]
    entry.update(step_figures(net, ok[0] if ok else 2, device))
    return entry


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="+", choices=sorted(NETWORKS), help="these networks only")
    ap.add_argument("-o", "--output", help=f"JSON file ('-': stdout; default: {TRAINING.name})")
    ap.add_argument("--device", choices=["cpu", "meta"], default="cpu",
                    help="meta: the same ops and saved tensors, no memory (for networks too large for the machine)")
    args = ap.parse_args(argv)

    import torch
    torch.set_num_threads(1)
    from importlib.metadata import version
    result: dict[str, Any] = {
        "about": "what PyTorch keeps for a training step of the plain-torch copies in tests/torchref, "
                 "measured by tests/torchref/measure_training.py (see its docstring for each figure)",
        "versions": {"python": platform.python_version(), "torch": version("torch")},
        "networks": {}}
    out = args.output or str(TRAINING)
    for name in args.only or NETWORKS:
        result["networks"][name] = e = measure(NETWORKS[name], device=args.device)
        print(f"{name}: saved {e['saved']}, step flops {e['flopcounter_step']:,}", file=sys.stderr)
        if out != "-":  # after every network: a long run that stops keeps what it measured
            write(result, Path(out), bool(args.only))
    if out == "-":
        sys.stdout.write(dumps(result) + "\n")
    return 0


def write(result: dict[str, Any], out: Path, update: bool) -> None:
    """The figures into `out`, in the registry's order; with `update`, the other networks' kept."""
    if update and out.exists():
        old = json.loads(out.read_text())
        result = dict(old, versions=result["versions"], networks={**old["networks"], **result["networks"]})
    order = list(NETWORKS)  # the registry's order; a network no longer registered is dropped
    kept = sorted(set(result["networks"]) & set(order), key=order.index)
    out.write_text(dumps(dict(result, networks={k: result["networks"][k] for k in kept})) + "\n")


if __name__ == "__main__":
    sys.exit(main())
