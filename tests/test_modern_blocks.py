"""Issue 14's acceptance, part A: squeeze-excitation and a ConvNeXt block compute what torchvision's
compute (the same weights, the same outputs), transposed convolutions give PyTorch's shapes in
DCGAN's and U-Net's decoders, and `archcalc verify` passes on a spec using every new kind."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import analyze_text, run

import archcalc
from archcalc.execute import execute

DATA = Path(__file__).parent / "data"


def det(shape, a, b, s):
    """sin(a·i + b)·s in row-major order: tests/data/measure_blocks.py's values."""
    return (np.sin(np.arange(math.prod(shape)) * a + b) * s).reshape(shape)


def param(k, shape):  # the k-th of a module's named_parameters, as measure_blocks.fill made it
    return det(shape, 0.3 + 0.07 * k, 0.1 * k, 0.5)


X = det((2, 16, 9, 7), 0.37, 0.1, 3.0)  # N x C x H x W, as torch took it


def outputs(text: str, weights: dict) -> np.ndarray:
    an = analyze_text(text, batch=2)
    ex = execute(an.graph, weights=weights, input=np.transpose(X, (0, 2, 3, 1)), dtype="float64")
    (y,) = ex.outputs.values()
    return np.transpose(y, (0, 3, 1, 2)).ravel()  # back to torch's order


