"""Every tool's figure for every zoo network, out of the box (issue 13 item 7).

The figures are what each tool printed for the plain-torch copies in tests/torchref (torch 2.13.0,
torchinfo 1.8.0, ptflops 0.7.5, fvcore 0.1.5, thop 0.1.1; batch 1 and 2), recorded in
tests/torchref/figures.json by tests/torchref/measure.py; figures-torchvision.json holds the same
tools on torchvision 0.29.1's own models (torch 2.14.1), measured after checking each copy has their
structure. Here, without torch: the shipped spec, with no flag but its variable settings for that
model, gives each figure through `--convention`.
"""

from __future__ import annotations

import json
import re

import pytest
from conftest import ROOT, SPECS, run
from torchref import FIGURES, FIGURES_TORCHVISION, NETWORKS, TOOLS, Net

import archcalc
from archcalc import profiles

MEASURED = json.loads(FIGURES.read_text(encoding="utf-8"))
TORCHVISION = json.loads(FIGURES_TORCHVISION.read_text(encoding="utf-8"))
CASES = [(name, int(b)) for name, e in MEASURED["networks"].items() for b in e["batch"]]


def _analyze(net: Net, batch: int = 1) -> archcalc.Analysis:
    return archcalc.analyze(SPECS / net.spec, overrides=net.overrides, batch=batch, variant=net.variant)


def _setting(net: Net) -> str:
    """`densenet.yaml@densenet121`: the spec and variant as the command line names them."""
    return net.spec + (f"@{net.variant}" if net.variant else "")


def test_figures_were_measured_with_cis_tools() -> None:
    v = MEASURED["versions"]
    assert v["torch"].startswith("2.13.0") and v["torchinfo"] == "1.8.0" and v["ptflops"] == "0.7.5"
    assert v["fvcore"].startswith("0.1.5") and v["thop"].startswith("0.1.1")
    assert set(MEASURED["calls"]) == set(TOOLS)


def test_every_network_measured_at_batch_1_and_2() -> None:
    assert set(MEASURED["networks"]) == set(NETWORKS)
    for name, e in MEASURED["networks"].items():
        assert set(e["batch"]) == {"1", "2"}, name
        assert all(set(TOOLS) <= set(figs) for figs in e["batch"].values()), name


def test_every_zoo_network_is_registered() -> None:
    # each network of the zoo has a torch model here: each spec, each variant of a family (and the
    # family's own default setting when it declares figures); specs/examples/ hold single modules
    want: set[tuple[str, str | None]] = set()
    for p in SPECS.glob("*.yaml"):
        spec = archcalc.load(p)
        want |= {(p.name, v) for v in spec.variants}
        if "expect" in spec.root or not spec.variants:
            want.add((p.name, None))
    have = {(n.spec, n.variant) for n in NETWORKS.values()}
    missing = sorted(f"{s}@{v}" if v else s for s, v in want - have)
    assert not missing, f"no plain-torch model in tests/torchref for: {', '.join(missing)}"
    assert have <= want, f"registered, but no such spec or variant: {sorted(map(str, have - want))}"


@pytest.mark.parametrize(("name", "batch"), CASES, ids=[f"{n}-b{b}" for n, b in CASES])
def test_convention_is_what_the_tool_printed(name: str, batch: int) -> None:
    an = _analyze(NETWORKS[name], batch)
    printed = MEASURED["networks"][name]["batch"][str(batch)]
    assert {t: profiles.total(an, t) for t in TOOLS} == {t: printed[t] for t in TOOLS}


def thop_misses(an: archcalc.Analysis) -> int:
    """The parameters thop 0.1.1's `params` leaves out: it counts those of the leaf modules that it has a
    rule for (by exact type) and that are called, so not nn.MultiheadAttention's (its out_proj is never
    called as a module), nor Swin's ShiftedWindowAttention's (its qkv and proj weights go to F.linear), nor
    a learned tensor held above the leaves (the class token, the position embedding, ConvNeXt's layer
    scale), nor LayerNorm2d's (an nn.LayerNorm subclass). Measured (tests/torchref/figures.json): vit_b_32
    59,836,648 of 88,224,232; convnext_tiny 28,579,432 of 28,589,128; swin_t 19,621,192 of 28,288,354."""
    from archcalc.torch_ops import ops_for
    kinds = ("attention", "windowattention", "classtoken", "posembed", "scale")
    return sum(r.params for r, op in zip(an.rows, ops_for(an), strict=True) if r.kind in kinds or op == "LayerNorm2d")


@pytest.mark.parametrize("name", list(NETWORKS))
def test_parameters_are_what_the_tools_counted(name: str) -> None:
    net = NETWORKS[name]
    e = MEASURED["networks"][name]
    an = _analyze(net)
    assert e["params"] == net.num_params  # sum of the copy's nn.Parameters = the published count
    an = _analyze(net)
    # thop sums the parameters of the modules that ran: an eval-mode forward skips the training-only
    # heads (Inception-v3's AuxLogits, 3,326,696; GoogLeNet's aux1 and aux2, 6,379,984), the others count all
    ran = net.num_params - sum(r.trainable for r in an.rows if r.training_only)
    for figs in e["batch"].values():
        assert figs["torchinfo_params"] == figs["torchinfo_trainable_params"] == net.num_params
        assert figs["ptflops_params"] == net.num_params
        assert figs["thop_params"] == ran - thop_misses(an)
    assert an.totals.trainable_params == net.num_params


