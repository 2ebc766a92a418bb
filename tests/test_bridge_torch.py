"""What torch's exporter makes of modern layers, imported (issue 16, import): nn.MultiheadAttention,
a class token and a position embedding, ConvNeXt's LayerNorm2d (permute, LayerNorm, permute) and
layer scale, GELU (the Gelu operator at opset 20, its Erf form at 17), LayerNorm (decomposed before
opset 17), GroupNorm and InstanceNorm, SiLU as Sigmoid·x, hard-swish before opset 14, squeeze-
excitation, PReLU, chunk and channel shuffle, x.mean([2, 3]), a transposed convolution; and every kind
of issue 14 through `archcalc export --to torch`, exported again by torch.

Each small model here is written twice: in plain torch, and as the archcalc spec a person would
write for it. The import of torch.onnx.export's file (BatchNorm kept, as `archcalc import --torch`
exports) must give the spec's layers: kinds, shapes, parameters and MACs, layer by layer; and its
trainable parameters must be the model's own count.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT

import archcalc

torch = pytest.importorskip("torch", reason="needs archcalc[torch] (pip install torch==2.13.0)")
pytest.importorskip("onnx", reason="needs archcalc[onnx]")
nn = torch.nn

#: kinds ONNX does not tell apart: a linear layer on a flat vector is PyTorch's Gemm, a `dense`
SAME = {"linear_on_vector": "dense", "droppath": "identity"}


def _rows(an: archcalc.Analysis) -> list[tuple[Any, ...]]:
    return [("dense" if r.kind == "linear" and len(r.output_shape) == 1 else SAME.get(r.kind, r.kind),
             r.output_shape, r.trainable, r.non_trainable, r.macs) for r in an.rows[1:]]


def _import(tmp_path: Path, model: Any, chw: tuple[int, ...], opset: int | None) -> tuple[str, Any]:
    from archcalc.bridge.importer import import_onnx
    torch.manual_seed(0)
    path = tmp_path / f"m{opset}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), (torch.randn(1, *chw),), str(path), dynamo=False, opset_version=opset,
                          training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    return import_onnx(path)


def _check(tmp_path: Path, model: Any, chw: tuple[int, ...], spec: str, opset: int | None) -> str:
    text, imp = _import(tmp_path, model, chw, opset)
    got, want = archcalc.analyze(archcalc.load(text=text)), archcalc.analyze(archcalc.load(text=spec))
    assert _rows(got) == _rows(want)
    assert got.totals.trainable_params == sum(p.numel() for p in model.parameters())
    assert got.totals.params == imp.initializer_floats - imp.constant_floats
    return text


class TinyViT(nn.Module):
    """ViT's structure (torchvision's VisionTransformer), small: patches, class token, position
    embedding, one encoder block with nn.MultiheadAttention, the class token's head."""

    def __init__(self, batch_first: bool = True) -> None:
        super().__init__()
        self.batch_first = batch_first
        self.patch = nn.Conv2d(3, 32, 8, 8)
        self.class_token = nn.Parameter(torch.randn(1, 1, 32))
        self.pos_embedding = nn.Parameter(torch.randn(1, 17, 32))
        self.ln1 = nn.LayerNorm(32, eps=1e-6)
        self.attn = nn.MultiheadAttention(32, 4, batch_first=batch_first)
        self.ln2 = nn.LayerNorm(32, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(32, 64), nn.GELU(), nn.Dropout(0.1), nn.Linear(64, 32))
        self.ln = nn.LayerNorm(32, eps=1e-6)
        self.head = nn.Linear(32, 10)

    def forward(self, x: Any) -> Any:
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], 1) + self.pos_embedding
        y = self.ln1(x)
        if self.batch_first:
            y = self.attn(y, y, y, need_weights=False)[0]
        else:
            y = y.transpose(0, 1)
            y = self.attn(y, y, y, need_weights=False)[0].transpose(0, 1)
        x = x + y
        x = x + self.mlp(self.ln2(x))
        return self.head(self.ln(x)[:, 0])


