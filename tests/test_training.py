"""Training-only layers (`training_only:`) and the training pass (`--train`, `training=True`).

A training-only layer or block use holds its parameters in every pass; at inference it does not
run: no MACs, other operations or activation memory, and it is no output. Every figure below is
written as arithmetic beside it, or quoted from torchvision's weights metadata.
"""

from __future__ import annotations

import json

import pytest
from conftest import SPECS, analyze_text, run

import archcalc
from archcalc import SpecError
from archcalc.execute import execute
from archcalc.memory import liveness, peak

# input 8 x 8 x 4 -> conv 3x3 same to 8 (trunk) -> globalavgpool -> dense 10 (head), with an
# auxiliary head on the trunk: globalavgpool -> dense 5, training-only
AUX = """
input: 8x8x4
vars: {aux_at_inference: false}
blocks:
  aux:
    layers:
      - {kind: globalavgpool, name: pool}
      - {kind: dense, name: fc, units: 5}
layers:
  - {kind: conv, name: trunk, filters: 8, kernel: 3, padding: same}
  - {kind: aux, name: aux, training_only: "not aux_at_inference"}
  - {kind: globalavgpool, name: pool, from: trunk}
  - {kind: dense, name: head, units: 10}
"""
TRUNK_MACS = 8 * 8 * 8 * (3 * 3 * 4)      # 18,432
HEAD_MACS = 8 * 10
AUX_MACS = 8 * 5
AUX_PARAMS = 8 * 5 + 5                    # 45


def test_inference_counts_parameters_only() -> None:
    an = analyze_text(AUX)
    rows = {r.name: r for r in an.rows}
    assert an.totals.trainable_params == (3 * 3 * 4 * 8 + 8) + (8 * 10 + 10) + AUX_PARAMS
    assert an.totals.macs == TRUNK_MACS + HEAD_MACS
    assert rows["aux/fc"].params == AUX_PARAMS and rows["aux/fc"].macs == 0
    assert rows["aux/fc"].training_only and rows["aux/pool"].training_only and not rows["head"].training_only
    assert rows["aux/fc"].other == {} and rows["aux/pool"].other == {}
    assert rows["aux/fc"].activation_elems == rows["aux/pool"].activation_elems == 0
    assert rows["aux/fc"].output_shape == (5,)          # shapes are still computed
    assert [r.name for r in an.outputs] == ["head"]
    assert not an.training


def test_training_pass_counts_everything() -> None:
    an = analyze_text(AUX, training=True)
    rows = {r.name: r for r in an.rows}
    assert an.training and an.totals.macs == TRUNK_MACS + HEAD_MACS + AUX_MACS
    assert rows["aux/fc"].macs == AUX_MACS and rows["aux/fc"].training_only  # still marked
    assert rows["aux/fc"].other == {"bias_adds": 5}
    assert [r.name for r in an.outputs] == ["aux/fc", "head"]
    inference = analyze_text(AUX)
    assert an.totals.params == inference.totals.params
    # activations: the aux head's outputs (8 pooled + 5) are held only in training
    assert an.totals.activation_bytes - inference.totals.activation_bytes == (8 + 5) * 4


def test_a_variable_can_ask_for_the_head() -> None:
    an = analyze_text(AUX, overrides={"aux_at_inference": True})
    assert an.totals.macs == TRUNK_MACS + HEAD_MACS + AUX_MACS
    assert not any(r.training_only for r in an.rows)


def test_training_only_layers_keep_nothing_alive() -> None:
    # input 8x8x4 (256) -> a: conv 1x1 to 16 (1024) -> b: conv 1x1 to 1 (64) -> aux: flatten of a
    # (1024, training-only) -> out: flatten of b. At inference `a` dies once b has run, so the peak
    # is the input and `a` while a runs (256 + 1024); in training the flatten of `a` runs after b,
    # holding a (1024) + b (64) + aux (1024) at once.
    text = """
input: 8x8x4
layers:
  - {kind: conv, name: a, filters: 16, kernel: 1}
  - {kind: conv, name: b, filters: 1, kernel: 1}
  - {kind: flatten, name: aux, from: a, training_only: true}
  - {kind: flatten, name: out, from: b}
"""
    inf, train = analyze_text(text), analyze_text(text, training=True)
    assert liveness(inf.graph)[1] == 2 and liveness(train.graph)[1] == 3
    assert peak(inf) == ((256 + 1024) * 4, "a")
    assert peak(train) == ((1024 + 64 + 1024) * 4, "aux")


