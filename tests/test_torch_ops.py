"""A spec's own `torch_ops:` and --torch-op selectors: a layer path, a pattern, or kind:NAME."""

from __future__ import annotations

import json

import pytest
from conftest import SPECS, analyze_text, run

import archcalc
from archcalc import profiles
from archcalc.torch_ops import ops_for, resolve, spec_ops

# conv + BN + ReLU twice, in two blocks, then global pooling and a dense layer
NET = """\
input: 8x8x3
blocks:
  unit:
    args: {filters: null}
    layers:
      - {kind: conv, name: conv, filters: filters, kernel: 3, padding: 1, bias: false}
      - {kind: batchnorm, name: bn}
      - {kind: relu, name: relu}
layers:
  - {kind: unit, name: u1, filters: 4}
  - {kind: unit, name: u2, filters: 4}
  - {kind: globalavgpool, name: pool}
  - {kind: dense, name: fc, units: 10}
"""
RELU_ELEMS = 8 * 8 * 4  # each ReLU's input elements


def test_kind_pattern_and_path_select_layers() -> None:
    an = analyze_text(NET)
    assert resolve_map(an, {"kind:relu": "F.relu"}) == {"u1/relu": "F.relu", "u2/relu": "F.relu"}
    assert resolve_map(an, {"u?/relu": "F.relu"}) == {"u1/relu": "F.relu", "u2/relu": "F.relu"}
    # a path wins over a pattern, a pattern over kind:, whatever the order
    both = resolve_map(an, {"u2/relu": "ReLU", "*/relu": "F.relu", "kind:relu": "ReLU"})
    assert both == {"u1/relu": "F.relu", "u2/relu": "ReLU"}


def resolve_map(an: archcalc.Analysis, torch: dict[str, str]) -> dict[str, str]:
    from archcalc.torch_ops import cli_entries
    return resolve(an, cli_entries(torch))


def test_ptflops_counts_functional_relu_once() -> None:
    # nn.ReLU: its hook and the patched F.relu inside it (2 per element); F.relu alone: 1 per element
    an = analyze_text(NET)
    module = profiles.breakdown(an, "ptflops")["relu"]
    assert module == 2 * 2 * RELU_ELEMS
    assert profiles.breakdown(an, "ptflops", torch={"kind:relu": "F.relu"})["relu"] == 2 * RELU_ELEMS
    assert "relu" not in profiles.breakdown(an, "ptflops-nofunc", torch={"kind:relu": "F.relu"})


def test_the_specs_own_torch_ops_are_honoured_everywhere(write) -> None:  # type: ignore[no-untyped-def]
    path = write(NET + "torch_ops: {kind:relu: F.relu, pool: F.adaptive_avg_pool2d}\n")
    an = archcalc.analyze(path)
    assert spec_ops(an) == {"u1/relu": "F.relu", "u2/relu": "F.relu", "pool": "F.adaptive_avg_pool2d"}
    # thop sees no functional: the pool's (64 + 1) x 4 are gone; 4 per element of the two BatchNorms stay
    assert profiles.breakdown(an, "thop") == {"macs": an.totals.macs, "batchnorm": 4 * 2 * RELU_ELEMS}
    assert profiles.breakdown(analyze_text(NET), "thop")["adaptive_avg_pool"] == (64 + 1) * 4
    expected = profiles.total(an, "ptflops")
    assert expected == profiles.total(analyze_text(NET), "ptflops",
                                      torch={"kind:relu": "F.relu", "pool": "F.adaptive_avg_pool2d"})
    r = run("summarize", str(path), "--convention", "ptflops", "-f", "json")
    d = json.loads(r.stdout)
    assert d["convention"]["total"] == expected
    assert d["convention"]["torch_ops"] == {"kind:relu": "F.relu", "pool": "F.adaptive_avg_pool2d"}
    # --torch-op wins over the spec's own, for the layers it selects
    r = run("summarize", str(path), "--convention", "ptflops", "-f", "json", "--torch-op", "u1/relu=ReLU")
    d = json.loads(r.stdout)
    assert d["convention"]["total"] == expected + RELU_ELEMS
    assert d["convention"]["torch_ops"] == {"kind:relu": "F.relu", "pool": "F.adaptive_avg_pool2d",
                                            "u1/relu": "ReLU"}
    # compare: each spec counted with its own torch ops
    r = run("compare", str(path), str(write(NET, "plain.yaml")), "--convention", "ptflops", "-f", "json")
    d = json.loads(r.stdout)
    assert d["totals"]["convention_total"]["values"] == [expected, profiles.total(analyze_text(NET), "ptflops")]
    # and --torch-op kind:... applies to each spec that has the kind
    r = run("compare", str(path), str(write(NET, "plain.yaml")), "--convention", "ptflops", "-f", "json",
            "--torch-op", "kind:relu=ReLU")
    d = json.loads(r.stdout)
    plain = profiles.total(analyze_text(NET), "ptflops")
    # the first keeps its own F.adaptive_avg_pool2d: 1 per input element instead of 2 (hook + functional)
    assert d["totals"]["convention_total"]["values"] == [plain - RELU_ELEMS, plain]