def summary(v):
    return (v.sum(), np.abs(v).sum(), v[0], v[len(v) // 2], v[-1])


#: printed by tests/data/measure_blocks.py (torch 2.14.1, torchvision 0.29.1, float64):
#: torchvision.ops.misc.SqueezeExcitation(16, 8, scale_activation=...) on X, parameters filled by
#: measure_blocks.fill (fc1.weight, fc1.bias, fc2.weight, fc2.bias), 280 of them.
SE_TORCH = {
    "sigmoid": (4.1659507927573, 1996.3425855829687, 0.22091554025565527, 1.5780019292810912, -1.0486467255260392),
    "hardsigmoid": (4.422323618818508, 1972.870186697202, 0.20134419993977953, 1.4378832726653084,
                    -1.1400761704864961),
}
SE = """input: 9x7x16
layers:
  - {{kind: globalavgpool, name: avgpool, keepdims: true}}
  - {{kind: conv, name: fc1, filters: 8, kernel: 1}}
  - {{kind: relu, name: activation}}
  - {{kind: conv, name: fc2, filters: 16, kernel: 1}}
  - {{kind: {gate}, name: scale_activation}}
  - {{kind: multiply, name: scale, from: [scale_activation, input]}}
"""


@pytest.mark.parametrize("gate", ["sigmoid", "hardsigmoid"])
def test_squeeze_excitation_is_torchvisions(gate: str) -> None:
    """MobileNetV3's (hard-sigmoid) and EfficientNet's (sigmoid) gate: the same parameters, and
    the same output on the same input and weights as torchvision's SqueezeExcitation."""
    text = SE.format(gate=gate)
    an = analyze_text(text)
    assert an.totals.params == 280 == 16 * 8 + 8 + 8 * 16 + 16  # measured: 280, as fc1 and fc2 hold
    conv = lambda w: np.ascontiguousarray(np.transpose(w, (2, 3, 1, 0)))  # noqa: E731  torch O, I, kh, kw
    weights = {"fc1/kernel": conv(param(0, (8, 16, 1, 1))), "fc1/bias": param(1, (8,)),
               "fc2/kernel": conv(param(2, (16, 8, 1, 1))), "fc2/bias": param(3, (16,))}
    np.testing.assert_allclose(summary(outputs(text, weights)), SE_TORCH[gate], rtol=1e-12)


#: torchvision.models.convnext.CNBlock(16, layer_scale=1e-6, stochastic_depth_prob=0.1), eval, on X,
#: parameters filled as above (layer_scale, block.0 (7 x 7 depthwise), block.2 (LayerNorm), block.3 and
#: block.5 (the Linear layers)), then layer_scale set to 0.5: 2,976 parameters.
CNBLOCK_TORCH = (11.65836250570544, 3913.401809518102, 0.02905578038957618, 1.821862105857266, -1.9059674706313823)
CNBLOCK = """input: 9x7x16
layers:
  - {kind: depthwise, name: dwconv, kernel: 7, padding: 3}
  - {kind: layernorm, name: norm, eps: 1e-6}              # over the channels of each position
  - {kind: conv, name: pwconv1, filters: 64, kernel: 1}    # torch's nn.Linear(16, 64), per position
  - {kind: gelu, name: act}
  - {kind: conv, name: pwconv2, filters: 16, kernel: 1}
  - {kind: scale, name: layer_scale}
  - {kind: droppath, name: stochastic_depth, rate: 0.1}
  - {kind: add, name: residual, from: [stochastic_depth, input]}
"""


def test_convnext_block_is_torchvisions() -> None:
    an = analyze_text(CNBLOCK)
    rows = {r.name: r for r in an.rows}
    assert an.totals.params == 2_976  # measured: torchvision's CNBlock(16)
    assert (rows["norm"].trainable, rows["norm"].non_trainable, rows["layer_scale"].params) == (2 * 16, 0, 16)
    linear = lambda w: np.ascontiguousarray(w.T.reshape(1, 1, *w.T.shape))  # noqa: E731  torch out, in
    weights = {"layer_scale/gamma": np.full(16, 0.5),
               "dwconv/kernel": np.ascontiguousarray(np.transpose(param(1, (16, 1, 7, 7))[:, 0], (1, 2, 0))),
               "dwconv/bias": param(2, (16,)), "norm/gamma": param(3, (16,)), "norm/beta": param(4, (16,)),
               "pwconv1/kernel": linear(param(5, (64, 16))), "pwconv1/bias": param(6, (64,)),
               "pwconv2/kernel": linear(param(7, (16, 64))), "pwconv2/bias": param(8, (16,))}
    np.testing.assert_allclose(summary(outputs(CNBLOCK, weights)), CNBLOCK_TORCH, rtol=1e-12)


def test_convnext_tiny_norm_and_layer_scale_parameters() -> None:
    """torchvision's convnext_tiny (measured, measure_blocks.py): the stem's LayerNorm2d(96) holds 192
    parameters, the first block's layer_scale 96, the whole first block 79,296."""
    an = analyze_text(CNBLOCK.replace("9x7x16", "56x56x96").replace("filters: 64", "filters: 384")
                      .replace("filters: 16", "filters: 96"))
    rows = {r.name: r for r in an.rows}
    assert (rows["norm"].params, rows["layer_scale"].params, an.totals.params) == (192, 96, 79_296)
    stem = analyze_text("input: 224x224x3\nlayers:\n  - {kind: conv, filters: 96, kernel: 4, stride: 4}\n"
                        "  - {kind: layernorm, name: norm, eps: 1e-6}\n")
    assert stem.rows[-1].params == 192 and stem.rows[-1].output_shape == (56, 56, 96)


def torch_rule(n: int, k: int, s: int, p: int, op: int = 0, d: int = 1) -> int:
    """PyTorch's ConvTranspose2d output size (its documentation), written out."""
    return (n - 1) * s - 2 * p + d * (k - 1) + op + 1


def test_dcgan_generator_shapes() -> None:
    """The PyTorch DCGAN tutorial's generator (nz = 100, ngf = 64): 1 x 1 x 100 to 64 x 64 x 3."""
    text = """input: 1x1x100
layers:
  - {kind: convtranspose, filters: 512, kernel: 4, stride: 1, padding: 0, bias: false}
  - {kind: batchnorm}
  - {kind: relu}
  - {kind: convtranspose, filters: 256, kernel: 4, stride: 2, padding: 1, bias: false}
  - {kind: batchnorm}
  - {kind: relu}
  - {kind: convtranspose, filters: 128, kernel: 4, stride: 2, padding: 1, bias: false}
  - {kind: batchnorm}
  - {kind: relu}
  - {kind: convtranspose, filters: 64, kernel: 4, stride: 2, padding: 1, bias: false}
  - {kind: batchnorm}
  - {kind: relu}
  - {kind: convtranspose, filters: 3, kernel: 4, stride: 2, padding: 1, bias: false}
  - {kind: tanh}
"""
    an = analyze_text(text)
    ups = [r for r in an.rows if r.kind == "convtranspose"]
    sizes, n = [], 1
    for s, p in ((1, 0), (2, 1), (2, 1), (2, 1), (2, 1)):
        n = torch_rule(n, 4, s, p)
        sizes.append(n)
    assert sizes == [4, 8, 16, 32, 64]
    assert [r.output_shape for r in ups] == [(4, 4, 512), (8, 8, 256), (16, 16, 128), (32, 32, 64), (64, 64, 3)]
    weights = 100 * 512 * 16 + 512 * 256 * 16 + 256 * 128 * 16 + 128 * 64 * 16 + 64 * 3 * 16
    assert an.totals.trainable_params == weights + 2 * (512 + 256 + 128 + 64) == 3_576_704
    # MACs: every input value times its 4 x 4 window of every filter, H·W·C·(4·4·C')
    assert an.totals.macs == (1 * 1 * 100 * (16 * 512) + 4 * 4 * 512 * (16 * 256) + 8 * 8 * 256 * (16 * 128)
                              + 16 * 16 * 128 * (16 * 64) + 32 * 32 * 64 * (16 * 3))


def test_unet_up_convolutions() -> None:
    """Ronneberger et al. 2015: "up-convolution" 2 x 2 halving the channels: 28 x 28 x 512 -> 56 x 56 x 256,
    and so on up to 392 x 392 x 64 (the expansive path's inputs); a case with output_padding and dilation."""
    an = analyze_text("input: 28x28x512\nlayers:\n  - {kind: convtranspose, filters: 256, kernel: 2, stride: 2}\n"
                      "  - {kind: convtranspose, filters: 128, kernel: 2, stride: 2}\n")
    assert [r.output_shape for r in an.rows[1:]] == [(56, 56, 256), (112, 112, 128)]
    assert an.rows[1].output_shape[0] == torch_rule(28, 2, 2, 0)
    r = analyze_text("input: 9x9x8\nlayers:\n  - {kind: convtranspose, filters: 4, kernel: 3, stride: 3, padding: 2,"
                     " output_padding: 2, dilation: 2}\n").rows[-1]
    assert r.output_shape == (torch_rule(9, 3, 3, 2, 2, 2),) * 2 + (4,) == (27, 27, 4)


def test_verify_passes_on_every_new_kind() -> None:
    for batch in ("1", "2"):
        out = run("verify", str(DATA / "modern_a.yaml"), "--batch", batch)
        assert out.exit_code == 0, out.output + out.stderr
        assert "all 27 layers agree" in out.output
    an = archcalc.analyze(DATA / "modern_a.yaml")
    assert {r.kind for r in an.rows} >= {"multiply", "silu", "gelu", "hardsigmoid", "leakyrelu", "prelu", "layernorm",
                                         "groupnorm", "scale", "convtranspose", "adaptiveavgpool", "adaptivemaxpool",
                                         "identity", "droppath"}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_memory_estimate_bounds_what_numpy_allocates(dtype: str) -> None:
    """As tests/test_verify.py checks for the shipped specs: the new forwards' scratch estimates
    (GELU's chunks, the transposed conv's full output, adaptive pooling's row pass) hold."""
    import tracemalloc

    from archcalc.execute import _plan
    an = archcalc.analyze(DATA / "modern_a.yaml", input_shape=(72, 56, 3), batch=2)
    plan = _plan(an.graph, np.dtype(dtype), an.batch)
    execute(an.graph, keep=False, dtype=dtype)  # once untraced: first calls allocate NumPy's own caches
    tracemalloc.start()
    try:
        execute(an.graph, keep=False, dtype=dtype)
        _, traced = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    largest = max(r.activation_elems for r in an.rows) * an.batch * np.dtype(dtype).itemsize
    assert plan.param_bytes + largest <= traced <= plan.peak + (256 << 10)