def test_a_layer_that_runs_cannot_read_a_training_only_one() -> None:
    text = AUX.replace("name: pool, from: trunk}", "name: pool}")
    with pytest.raises(SpecError) as e:
        analyze_text(text)
    assert "takes input from 'aux/fc', which is training-only (the layer above it" in e.value.message
    assert e.value.loc.line == 12 and "training_only: true" in e.value.hint  # the pool, line 12 of AUX


def test_only_training_only_outputs_is_an_error() -> None:
    with pytest.raises(SpecError, match="training-only, so inference has no output"):
        analyze_text("input: 4\nlayers:\n  - {kind: dense, units: 2, training_only: true}\n")
    assert analyze_text("input: 4\nlayers:\n  - {kind: dense, units: 2, training_only: true}\n",
                        training=True).totals.macs == 8


def test_listed_outputs_that_are_training_only() -> None:
    an = analyze_text(AUX + "outputs: [head, aux]\n")
    assert [r.name for r in an.outputs] == ["head"]
    # `aux` names the block instance, whose output is its last layer
    assert [r.name for r in analyze_text(AUX + "outputs: [head, aux]\n", training=True).outputs] == ["head", "aux/fc"]


def test_training_only_must_be_a_condition() -> None:
    with pytest.raises(SpecError) as e:
        analyze_text("input: 4\nlayers:\n  - {kind: dense, units: 2, training_only: 3x3}\n")
    assert e.value.message.startswith("training_only:") and e.value.loc.line == 3


def test_folded_rows_and_reports_say_so() -> None:
    an = analyze_text(AUX)
    folded = {r.name: r for r in an.folded(1)}
    assert folded["aux"].training_only and not folded["trunk"].training_only
    from archcalc import render
    lines = [t for t, _ in render.table(an, depth=1)]
    assert any("aux" in t and "aux (2 layers, training only)" in t for t in lines)
    assert any(t.startswith("Training-only") and "aux (2 layers, 45 parameters): parameters counted; not run "
               "at inference" in t for t in lines)
    trained = [t for t, _ in render.table(analyze_text(AUX, training=True))]
    assert any("counted in full, a training pass (--train)" in t for t in trained)
    assert "a training pass" in trained[0]
    d = an.to_dict()
    assert d["training"] is False
    assert [x["name"] for x in d["layers"] if x.get("training_only")] == ["aux/pool", "aux/fc"]
    assert "training only: not run at inference" in render.explain(an)


def test_conventions_leave_out_what_does_not_run() -> None:
    from archcalc.profiles import breakdown
    # torchinfo counts a Linear's bias adds: 10 for the head, 5 more for the aux head in training
    assert breakdown(analyze_text(AUX), "torchinfo")["bias_adds"] == 8 * 8 * 8 + 10
    assert breakdown(analyze_text(AUX, training=True), "torchinfo")["bias_adds"] == 8 * 8 * 8 + 10 + 5


def test_executor_runs_training_only_layers_in_training_only() -> None:
    inf = execute(analyze_text(AUX).graph)
    runs = {r.name: r for r in inf.layers}
    assert runs["aux/fc"].macs == 0 and runs["aux/fc"].params == AUX_PARAMS and runs["aux/fc"].output_shape == (5,)
    assert inf.macs == TRUNK_MACS + HEAD_MACS and set(inf.outputs) == {"head"}
    train = execute(analyze_text(AUX, training=True).graph)
    assert train.macs == TRUNK_MACS + HEAD_MACS + AUX_MACS and set(train.outputs) == {"aux/fc", "head"}