TINY_VIT = """
name: tiny-vit
input: 32x32x3
layers:
  - {kind: conv, name: patch, filters: 32, kernel: 8, stride: 8}      # 4 x 4 x 32
  - {kind: tokens, name: tokens}                                       # 16 x 32
  - {kind: classtoken, name: cls}                                      # 17 x 32
  - {kind: posembed, name: pos}
  - {kind: layernorm, name: ln1, eps: 1e-6}
  - {kind: attention, name: attn, heads: 4}
  - {kind: add, name: res1, from: [pos, attn]}
  - {kind: layernorm, name: ln2, eps: 1e-6}
  - {kind: linear, name: fc1, units: 64}
  - {kind: gelu, name: gelu}
  - {kind: linear, name: fc2, units: 32}
  - {kind: add, name: res2, from: [res1, fc2]}
  - {kind: layernorm, name: ln, eps: 1e-6}
  - {kind: tokenselect, name: first}
  - {kind: dense, name: head, units: 10}
"""


@pytest.mark.parametrize("opset", [20, 17, 14])
def test_vision_transformer(tmp_path: Path, opset: int) -> None:
    """Gelu at 20, its Erf form at 17; LayerNorm decomposed at 14; nn.MultiheadAttention: one layer."""
    text = _check(tmp_path, TinyViT(), (3, 32, 32), TINY_VIT, opset)
    assert "kind: attention" in text and "kind: classtoken" in text


def test_multihead_attention_sequence_first(tmp_path: Path) -> None:
    _check(tmp_path, TinyViT(batch_first=False), (3, 32, 32), TINY_VIT, None)


class LayerNorm2d(nn.LayerNorm):
    """torchvision's LayerNorm2d (ConvNeXt): LayerNorm over the channels of each position."""

    def forward(self, x: Any) -> Any:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class TinyConvNeXt(nn.Module):
    """ConvNeXt's structure (torchvision's CNBlock), small: channels-last LayerNorm and MLP between
    permutes, layer scale, residual; LayerNorm2d and a 2 x 2 conv to downsample; mean over H, W."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 4, 4), LayerNorm2d(16, eps=1e-6))
        self.dw = nn.Conv2d(16, 16, 7, padding=3, groups=16)
        self.norm = nn.LayerNorm(16, eps=1e-6)
        self.fc1, self.act, self.fc2 = nn.Linear(16, 64), nn.GELU(), nn.Linear(64, 16)
        self.layer_scale = nn.Parameter(torch.full((16, 1, 1), 1e-6))
        self.down = nn.Sequential(LayerNorm2d(16, eps=1e-6), nn.Conv2d(16, 32, 2, 2))
        self.head = nn.Sequential(nn.LayerNorm(32, eps=1e-6), nn.Linear(32, 10))

    def forward(self, x: Any) -> Any:
        x = self.stem(x)
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.fc2(self.act(self.fc1(self.norm(y)))).permute(0, 3, 1, 2)
        x = self.down(x + self.layer_scale * y)
        return self.head(x.mean([2, 3]))


TINY_CONVNEXT = """
name: tiny-convnext
input: 32x32x3
layers:
  - {kind: conv, name: stem, filters: 16, kernel: 4, stride: 4}       # 8 x 8 x 16
  - {kind: layernorm, name: stem_norm, eps: 1e-6}
  - {kind: depthwise, name: dw, kernel: 7, padding: 3}
  - {kind: layernorm, name: norm, eps: 1e-6}
  - {kind: linear, name: fc1, units: 64}
  - {kind: gelu, name: act}
  - {kind: linear, name: fc2, units: 16}
  - {kind: scale, name: layer_scale}
  - {kind: add, name: res, from: [stem_norm, layer_scale]}
  - {kind: layernorm, name: down_norm, eps: 1e-6}
  - {kind: conv, name: down, filters: 32, kernel: 2, stride: 2}      # 4 x 4 x 32
  - {kind: globalavgpool, name: mean}
  - {kind: layernorm, name: head_norm, eps: 1e-6}
  - {kind: dense, name: head, units: 10}
