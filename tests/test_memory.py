"""Memory: per-layer bytes, the liveness schedule and the peak of an inference pass."""

from pathlib import Path

from conftest import SPECS, analyze_text

import archcalc
from archcalc import memory

RESIDUAL = """
input: 4x4x2
layers:
  - {kind: conv, name: a, filters: 2, kernel: 1}
  - {kind: relu, name: b}
  - {kind: add, name: c, from: [b, input]}
  - {kind: flatten, name: d}
"""


def test_liveness() -> None:
    an = analyze_text(RESIDUAL)
    # input read last by c (3); a by b; b by c; c by d; d is the output (kept to the end, 5)
    assert memory.liveness(an.graph) == [3, 2, 3, 4, 5]


def test_steps_and_peak_by_hand() -> None:
    an = analyze_text(RESIDUAL)
    t = 4 * 4 * 2 * 4  # every tensor here is 32 values of 4 bytes
    # step 0 input; 1 input + a; 2 input + a + b (then a freed); 3 input + b + c; 4 c + d
    assert memory.step_bytes(an) == [t, 2 * t, 3 * t, 3 * t, 2 * t]
    p = memory.peak_detail(an)
    assert (p.bytes, p.at, p.live) == (3 * t, "b", ("input", "a", "b"))
    assert memory.peak(an) == (3 * t, "b")


def test_dead_end_freed_at_once_and_outputs_kept() -> None:
    an = analyze_text("""
input: 2x2x1
outputs: [a, c]
layers:
  - {kind: relu, name: a}
  - {kind: relu, name: dead, from: input}
  - {kind: relu, name: c, from: input}
""")
    assert memory.liveness(an.graph) == [3, 4, 2, 4]
    assert memory.step_bytes(an) == [16, 32, 48, 48]


def test_vgg16_peak_is_the_first_conv_pair() -> None:
    an = archcalc.analyze(SPECS / "vgg16.yaml")
    assert memory.peak(an) == (2 * 224 * 224 * 64 * 4, "block1/conv1/relu")
    half = archcalc.analyze(SPECS / "vgg16.yaml", dtype="float16", batch=3)
    assert memory.peak(half)[0] == 3 * 2 * 224 * 224 * 64 * 2


def test_per_layer_bytes() -> None:
    an = archcalc.analyze(SPECS / "lenet5.yaml", batch=2, dtype="float16")
    conv1 = an.rows[1]
    assert memory.param_bytes(an, conv1) == 156 * 2
    assert memory.activation_bytes(an, conv1) == 28 * 28 * 6 * 2 * 2


def test_resnet50_peak() -> None:
    an = archcalc.analyze(Path(__file__).parent / "data" / "resnet50_tv.yaml")
    b, at = memory.peak(an)
    # layer1/block0 after its main path: bn3 (waiting for the add), the shortcut conv and its BN,
    # three 56 x 56 x 256 tensors; the stem peaks lower (conv1 + bn1 = 2 x 112 x 112 x 64)
    assert (b, at) == (3 * 56 * 56 * 256 * 4, "layer1/block0/down_bn")
    assert memory.peak_detail(an).live == ("layer1/block0/bn3", "layer1/block0/down", "layer1/block0/down_bn")