def test_inception_v3_both_torchvision_figures_in_one_command() -> None:
    r = run("summarize", str(SPECS / "inception_v3.yaml"), "-f", "json")
    d = json.loads(r.stdout)
    # torchvision Inception_V3_Weights.IMAGENET1K_V1: num_params 27,161,264 (AuxLogits included),
    # _ops 5.713 (GFLOPS of eval mode: AuxLogits not run)
    assert d["totals"]["trainable_params"] == 27_161_264
    assert round(d["totals"]["macs"] / 1e9, 3) == 5.713
    text = run("summarize", str(SPECS / "inception_v3.yaml")).stdout
    assert "27,161,264" in text and "5,713,216,096" in text and "AuxLogits (9 layers" in text


def test_inception_v3_aux_head_by_hand() -> None:
    inf = archcalc.analyze(SPECS / "inception_v3.yaml")
    train = archcalc.analyze(SPECS / "inception_v3.yaml", training=True)
    aux = [r for r in train.rows if r.name.startswith("AuxLogits/")]
    # Mixed_6e 17 x 17 x 768 -> avg pool 5/3: 5 x 5 -> 1x1 conv 128 (+ BN) -> 5x5 conv 768 (+ BN): 1 x 1 -> fc 1000
    assert sum(r.trainable for r in aux) == (768 * 128 + 2 * 128) + (5 * 5 * 128 * 768 + 2 * 768) + (768 * 1000 + 1000)
    assert sum(r.macs for r in aux) == 5 * 5 * 128 * 768 + 1 * 1 * 768 * (5 * 5 * 128) + 768 * 1000
    assert train.totals.macs - inf.totals.macs == sum(r.macs for r in aux)
    no_aux = archcalc.analyze(SPECS / "inception_v3.yaml", overrides={"aux_logits": False})
    assert inf.totals.trainable_params - no_aux.totals.trainable_params == sum(r.trainable for r in aux)


@pytest.mark.parametrize("command", [["summarize"], ["graph"], ["check"], ["sweep", "--set", "classes=10,1000"]])
def test_train_flag_on_the_commands(command: list[str], write) -> None:  # type: ignore[no-untyped-def]
    expect = f"expect:\n  macs: {{value: {TRUNK_MACS + HEAD_MACS}, source: arithmetic}}\n"
    p = write(AUX.replace("vars: {aux_at_inference: false}", "vars: {aux_at_inference: false, classes: 10}")
              .replace("units: 10}", "units: classes}") + expect)
    base, train = run(command[0], str(p), *command[1:]), run(command[0], str(p), *command[1:], "--train")
    assert base.exit_code == 0, base.stderr
    if command[0] == "check":  # the declared figure is the inference one
        assert train.exit_code == 3 and f"computed {TRUNK_MACS + HEAD_MACS + AUX_MACS:,}" in train.stdout
    else:
        assert train.exit_code == 0, train.stderr
        assert base.stdout != train.stdout


def test_compare_and_verify_take_train() -> None:
    path = str(SPECS / "googlenet.yaml@aux_logits,resolution=64")
    # batch 2: a training step of the aux heads' BatchNorm over a 1 x 1 map needs more than one sample
    r = run("compare", path, path, "--train", "--batch", "2", "--totals", "-f", "json")
    assert r.exit_code == 0, r.stderr
    assert {s["training"] for s in json.loads(r.stdout)["specs"]} == {True}
    v = run("verify", path, "--train")
    assert v.exit_code == 0 and "a training pass" in v.stdout


def test_graph_draws_training_only_layers_so() -> None:
    from archcalc import diagram
    an = analyze_text(AUX)
    mermaid, dot = diagram.render(an, "mermaid", None), diagram.render(an, "dot", None)
    assert "fc<br/>dense, training only<br/>5" in mermaid
    assert [line for line in dot.splitlines() if "training only" in line and "style=dashed" in line]
    assert "aux block, 2 layers, training only" in diagram.render(an, "mermaid", 1)
