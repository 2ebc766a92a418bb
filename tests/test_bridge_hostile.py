"""Untrusted ONNX files are refused with a clear error in bounded time; nothing outside the
model's folder is read; operators without a kind are listed (or kept, flagged)."""

from __future__ import annotations

from pathlib import Path

import pytest

from archcalc.bridge.read import ImportError_

onnx = pytest.importorskip("onnx", reason="needs archcalc[onnx]")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from archcalc.bridge.importer import import_onnx  # noqa: E402


def _model(nodes, inits=(), inp=(1, 3, 8, 8), out="y"):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(inp))],
                          [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)], initializer=list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def _bare(name: str, dims: list[int]) -> TensorProto:
    """A tensor header with no data (what a hostile file may claim)."""
    t = TensorProto()
    t.name, t.data_type = name, TensorProto.FLOAT
    t.dims.extend(dims)
    return t


def _save(tmp_path: Path, m, name: str = "m.onnx") -> Path:
    p = tmp_path / name
    p.write_bytes(m.SerializeToString())
    return p


def _err(path: Path, **kw) -> str:
    with pytest.raises(ImportError_) as e:
        import_onnx(path, **kw)
    return f"{e.value.message} {e.value.hint}"


def test_garbage_and_truncated_and_empty(tmp_path: Path) -> None:
    import numpy as np
    w = numpy_helper.from_array(np.zeros((4, 3, 3, 3), np.float32), "w")
    good = _save(tmp_path, _model([helper.make_node("Conv", ["x", "w"], ["y"])], [w]))
    data = good.read_bytes()
    (tmp_path / "t.onnx").write_bytes(data[: len(data) // 2])
    assert "truncated" in _err(tmp_path / "t.onnx")
    (tmp_path / "g.onnx").write_bytes(b"\x00\xffnot onnx" * 10)
    assert "not an ONNX model" in _err(tmp_path / "g.onnx")
    (tmp_path / "e.onnx").write_bytes(b"")
    assert "empty" in _err(tmp_path / "e.onnx")
    assert "more than the 10 archcalc reads" in _err(good, max_bytes=10)


def test_cycle_and_dangling_reference(tmp_path: Path) -> None:
    cyc = _model([helper.make_node("Relu", ["b"], ["a"], name="r1"), helper.make_node("Relu", ["a"], ["b"], name="r2"),
                  helper.make_node("Add", ["x", "b"], ["y"], name="add")])
    assert "cycle" in _err(_save(tmp_path, cyc))
    dang = _model([helper.make_node("Relu", ["ghost"], ["y"], name="r")])
    assert "reads 'ghost', which nothing produces" in _err(_save(tmp_path, dang))


def test_absurd_dimensions(tmp_path: Path) -> None:
    t = _bare("w", [2**40, 2**40])
    m = _model([helper.make_node("Conv", ["x", "w"], ["y"])], [t])
    msg = _err(_save(tmp_path, m))
    assert "dimension 1099511627776" in msg


def test_external_data_outside_the_folder_is_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"\0" * 432)
    sub = tmp_path / "model"
    sub.mkdir()
    for loc in ("../secret.bin", str(secret), "sub/../../secret.bin"):
        t = _bare("w", [4, 3, 3, 3])
        t.data_location = TensorProto.EXTERNAL
        t.external_data.add(key="location", value=loc)
        m = _model([helper.make_node("Conv", ["x", "w"], ["y"])], [t])
        assert "outside the model's folder" in _err(_save(sub, m))
    t = _bare("w", [4, 3, 3, 3])
    t.data_location = TensorProto.EXTERNAL
    t.external_data.add(key="location", value="w.bin")
    assert "missing" in _err(_save(sub, _model([helper.make_node("Conv", ["x", "w"], ["y"])], [t])))


def test_unmapped_operators_are_listed_or_kept(tmp_path: Path) -> None:
    nodes = [helper.make_node("Erf", ["x"], ["a"], name="g1"), helper.make_node("Erf", ["a"], ["b"], name="g2"),
             helper.make_node("Relu", ["b"], ["y"], name="r")]
    p = _save(tmp_path, helper.make_model(helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)]), opset_imports=[helper.make_opsetid("", 20)]))
    msg = _err(p)
    assert "Erf x2 (first: g1, g2)" in msg and "--keep-unmapped" in msg
    text, imp = import_onnx(p, keep_unmapped=True)
    assert "UNMAPPED" in text and "kind: unmapped" in text
    import archcalc
    an = archcalc.analyze(archcalc.load(text=text))
    assert [r.kind for r in an.rows[1:]] == ["unmapped", "unmapped", "relu"] and an.rows[-1].output_shape == (8, 8, 3)


def test_cli_import_errors_have_no_traceback(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from archcalc.cli import cli
    (tmp_path / "bad.onnx").write_bytes(b"junk")
    r = CliRunner().invoke(cli, ["import", str(tmp_path / "bad.onnx")])
    assert r.exit_code == 1 and "Traceback" not in r.output and "not an ONNX model" in r.output


def test_shape_arithmetic_stays_small(tmp_path: Path) -> None:
    """A file whose constant arithmetic would build 2^32 values (two vectors of 2^16 broadcast against
    each other) or a ConstantOfShape of 2^40 is imported without building them, in bounded time."""
    import time

    import numpy as np
    consts = [numpy_helper.from_array(np.array(v, np.int64), k) for k, v in
              (("zero", 0), ("n", 2**16), ("one", 1), ("ax0", [0]), ("ax1", [1]), ("huge", [2**20, 2**20]))]
    nodes = [helper.make_node("Range", ["zero", "n", "one"], ["r"], name="range"),       # 65,536 values: computed
             helper.make_node("Unsqueeze", ["r", "ax1"], ["col"], name="col"),
             helper.make_node("Unsqueeze", ["r", "ax0"], ["row"], name="row"),
             helper.make_node("Add", ["col", "row"], ["grid"], name="grid"),             # 2^32: not
             helper.make_node("ConstantOfShape", ["huge"], ["zeros"], name="zeros"),     # 2^40: not
             helper.make_node("Relu", ["x"], ["y"], name="relu")]
    p = _save(tmp_path, _model(nodes, consts))
    t = time.perf_counter()
    text, imp = import_onnx(p)
    assert time.perf_counter() - t < 30 and [lay.kind for lay in imp.layers] == ["relu"]


def test_unmapped_sequence_is_kept_as_tokens(tmp_path: Path) -> None:
    """An operator without a kind on a sequence (here Erf on N x L x C tokens) is kept as `unmapped`
    of l x c, so the layers after it keep their shapes."""
    import numpy as np
    consts = [numpy_helper.from_array(np.array([1, 3, 64], np.int64), "shape")]
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["flat"], name="flat"),         # N x C x H·W
             helper.make_node("Transpose", ["flat"], ["seq"], perm=[0, 2, 1], name="tokens"),  # N x L x C
             helper.make_node("Erf", ["seq"], ["e"], name="erf"),
             helper.make_node("Softmax", ["e"], ["y"], axis=-1, name="softmax")]
    p = _save(tmp_path, _model(nodes, consts))
    text, imp = import_onnx(p, keep_unmapped=True)
    import archcalc
    an = archcalc.analyze(archcalc.load(text=text))
    assert [(r.kind, r.output_shape) for r in an.rows[1:]] == [("tokens", (64, 3)), ("unmapped", (64, 3)),
                                                               ("softmax", (64, 3))]