def test_ops_for_every_row() -> None:
    an = analyze_text(NET)
    ops = dict(zip([r.name for r in an.rows], ops_for(an, {"kind:relu": "F.relu"}), strict=True))
    assert ops["u1/conv"] == "Conv2d" and ops["u1/relu"] == ops["u2/relu"] == "F.relu"
    assert ops["pool"] == "AdaptiveAvgPool2d" and ops["fc"] == "Linear"


@pytest.mark.parametrize(("entry", "line", "col", "message", "hint"), [
    ("kind:relu: F.relu6", 2, 14, "torch_ops.kind:relu: a relu layer is one of ReLU, F.relu", "did you mean"),
    ("kind:rleu: F.relu", 2, 3, "torch_ops.kind:rleu: no layer kind 'rleu'", "did you mean 'relu'?"),
    ("\"*\": F.relu", 2, 8, "torch_ops.*: the pattern selects 'u1/conv'; a conv layer is one of Conv2d",
     "select by kind: kind:conv"),
    ("u1/rel: F.relu", 2, 3, "torch_ops.u1/rel: no layer named 'u1/rel'", "did you mean 'u1/relu'?"),
    ("\"u?/relu\": F.relu\n  \"*/relu\": ReLU", 3, 13,
     "torch_ops.*/relu: selects 'u1/relu', which 'u?/relu' makes F.relu", "one torch model"),
])
def test_wrong_entries_are_located(write, entry: str, line: int, col: int, message: str,  # type: ignore[no-untyped-def]
                                   hint: str) -> None:
    # what `check` reports for any spec, and summarize/compare under --convention
    path = write(NET + "torch_ops:\n  " + entry + "\n")
    base = len(NET.splitlines())
    for args in (("check", str(path)), ("summarize", str(path), "--convention", "thop")):
        r = run(*args)
        assert r.exit_code == 1, r.stdout
        assert f"spec.yaml:{base + line}:{col}: " in r.stderr, r.stderr
        assert message in r.stderr and hint in r.stderr


def test_a_pattern_or_kind_may_select_nothing() -> None:
    # a spec's layers depend on its variables: GoogLeNet's `aux?/pool` selects nothing without aux heads
    an = archcalc.analyze(SPECS / "googlenet.yaml")
    assert set(spec_ops(an).values()) == {"F.relu(inplace=True)"} and len(spec_ops(an)) == 57  # 57 BasicConv2d
    aux = archcalc.analyze(SPECS / "googlenet.yaml", overrides={"aux": True})
    ops = spec_ops(aux)
    assert ops["aux1/pool"] == ops["aux2/pool"] == "F.adaptive_avg_pool2d"
    assert ops["aux1/relu"] == "F.relu(inplace=True)"  # InceptionAux: F.relu(self.fc1(x), inplace=True)
    assert len(ops) == 57 + 2 * (1 + 1) + 2  # + each head's BasicConv2d ReLU and fc1 ReLU, + two pools


def test_cli_selector_no_spec_has(write) -> None:  # type: ignore[no-untyped-def]
    a, b = write(NET, "a.yaml"), write(NET, "b.yaml")
    r = run("compare", str(a), str(b), "--convention", "thop", "--torch-op", "x*=F.relu")
    assert r.exit_code == 1 and "--torch-op x*=F.relu: no spec has a layer that 'x*' selects" in r.stderr
    r = run("summarize", str(a), "--convention", "thop", "--torch-op", "kind:lrn=F.relu")
    assert r.exit_code == 1 and "--torch-op kind:lrn=F.relu: a lrn layer is one of LocalResponseNorm" in r.stderr


def test_check_selector_no_spec_has(write) -> None:  # type: ignore[no-untyped-def]
    a = write(NET, "a.yaml")
    r = run("check", str(a), "--convention", "thop", "--torch-op", "kind:lrn=LocalResponseNorm")
    assert r.exit_code == 1 and "--torch-op kind:lrn=LocalResponseNorm: no checked spec has a layer that" in r.stderr
    r = run("check", str(a), "--convention", "thop", "--torch-op", "kind:relu=F.relu", "-f", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["convention"]["torch_ops"] == {"kind:relu": "F.relu"}