"""


@pytest.mark.parametrize("opset", [None, 17])
def test_convnext_block(tmp_path: Path, opset: int | None) -> None:
    _check(tmp_path, TinyConvNeXt(), (3, 32, 32), TINY_CONVNEXT, opset)


class Gates(nn.Module):
    """MobileNetV3's and EfficientNet's pieces: hard-swish, a squeeze-excitation with a hard-sigmoid
    gate, SiLU; and PReLU, leaky ReLU, GroupNorm, InstanceNorm, a transposed convolution, ShuffleNet's
    split and channel shuffle."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, 2, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.hswish = nn.Hardswish()
        self.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(16, 4, 1), nn.ReLU(), nn.Conv2d(4, 16, 1),
                                nn.Hardsigmoid())
        self.silu = nn.SiLU()
        self.gn = nn.GroupNorm(4, 16)
        self.prelu = nn.PReLU(16)
        self.branch = nn.Conv2d(8, 8, 1)
        self.inorm = nn.InstanceNorm2d(16, affine=True)
        self.leaky = nn.LeakyReLU(0.2)
        self.up = nn.ConvTranspose2d(16, 8, 3, 2, padding=1, output_padding=1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x: Any) -> Any:
        x = self.hswish(self.bn(self.conv(x)))
        x = self.silu(x * self.se(x))
        x = self.prelu(self.gn(x))
        a, b = x.chunk(2, dim=1)
        x = torch.cat([a, self.branch(b)], 1)
        n, c, h, w = x.shape
        x = x.view(n, 2, c // 2, h, w).transpose(1, 2).reshape(n, c, h, w)   # torchvision's channel_shuffle
        x = self.up(self.leaky(self.inorm(x)))
        return self.fc(x.mean([2, 3]))


GATES = """
name: gates
input: 16x16x3
layers:
  - {kind: conv, name: conv, filters: 16, kernel: 3, stride: 2, padding: 1, bias: false}   # 8 x 8 x 16
  - {kind: batchnorm, name: bn}
  - {kind: hardswish, name: hswish}
  - {kind: globalavgpool, name: se_pool, keepdims: true}
  - {kind: conv, name: se_fc1, filters: 4, kernel: 1}
  - {kind: relu, name: se_relu}
  - {kind: conv, name: se_fc2, filters: 16, kernel: 1}
  - {kind: hardsigmoid, name: se_gate}
  - {kind: multiply, name: se, from: [hswish, se_gate]}
  - {kind: silu, name: silu}
  - {kind: groupnorm, name: gn, groups: 4}
  - {kind: prelu, name: prelu, per_channel: true}
  - {kind: slice, name: a, channels: 8}
  - {kind: slice, name: b, from: prelu, start: 8, channels: 8}
  - {kind: conv, name: branch, filters: 8, kernel: 1}
  - {kind: concat, name: cat, from: [a, branch]}
  - {kind: shuffle, name: shuffle, groups: 2}
  - {kind: groupnorm, name: inorm, groups: 16}
  - {kind: leakyrelu, name: leaky, slope: 0.2}
  - {kind: convtranspose, name: up, filters: 8, kernel: 3, stride: 2, padding: 1, output_padding: 1}  # 16 x 16 x 8
  - {kind: globalavgpool, name: mean}
  - {kind: dense, name: fc, units: 10}
"""


@pytest.mark.parametrize("opset", [None, 13])
def test_gates_norms_and_shuffle(tmp_path: Path, opset: int | None) -> None:
    """At opset 13 hard-swish is exported as x·HardSigmoid(x) (the HardSwish operator came in 14)."""
    _check(tmp_path, Gates(), (3, 16, 16), GATES, opset)


class TinyUNet(nn.Module):
    """U-Net's up path as it is usually written in PyTorch: a transposed convolution, F.pad to the skip's
    size computed from both sizes (constants at a fixed input: a Pad of nothing here), torch.cat."""

    def __init__(self) -> None:
        super().__init__()
        self.inc = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.down = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU())
        self.up = nn.ConvTranspose2d(16, 8, 2, 2)
        self.conv = nn.Sequential(nn.Conv2d(16, 8, 3, padding=1), nn.ReLU())
        self.out = nn.Conv2d(8, 2, 1)

    def forward(self, x: Any) -> Any:
        x1 = self.inc(x)
        u = self.up(self.down(x1))
        dy, dx = x1.size(2) - u.size(2), x1.size(3) - u.size(3)
        u = torch.nn.functional.pad(u, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        return self.out(self.conv(torch.cat([x1, u], 1)))


TINY_UNET = """
name: tiny-unet
input: 16x16x3
layers:
  - {kind: conv, name: inc, filters: 8, kernel: 3, padding: 1}
  - {kind: batchnorm, name: inc_bn}
  - {kind: relu, name: inc_relu}
  - {kind: maxpool, name: pool, size: 2}                            # 8 x 8 x 8
  - {kind: conv, name: down, filters: 16, kernel: 3, padding: 1}
  - {kind: relu, name: down_relu}
  - {kind: convtranspose, name: up, filters: 8, kernel: 2, stride: 2}   # 16 x 16 x 8
  - {kind: concat, name: cat, from: [inc_relu, up]}
  - {kind: conv, name: conv, filters: 8, kernel: 3, padding: 1}
  - {kind: relu, name: conv_relu}
  - {kind: conv, name: out, filters: 2, kernel: 1}
"""


def test_unet_up_path(tmp_path: Path) -> None:
    _check(tmp_path, TinyUNet(), (3, 16, 16), TINY_UNET, None)


def _exported_module(tmp_path: Path, spec: Path) -> tuple[Any, archcalc.Graph]:
    from archcalc.bridge.torch_out import export_torch
    g = archcalc.build(archcalc.load(spec))
    p = tmp_path / "net.py"
    p.write_text(export_torch(g))
    s = importlib.util.spec_from_file_location("net_for_export", p)
    mod = importlib.util.module_from_spec(s)
    s.loader.exec_module(mod)
    cls = [v for v in vars(mod).values() if isinstance(v, type) and issubclass(v, nn.Module)][-1]
    return cls(), g


@pytest.mark.parametrize(("name", "opset"), [("kinds_b_all", None), ("kinds_b_all", 17), ("bridge_options", None)])
def test_exported_source_exported_by_torch(tmp_path: Path, name: str, opset: int | None) -> None:
    """A spec -> PyTorch source -> torch.onnx.export -> spec: torch's own export of window attention
    (padding, rolls, the bias table, the shift mask), attention, patch merging, matmul, the token kinds,
    and of their options."""
    spec = ROOT / "tests" / "data" / f"{name}.yaml"
    model, g = _exported_module(tmp_path, spec)
    c, h, w = g.input_shape[2], *g.input_shape[:2]
    _check(tmp_path, model, (c, h, w), spec.read_text(), opset)


def test_torch_lrn_is_refused_clearly(tmp_path: Path) -> None:
    """torch exports nn.LocalResponseNorm as a decomposition with an If inside: refused, named."""
    from archcalc.bridge.read import ImportError_
    with pytest.raises(ImportError_) as e:
        _import(tmp_path, nn.Sequential(nn.Conv2d(3, 8, 3), nn.LocalResponseNorm(3)), (3, 8, 8), None)
    assert "If x1" in e.value.message and "--keep-unmapped" in (e.value.hint or "")
