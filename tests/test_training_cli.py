"""A training step in every report and command: summarize, compare, sweep, check, fit (issue 17).

Figures are written as arithmetic beside them, or are the library's own figures set beside the
report's (the report must carry exactly what `archcalc.training` computes); the library's figures
themselves are held to PyTorch's in tests/test_training_kinds.py and tests/test_training_zoo.py.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from conftest import ROOT, SPECS, analyze_text, run

import archcalc
from archcalc import SpecError, training
from archcalc.fit import fit, parse_size

TINY = str(ROOT / "docs" / "examples" / "tiny_train.yaml")
# docs/training.md's worked example at batch 2, by hand: saved = input 2·8·8·3·4 + conv out 2·8·8·8·4
# + mean, invstd 2·8·4 + BatchNorm's out (the in-place ReLU's) 2·8·8·8·4 + indices 2·4·4·8·8 + pooled 2·4·4·8·4
TINY_SAVED = 1536 + 4096 + 64 + 4096 + 2048 + 1024
TINY_FORWARD = 2 * 8 * 8 * 8 * (3 * 3 * 3) + 2 * 128 * 10          # 27,648 + 2,560
TINY_BACKWARD = 2 * 8 * 8 * 8 * (3 * 3 * 3) + 2 * (2 * 128 * 10)   # conv: weights only; fc: both
TINY_PARAMS = 3 * 3 * 3 * 8 + 2 * 8 + 128 * 10 + 10                # 1,522


def tiny(batch: int = 2) -> archcalc.Analysis:
    return archcalc.analyze(TINY, batch=batch, training=True)


def test_the_worked_example_by_hand() -> None:
    s = training.step(tiny())
    assert s.saved_bytes == TINY_SAVED == 12_864 and s.saved_storages == 7
    assert (s.forward_macs, s.backward_macs) == (TINY_FORWARD, TINY_BACKWARD)
    assert s.step_macs == TINY_FORWARD + TINY_BACKWARD == 62_976
    assert s.param_bytes == s.grad_bytes == s.optimizer_bytes == TINY_PARAMS * 4  # momentum: one copy
    assert s.buffer_bytes == 2 * 8 * 4


def test_summarize_train_table_and_totals() -> None:
    r = run("summarize", TINY, "--train", "--batch", "2")
    assert r.exit_code == 0, r.stderr
    head = next(line for line in r.stdout.splitlines() if line.startswith("layer"))
    assert "backward MACs" in head and "saved (B)" in head
    total = next(line for line in r.stdout.splitlines() if line.startswith("total "))
    assert f"{TINY_BACKWARD:,}" in total and f"{TINY_SAVED:,}" in total
    text = " ".join(r.stdout.split())
    assert f"Saved activations {TINY_SAVED:,} B" in text and "no gradient for the input of conv" in text
    assert "Optimizer state 6,088 B" in text and "SGD with momentum" in text


def test_summarize_train_json_csv_markdown_carry_the_step() -> None:
    s = training.step(tiny())
    d = json.loads(run("summarize", TINY, "--train", "--batch", "2", "-f", "json").stdout)
    t = d["training_step"]
    assert (t["saved_bytes"], t["backward_macs"], t["peak_bytes"]) == (s.saved_bytes, s.backward_macs, s.peak.bytes)
    assert t["optimizer"] == "momentum" and t["batch"] == 2 and not t["amp"]
    assert sum(x["saved_bytes"] for x in d["layers"]) == s.saved_bytes
    assert sum(x["backward_macs"] for x in d["layers"]) == s.backward_macs
    ex = json.loads(run("summarize", TINY, "--train", "--batch", "2", "-f", "json", "--explain").stdout)
    pool = next(x for x in ex["layers"] if x["name"] == "pool")
    assert [(k["what"], k["bytes"], k["counted_here"]) for k in pool["saved"]] == [
        ("input", 4096, False), ("indices", 2 * 4 * 4 * 8 * 8, True)]
    rows = list(csv.DictReader(io.StringIO(run("summarize", TINY, "--train", "--batch", "2", "-f", "csv").stdout)))
    assert sum(int(x["saved_bytes"]) for x in rows) == TINY_SAVED
    md = run("summarize", TINY, "--train", "--batch", "2", "-f", "markdown").stdout
    assert "| backward MACs | saved (B) |" in md and "| Saved activations |" in md


def test_explain_gives_each_formula_and_each_saved_tensor() -> None:
    out = run("summarize", TINY, "--train", "--batch", "2", "--explain").stdout
    assert ("backward  activations 0 (its input needs no gradient); weights N·H'·W'·n_c'·(f·f·n_c) = "
            "2·8·8·8·(3·3·3) = 27,648") in out
    assert "saved     indices (N·H'·W'·C' = 2·4·4·8 values x 8 B, int64): 2,048 B" in out
    assert "saved     input (the storage of bn): 4,096 B, kept already by an earlier layer" in out
    folded = run("summarize", str(SPECS / "resnet18.yaml"), "--train", "--depth", "1", "--explain").stdout
    assert "  backward  sum of its layers" in folded and "  saved  sum of its layers" in folded


def test_training_options_need_train() -> None:
    for args in (["--optimizer", "adam"], ["--amp"], ["--checkpoint", "1"]):
        r = run("summarize", TINY, *args)
        assert r.exit_code == 2 and "describes a training step: add --train" in r.stderr, r.stderr
    r = run("summarize", TINY, "--torch-op", "relu=F.relu")
    assert r.exit_code == 2 and "add --convention NAME (or --train)" in r.stderr
    r = run("summarize", TINY, "--train", "--torch-op", "relu=F.relu", "-f", "json")  # the ReLU no longer in place
    assert r.exit_code == 0 and json.loads(r.stdout)["training_step"]["saved_storages"] == 7


def test_a_layer_autograd_does_not_record_keeps_nothing() -> None:
    an = analyze_text("input: 4x4x2\nlayers:\n  - {kind: relu}\n  - {kind: maxpool, size: 2}\n  - {kind: flatten}\n"
                      "  - {kind: dense, units: 3}\n", training=True)
    s = training.step(an)
    assert [x.recorded for x in s.layers] == [False, False, False, False, True]
    assert s.saved_bytes == 2 * 2 * 2 * 4  # the dense layer's input only: the pooled map
    assert s.backward_macs == 8 * 3       # weights only: nothing before it needs a gradient


def test_a_step_needs_a_training_pass_and_batchnorm_more_than_one_value() -> None:
    with pytest.raises(archcalc.ArchcalcError, match="needs a training pass"):
        training.step(archcalc.analyze(TINY))
    text = "input: 1x1x4\nlayers:\n  - {kind: conv, filters: 4, kernel: 1}\n  - {kind: batchnorm, name: bn}\n"
    with pytest.raises(SpecError) as e:
        training.step(analyze_text(text, training=True))
    assert "layer 'bn' (batchnorm)" in e.value.message and "N·H·W = 1·1·1 = 1 value" in e.value.message
    assert e.value.hint == "train at a batch of at least 2"
    assert training.step(analyze_text(text, training=True, batch=2)).saved_bytes > 0


def test_optimizers_and_amp() -> None:
    an = tiny()
    p = TINY_PARAMS
    tensors = 5  # conv kernel, BatchNorm gamma and beta, fc kernel and bias
    want = {"sgd": 0, "momentum": 4 * p, "adam": 8 * p + 4 * tensors, "adamw": 8 * p + 4 * tensors}
    assert {o: training.step(an, training.Options(o)).optimizer_bytes for o in want} == want
    amp = training.step(an, training.Options("adam", amp=True))
    # ZeRO's mixed-precision Adam: 2 (weights) + 2 (gradients) + 12 (master weights and two moments) B a parameter
    assert (amp.param_bytes, amp.grad_bytes, amp.optimizer_bytes - 4 * tensors) == (2 * p, 2 * p, 12 * p)
    # values take 2 bytes; BatchNorm's statistics stay float32 and max pooling's indices int64
    assert amp.saved_bytes == (TINY_SAVED - 64 - 2048) // 2 + 64 + 2048
    with pytest.raises(SpecError, match="unknown optimizer"):
        training.Options("lamb")


def test_checkpointing_trades_memory_for_macs() -> None:
    an = archcalc.analyze(SPECS / "resnet50.yaml", batch=32, training=True)
    plain = training.step(an)
    ck = training.step(an, training.Options(checkpoint=("2",)))
    assert len(ck.segments) == 3 + 4 + 6 + 3
    assert ck.peak.bytes < plain.peak.bytes == ck.peak_without_checkpoint.bytes
    blocks = sum(r.macs for r in an.rows if r.name.startswith("layer"))
    assert ck.recompute_macs == blocks and ck.step_macs == plain.step_macs + blocks
    assert ck.saved_bytes == plain.saved_bytes  # the figure of an ordinary forward, as PyTorch's reference
    assert len(training.step(an, training.Options(checkpoint=("layer?", "layer1/block*"))).segments) == 4
    with pytest.raises(SpecError) as e:
        training.step(an, training.Options(checkpoint=("stage*",)))
    assert "no block instance of ResNet-50 is selected" in e.value.message and "depth 1, 2" in e.value.hint


def test_peak_grows_linearly_with_the_batch_and_fit_finds_the_edge() -> None:
    an = archcalc.analyze(SPECS / "resnet18.yaml", training=True)
    peaks = [training.step(an, batch=b).peak.bytes for b in (2, 3, 4)]
    assert peaks[2] - peaks[1] == peaks[1] - peaks[0]
    memory = 2 * 2**30
    f = fit(an, memory, training.Options("adam"))
    assert training.step(an, training.Options("adam"), batch=f.batch).peak.bytes <= memory
    assert training.step(an, training.Options("adam"), batch=f.batch + 1).peak.bytes > memory == f.memory
    assert f.over.bytes == training.step(an, training.Options("adam"), batch=f.batch + 1).peak.bytes


def test_parse_size() -> None:
    assert [parse_size(x) for x in ("24GiB", "24GB", "24G", "512 MiB", "1_000", "1.5GiB", "2TB")] == [
        24 * 2**30, 24 * 10**9, 24 * 2**30, 512 * 2**20, 1000, 3 * 2**29, 2 * 10**12]
    for bad in ("24 gigs", "GiB", "-1GiB", "0"):
        with pytest.raises(SpecError, match="--memory"):
            parse_size(bad)


def test_fit_command() -> None:
    r = run("fit", str(SPECS / "resnet18.yaml"), "--memory", "2GiB", "--optimizer", "adam", "-f", "json")
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    an = archcalc.analyze(SPECS / "resnet18.yaml", training=True)
    assert d["batch"] == fit(an, 2 * 2**30, training.Options("adam")).batch and d["optimizer"] == "adam"
    assert d["peak_bytes"] <= d["memory_bytes"] < d["next_batch_peak_bytes"]
    text = run("fit", str(SPECS / "resnet18.yaml"), "--memory", "2GiB", "--optimizer", "adam").stdout
    assert f"Largest batch: {d['batch']:,}" in text and f"batch {d['batch'] + 1} would need" in text
    none = run("fit", str(SPECS / "resnet18.yaml"), "--memory", "100MB")
    assert none.exit_code == 3 and "No batch fits: parameters, gradients and optimizer state alone need" in none.stdout
    rows = list(csv.DictReader(io.StringIO(run("fit", TINY, "--memory", "1MiB", "-f", "csv").stdout)))
    assert int(rows[0]["batch"]) > 1 and int(rows[0]["peak_bytes"]) <= 2**20
    assert run("fit", TINY, "--memory", "1MiB", "-f", "markdown").stdout.startswith("**tiny**: largest batch")
    bad = run("fit", TINY, "--memory", "lots")
    assert bad.exit_code == 1 and "--memory takes a size such as 24GiB" in bad.stderr


def test_compare_train() -> None:
    r = run("compare", str(SPECS / "resnet18.yaml"), str(SPECS / "resnet34.yaml"), "--train", "--totals",
            "--optimizer", "adam", "-f", "json")
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    steps = [training.step(archcalc.analyze(SPECS / f"resnet{n}.yaml", training=True), training.Options("adam"))
             for n in (18, 34)]
    assert d["totals"]["saved_bytes"]["values"] == [s.saved_bytes for s in steps]
    assert d["totals"]["peak_bytes"]["values"] == [s.peak.bytes for s in steps]
    assert [x["training_step"]["optimizer"] for x in d["specs"]] == ["adam", "adam"]
    text = run("compare", str(SPECS / "resnet18.yaml"), str(SPECS / "resnet34.yaml"), "--train", "--totals").stdout
    assert "peak training memory (B)" in text and "Training step: SGD with momentum, float32" in text


def test_sweep_train() -> None:
    r = run("sweep", TINY, "--batch", "1,2,4", "--train", "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [int(x["saved_bytes"]) for x in rows] == [6400 * b + 64 for b in (1, 2, 4)]  # BatchNorm's stats: 64 B
    d = json.loads(run("sweep", TINY, "--batch", "2", "--train", "--optimizer", "adam", "-f", "json").stdout)
    assert d["training_step"]["optimizer"] == "adam"
    assert d["points"][0]["training_step"]["saved_bytes"] == TINY_SAVED
    assert "peak training memory (B)" in run("sweep", TINY, "--batch", "1,2", "--train").stdout
    assert run("sweep", TINY, "--batch", "2", "--amp").exit_code == 2


CHECK = """
name: tiny
input: 8x8x3
layers:
  - {kind: conv, name: conv, filters: 8, kernel: 3, padding: 1, bias: false}
  - {kind: batchnorm, name: bn}
  - {kind: relu, name: relu}
  - {kind: maxpool, name: pool, size: 2}
  - {kind: flatten, name: flat}
  - {kind: dense, name: fc, units: 10}