def test_the_copies_are_torchvisions_models() -> None:
    assert TORCHVISION["versions"]["torchvision"] == "0.29.1"
    tv = TORCHVISION["networks"]
    assert set(tv) == {n for n, net in NETWORKS.items() if net.torchvision}
    for name, e in tv.items():
        assert e["same_as_copy"], name  # state_dict, modules and torch functions called: the same
        assert e["params"] == NETWORKS[name].num_params
        assert e["batch"] == MEASURED["networks"][name]["batch"], name  # every tool, both batches


def test_thop_counts_softmax_as_3n_minus_1_per_row() -> None:
    # thop 0.1.1 count_softmax: batch x (n exp + (n - 1) adds + n divisions); measured on LeNet-5 (n = 10)
    # and MobileNet v1 (n = 1,000) with and without nn.Softmax(dim=1)
    for name, n in (("lenet5", 10), ("mobilenet_v1", 1000)):
        for b in ("1", "2"):
            plain, soft = MEASURED["networks"][name]["batch"][b], MEASURED["networks"][f"{name}_softmax"]["batch"][b]
            assert soft["thop"] - plain["thop"] == int(b) * (3 * n - 1)
            assert soft["ptflops"] - plain["ptflops"] == int(b) * n  # F.softmax, patched: over the batch
            assert soft["ptflops-nofunc"] == plain["ptflops-nofunc"]   # nn.Softmax has no hook
            assert all(soft[t] == plain[t] for t in ("torchinfo", "fvcore", "flopcounter"))


def test_ptflops_divides_module_counts_by_the_batch_but_not_functionals() -> None:
    # ptflops at batch N prints M + N F (M: its module hooks per sample, F: its patched functionals):
    # the batch-1 difference ptflops - ptflops-nofunc is F, for every network
    for name, e in MEASURED["networks"].items():
        one, two = e["batch"]["1"], e["batch"]["2"]
        f = one["ptflops"] - one["ptflops-nofunc"]
        assert two["ptflops"] == one["ptflops"] + f and two["ptflops-nofunc"] == one["ptflops-nofunc"], name
        assert all(two[t] == 2 * one[t] for t in ("torchinfo", "fvcore", "thop", "flopcounter")), name


def test_summarize_prints_the_tools_figure_with_no_flag() -> None:
    # the whole path a user takes: the shipped spec, --convention, nothing else
    printed = MEASURED["networks"]["googlenet"]["batch"]["1"]
    for tool in ("ptflops", "thop"):
        r = run("summarize", str(SPECS / "googlenet.yaml"), "--convention", tool, "--depth", "1")
        assert r.exit_code == 0, r.stderr
        assert f"{tool} total" in r.stdout and f"{printed[tool]:,}" in r.stdout
    # at batch 2 ptflops reports its module hooks per sample, and says so
    r = run("summarize", str(SPECS / "googlenet.yaml"), "--convention", "ptflops", "--depth", "1", "--batch", "2")
    two = MEASURED["networks"]["googlenet"]["batch"]["2"]["ptflops"]
    assert f"{two:,}" in r.stdout and "batch 2: module hooks' counts divided by the batch" in " ".join(r.stdout.split())
    r = run("compare", str(SPECS / "mobilenet_v2.yaml"), str(SPECS / "alexnet.yaml"), "--convention", "thop",
            "-f", "json")
    d = json.loads(r.stdout)
    assert d["totals"]["convention_total"]["values"] == [
        MEASURED["networks"][n]["batch"]["1"]["thop"] for n in ("mobilenet_v2", "alexnet")]
    assert [s["convention"]["torch_ops"] for s in d["specs"]] == [
        {"avgpool": "F.adaptive_avg_pool2d", "kind:relu6": "ReLU6(inplace=True)", "kind:add": "+"},
        {"kind:relu": "ReLU(inplace=True)"}]  # AlexNet's AdaptiveAvgPool2d((6, 6)) is its own kind


def test_docs_table_is_the_measured_figures() -> None:
    # docs/analyses.md's table of every zoo spec's figures (batch 1), one row per network
    text = (ROOT / "docs" / "analyses.md").read_text(encoding="utf-8")
    header = next(line for line in text.splitlines() if line.startswith("| spec | torchinfo |"))
    tools = [c.strip() for c in header.strip("|").split("|")][1:]
    assert tools == list(TOOLS)
    rows = {m[1]: [int(c.replace(",", "")) for c in m[2].split("|")]
            for m in re.finditer(r"^\| `(\w+\.yaml(?:@\w+)?)` \|(.*)\|$", text, re.M)}
    want = {_setting(NETWORKS[n]): [e["batch"]["1"][t] for t in TOOLS] for n, e in MEASURED["networks"].items()
            if not NETWORKS[n].overrides}
    assert rows == want