torch_ops: {relu: ReLU(inplace=True)}
"""


def test_check_training_entries(write) -> None:  # type: ignore[no-untyped-def]
    ok = write(CHECK + f"""expect:
  training:
    batch: 2
    saved_bytes: {{value: {TINY_SAVED}, source: "docs/training.md, by hand"}}
    step_macs: {{value: {TINY_FORWARD + TINY_BACKWARD}, source: "by hand"}}
budget:
  training: [{{batch: 4, optimizer: adam, max_peak_bytes: 100_000}}, {{memory: 1_048_576, min_fit_batch: 16}}]
""")
    r = run("check", str(ok))
    assert r.exit_code == 0 and "2 figures, 2 budgets hold" in r.stdout, r.stdout + r.stderr
    d = json.loads(run("check", str(ok), "-f", "json").stdout)
    keys = [(c["key"], c.get("setting")) for c in d["specs"][0]["checks"]]
    assert keys[0] == ("training.saved_bytes", "batch 2, SGD with momentum, float32")
    assert keys[3][0] == "training.min_fit_batch"
    # the command line fills what an entry leaves out: the budget at batch 4 is the entry's own
    r = run("check", str(ok), "--train", "--optimizer", "sgd")
    assert r.exit_code == 0, r.stdout
    bad = write(CHECK + "budget:\n  training: {batch: 64, max_peak_bytes: 100_000, memory: 1000, min_fit_batch: 2}\n",
                "bad.yaml")
    r = run("check", str(bad))
    assert r.exit_code == 3
    assert "training.max_peak_bytes (batch 64, SGD with momentum, float32): computed" in r.stdout
    assert "training.min_fit_batch (in 1,000 B, SGD with momentum, float32): largest batch that fits 0, at least 2" \
        in r.stdout


@pytest.mark.parametrize(("block", "message"), [
    ("expect:\n  training: {batch: 2, saved: {value: 1, source: x}}\n", "expect.training: unknown key 'saved'"),
    ("expect:\n  training: {optimizer: lamb, saved_bytes: {value: 1, source: x}}\n",
     "expect.training.optimizer: expected one of sgd, momentum, adam, adamw"),
    ("budget:\n  training: {min_fit_batch: 8}\n", "budget.training.min_fit_batch needs the memory it must fit in"),
    ("budget:\n  training: {batch: 8}\n", "budget.training declares no figure"),
    ("budget:\n  training: [{batch: 0, max_peak_bytes: 1}]\n", "budget.training[0].batch must be a whole number >= 1"),
    ("expect:\n  training: {amp: yes please, saved_bytes: {value: 1, source: x}}\n",
     "expect.training.amp: expected true or false"),
])
def test_check_training_errors(write, block: str, message: str) -> None:  # type: ignore[no-untyped-def]
    r = run("check", str(write(CHECK + block)))
    assert r.exit_code == 1 and message in r.stderr, r.stderr


def test_in_place_only_where_pytorch_allows_it() -> None:
    # b saves a's output; an in-place ReLU on that output would fail PyTorch's backward
    text = """input: 6x6x4
layers:
  - {kind: conv, name: a, filters: 4, kernel: 1}
  - {kind: conv, name: b, filters: 4, kernel: 1}
  - {kind: relu, name: r, from: a}
  - {kind: add, name: join, from: [r, b]}
"""
    with pytest.raises(SpecError) as e:
        training.step(analyze_text(text + "torch_ops: {r: ReLU(inplace=True)}\n", training=True))
    assert "layer 'r' (relu)" in e.value.message and "but b saved that tensor" in e.value.message
    assert "r: the op without (inplace=True)" in e.value.hint
    # the default `+=` cannot add into a saved tensor either: as torch code must, it adds with `+`
    # (ViT's `x + input` after a LayerNorm that saved x: tests/test_training_zoo.py, vit_b_16)
    saved = analyze_text(text.replace("[r, b]", "[a, b]"), training=True)
    s = training.step(saved)
    join = s.layers[-1]
    assert join.call.op == "+=" and s.saved_bytes == 3 * 6 * 6 * 4 * 4  # the input, a's and r's outputs
    assert s.peak.bytes == training.step(saved, torch={"join": "+"}).peak.bytes
