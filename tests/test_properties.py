"""Executor == walker, exactly: shapes, parameters, multiplications, for random layers, chains and DAGs."""

from __future__ import annotations

import json
from unittest import mock

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import archcalc
from archcalc.execute import _Live, execute
from archcalc.kinds import REGISTRY

small = st.integers(1, 3)
pair = st.one_of(small, st.tuples(small, small).map(list))
padding = st.one_of(st.sampled_from(["valid", "same"]), st.integers(0, 2),
                    st.tuples(*[st.integers(0, 2)] * 4).map(list))
conv_fields = dict(kernel=pair, stride=pair, padding=padding, dilation=st.one_of(st.just(1), st.integers(1, 2)),
                   bias=st.booleans())

#: every kind the spec author can write -> a strategy for its fields (test_every_kind_has_a_strategy)
FIELDS = {
    "conv": st.fixed_dictionaries({"filters": st.integers(1, 6), "groups": st.sampled_from([1, 1, 2, 3]),
                                   **conv_fields}),
    "depthwise": st.fixed_dictionaries({"multiplier": small, **conv_fields}),
    "dense": st.fixed_dictionaries({"units": st.integers(1, 8), "bias": st.booleans()}),
    "maxpool": st.fixed_dictionaries({"size": pair, "stride": st.one_of(st.just(0), pair), "padding": padding,
                                      "ceil": st.booleans()}),
    "avgpool": st.fixed_dictionaries({"size": pair, "stride": st.one_of(st.just(0), pair), "padding": padding,
                                      "ceil": st.booleans(), "count_pad": st.booleans()}),
    "globalavgpool": st.fixed_dictionaries({"keepdims": st.booleans()}),
    "globalmaxpool": st.fixed_dictionaries({"keepdims": st.booleans()}),
    "batchnorm": st.just({}),
    "lrn": st.fixed_dictionaries({"size": st.integers(1, 5)}),
    "relu": st.just({}), "relu6": st.just({}), "sigmoid": st.just({}), "tanh": st.just({}),
    "hardswish": st.just({}), "dropout": st.just({}), "flatten": st.just({}),
    "softmax": st.just({}),
    "zeropad": st.fixed_dictionaries({"padding": st.one_of(st.integers(0, 2),
                                                           st.tuples(*[st.integers(0, 2)] * 4).map(list))}),
    "upsample": st.fixed_dictionaries({"scale": pair, "mode": st.sampled_from(["nearest", "bilinear"])}),
    "add": st.just({}), "concat": st.just({}),
}
# issue 14 part B: linear, token shapes, channel ops, attention (matmul and token concat: test_tokens_chain)
FIELDS.update({
    "linear": st.fixed_dictionaries({"units": st.integers(1, 8), "bias": st.booleans()}),
    "tokens": st.just({}), "posembed": st.just({}), "patchmerge": st.just({}),
    "tokenmap": st.fixed_dictionaries({"h": st.integers(0, 3), "w": st.integers(0, 3)}),
    "classtoken": st.fixed_dictionaries({"count": st.integers(1, 2)}),
    "tokenselect": st.fixed_dictionaries({"index": st.integers(0, 3)}),
    "slice": st.one_of(st.fixed_dictionaries({"start": st.integers(0, 3), "channels": st.integers(0, 3)}),
                       st.fixed_dictionaries({"chunks": st.integers(1, 4), "chunk": st.integers(0, 3)})),
    "shuffle": st.fixed_dictionaries({"groups": st.integers(1, 3)}),
    "attention": st.fixed_dictionaries({"heads": st.integers(1, 3), "head_dim": st.integers(0, 3),
                                        "qkv_bias": st.booleans(), "proj": st.booleans(),
                                        "proj_bias": st.booleans()}),
    "windowattention": st.fixed_dictionaries({"heads": st.integers(1, 2), "window": pair,
                                              "shift": st.one_of(st.integers(0, 2), st.tuples(
                                                  st.integers(0, 2), st.integers(0, 2)).map(list)),
                                              "qkv_bias": st.booleans(), "proj_bias": st.booleans()}),
    "matmul": st.fixed_dictionaries({"transpose_a": st.booleans(), "transpose_b": st.booleans(),
                                     "scale": st.sampled_from([1, 0.5])}),
})
SEQUENCE_ONLY = {"attention", "classtoken", "tokenselect", "tokenmap"}  # fed by `tokens`
FLAT_ONLY = {"dense", "softmax"}
hwc = st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(1, 6))
# issue 14 part A: activations, norms, layer scale, transposed conv, adaptive pooling, multiply
FIELDS.update({
    "silu": st.just({}), "hardsigmoid": st.just({}), "scale": st.just({}), "identity": st.just({}),
    "gelu": st.fixed_dictionaries({"approximate": st.sampled_from(["none", "tanh"])}),
    "leakyrelu": st.fixed_dictionaries({"slope": st.sampled_from([0, 0.01, 0.2, 1.5])}),
    "prelu": st.fixed_dictionaries({"per_channel": st.booleans()}),
    "layernorm": st.fixed_dictionaries({"affine": st.booleans(), "bias": st.booleans()}),
    "groupnorm": st.fixed_dictionaries({"groups": st.integers(1, 4), "affine": st.booleans()}),
    "droppath": st.fixed_dictionaries({"rate": st.sampled_from([0, 0.1, 1])}),
    "convtranspose": st.fixed_dictionaries({
        "filters": st.integers(1, 6), "groups": st.sampled_from([1, 1, 2, 3]), "kernel": pair, "stride": pair,
        "padding": st.one_of(st.sampled_from(["valid", "same"]), st.integers(0, 2),
                             st.tuples(*[st.integers(0, 2)] * 4).map(list)),
        "output_padding": st.one_of(st.just(0), st.integers(0, 2),
                                    st.tuples(st.integers(0, 2), st.integers(0, 2)).map(list)),
        "dilation": st.one_of(st.just(1), st.integers(1, 2)), "bias": st.booleans()}),
    "adaptiveavgpool": st.fixed_dictionaries({"size": pair.map(lambda p: p if isinstance(p, list) else p + 2)}),
    "adaptivemaxpool": st.fixed_dictionaries({"size": st.one_of(st.integers(1, 5), st.tuples(small, small).map(list))}),
    "multiply": st.just({"from": ["input", "input"]}),  # alone: the input times itself (gates: test_gates)
})
# U-Net's copy and crop (zoo-tx): to a size, or (test_crop_to_a_branch) to a second input's H x W
FIELDS["crop"] = st.fixed_dictionaries({"size": st.one_of(st.integers(1, 4), st.tuples(small, small).map(list))})


def check(text: str, batch: int = 1, values: bool = False) -> None:
    """Build, walk and execute; when the walker accepts the spec, every figure must agree.

    `values`: also run with nothing written over (no layer given its input to overwrite) and
    require the same outputs, so write-over never clobbers a value another layer still reads."""
    spec = archcalc.load(text=text, path="prop.yaml")
    try:
        an = archcalc.analyze(spec, batch=batch)
    except archcalc.SpecError:
        assume(False)
    ex = execute(an.graph, keep=values)
    if values:
        with mock.patch.object(_Live, "own", lambda self, j: False):
            plain = execute(an.graph)
        for name, y in plain.outputs.items():
            np.testing.assert_array_equal(ex.outputs[name], y, err_msg=name)
    assert len(ex.layers) == len(an.rows)
    for row, run in zip(an.rows, ex.layers, strict=True):
        assert (row.name, run.output_shape) == (row.name, tuple(row.output_shape))
        assert (row.name, run.trainable, run.non_trainable) == (row.name, row.trainable, row.non_trainable)
        assert (row.name, run.macs) == (row.name, row.macs)


def layer(kind: str, fields: dict, **extra) -> str:
    return json.dumps({"kind": kind, **fields, **extra})


@pytest.mark.parametrize("kind", sorted(k for k in FIELDS if k not in ("add", "concat", "matmul")))
@given(data=st.data(), shape=hwc, batch=st.integers(1, 2))
def test_single_layer(kind, data, shape, batch):
    fields = data.draw(FIELDS[kind])
    pre = ["{kind: flatten}"] if kind in FLAT_ONLY else ["{kind: tokens}"] if kind in SEQUENCE_ONLY else []
    text = f"input: {shape[0]}x{shape[1]}x{shape[2]}\nlayers:\n" + "".join(
        f"  - {x}\n" for x in (*pre, layer(kind, fields)))
    check(text, batch)


SPATIAL = ["conv", "depthwise", "maxpool", "avgpool", "batchnorm", "relu", "relu6", "lrn", "zeropad", "upsample",
           "hardswish", "silu", "gelu", "layernorm", "groupnorm", "convtranspose", "adaptiveavgpool", "scale", "crop"]


@given(data=st.data(), shape=hwc, n=st.integers(2, 5))
def test_chain(data, shape, n):
    kinds = data.draw(st.lists(st.sampled_from(SPATIAL), min_size=n, max_size=n))
    head = data.draw(st.sampled_from(["none", "dense", "gap"]))
    rows = [layer(k, data.draw(FIELDS[k])) for k in kinds]
    if head == "dense":
        rows += ["{kind: flatten}", layer("dense", {"units": 3}), "{kind: softmax}"]
    elif head == "gap":
        rows += ["{kind: globalavgpool}", layer("dense", {"units": 2})]
    check(f"input: {shape[0]}x{shape[1]}x{shape[2]}\nlayers:\n" + "".join(f"  - {r}\n" for r in rows), values=True)


@given(data=st.data(), shape=hwc, branches=st.integers(2, 3), merge=st.sampled_from(["add", "concat"]))
def test_dag(data, shape, branches, merge):
    """Branches from one stem, each a short same-padded stack, joined by add or concat, then a tail.

    Element-wise layers (relu, batchnorm, sigmoid, dropout, add) may write over their input, so
    the outputs must equal those of a run where nothing is written over; dropout is a view of its
    input, the stem is read by every branch: the cases where writing over would be wrong."""
    c = data.draw(st.integers(1, 4))
    rows = [layer("conv", {"filters": c, "kernel": 1}, name="stem")]
    ends = []
    for b in range(branches):
        kinds = data.draw(st.lists(st.sampled_from(["conv", "depthwise", "maxpool", "avgpool", "relu", "batchnorm",
                                                    "sigmoid", "dropout"]), min_size=0, max_size=3))
        prev = "stem"
        for i, k in enumerate(kinds):
            f = {"kernel": data.draw(small), "padding": "same"} if k in ("conv", "depthwise") else {}
            if k == "conv":
                f["filters"] = c if merge == "add" else data.draw(st.integers(1, 4))
            if k in ("maxpool", "avgpool"):
                f = {"size": data.draw(small), "stride": 1, "padding": "same"}
            name = f"b{b}_{i}"
            rows.append(layer(k, f, name=name, **{"from": prev}))
            prev = name
        ends.append(prev)
    rows.append(layer(merge, {}, name="join", **{"from": ends}))
    rows.append(layer("relu", {}))
    rows.append(layer("conv", {"filters": 2, "kernel": data.draw(small), "padding": "same"}))
    check(f"input: {shape[0]}x{shape[1]}x{shape[2]}\nlayers:\n" + "".join(f"  - {r}\n" for r in rows), values=True)


@given(data=st.data(), shape=hwc, batch=st.integers(1, 2))
def test_crop_to_a_branch(data, shape, batch):
    """The input cropped to a valid convolution's output and joined with it, as U-Net's copy and crop."""
    k = data.draw(pair)
    rows = [layer("conv", {"filters": data.draw(st.integers(1, 3)), "kernel": k}, name="b"),
            layer("crop", {}, name="c", **{"from": ["input", "b"]}),
            layer("concat", {}, name="j", **{"from": ["c", "b"]}), layer("relu", {})]
    check(f"input: {shape[0]}x{shape[1]}x{shape[2]}\nlayers:\n" + "".join(f"  - {r}\n" for r in rows), batch,
          values=True)


def test_every_kind_has_a_strategy():
    # `unmapped` (kept by `archcalc import --keep-unmapped`) has no computation to witness
    writable = {k for k, c in REGISTRY.items() if not c.internal and k != "unmapped"}
    assert writable <= set(FIELDS), f"kinds without a property strategy: {sorted(writable - set(FIELDS))}"


TOKEN_LAYERS = ["linear", "attention", "posembed", "classtoken", "softmax", "slice", "shuffle", "matmul", "concat"]


@given(data=st.data(), shape=hwc, n=st.integers(1, 5), batch=st.integers(1, 2))
def test_tokens_chain(data, shape, n, batch):
    """A map turned into tokens, then a random chain of the layers that work on sequences (a product of
    the previous output with itself or with the tokens, a concat along tokens), then a token for a head
    or a map again: every figure agrees with the executor, and write-over changes no value."""
    rows = ["{kind: tokens, name: t0}"]
    prev = "t0"
    for i in range(n):
        k = data.draw(st.sampled_from(TOKEN_LAYERS))
        other = data.draw(st.sampled_from([prev, "t0"]))
        fields = {"axis": "tokens"} if k == "concat" else data.draw(FIELDS[k])
        extra = {"from": [prev, other]} if k in ("matmul", "concat") else {}
        rows.append(layer(k, fields, name=f"x{i}", **extra))
        prev = f"x{i}"
    tail = data.draw(st.sampled_from(["none", "select", "map"]))
    if tail == "select":
        rows += [layer("tokenselect", data.draw(FIELDS["tokenselect"])), layer("dense", {"units": 2})]
    elif tail == "map":
        rows += [layer("tokenmap", data.draw(FIELDS["tokenmap"])), layer("patchmerge", {})]
    check(f"input: {shape[0]}x{shape[1]}x{shape[2]}\nlayers:\n" + "".join(f"  - {r}\n" for r in rows),
          batch, values=True)


@given(data=st.data(), shape=st.tuples(st.integers(1, 7), st.integers(1, 7), st.sampled_from([2, 4, 6])))
def test_swin_chain(data, shape):
    """Window attention (shifted or not), patch merging and a per-position linear, as a Swin stage."""
    rows = []
    for i in range(data.draw(st.integers(1, 3))):
        rows.append(layer("windowattention", data.draw(FIELDS["windowattention"]), name=f"w{i}"))
        if data.draw(st.booleans()):
            rows += [layer("patchmerge", {}), layer("linear", {"units": shape[2], "bias": False})]
    check(f"input: {shape[0]}x{shape[1]}x{shape[2]}\nlayers:\n" + "".join(f"  - {r}\n" for r in rows),
          values=True)


# --- issue 14, part A: the new kinds in chains, gates (multiply) and token sequences -------------

MODERN = ["silu", "gelu", "hardsigmoid", "leakyrelu", "prelu", "layernorm", "groupnorm", "scale", "identity",
          "droppath", "convtranspose", "adaptiveavgpool", "adaptivemaxpool"]


@given(data=st.data(), shape=hwc, n=st.integers(2, 4))
def test_chain_of_new_kinds(data, shape, n):
    kinds = data.draw(st.lists(st.sampled_from(MODERN + ["conv", "relu"]), min_size=n, max_size=n))
    rows = [layer(k, data.draw(FIELDS[k])) for k in kinds]
    check(f"input: {shape[0]}x{shape[1]}x{shape[2]}\nlayers:\n" + "".join(f"  - {r}\n" for r in rows), values=True)


GATES = {  # a gate named p for a map of c channels read from layer `stem`
    "se": lambda c, p: [layer("globalavgpool", {"keepdims": True}, name=f"{p}_pool", **{"from": "stem"}),
                        layer("conv", {"filters": c, "kernel": 1}), layer("hardsigmoid", {}, name=p)],
    "flat": lambda c, p: [layer("globalavgpool", {}, name=f"{p}_pool", **{"from": "stem"}),
                          layer("dense", {"units": c}), layer("sigmoid", {}, name=p)],
    "spatial": lambda c, p: [layer("conv", {"filters": 1, "kernel": 1}, name=p, **{"from": "stem"})],
    "same": lambda c, p: [layer("silu", {}, name=p, **{"from": "stem"})],
}


@given(data=st.data(), shape=hwc, gates=st.lists(st.sampled_from(sorted(GATES)), min_size=1, max_size=2),
       first=st.booleans())
def test_gates(data, shape, gates, first):
    """multiply of a map by gates of 1 x 1 x C, C, H x W x 1 or its own shape, in either order,
    sometimes two gates at once (a gate times a gate first: fewer products)."""
    c = data.draw(st.integers(1, 4))
    rows = [layer("conv", {"filters": c, "kernel": 1}, name="stem")]
    names = [f"gate{i}" for i in range(len(gates))]
    for g, name in zip(gates, names, strict=True):
        rows += GATES[g](c, name)
    inputs = ["stem", *names] if first else [*names, "stem"]
    rows.append(layer("multiply", {}, name="join", **{"from": inputs}))
    rows.append(layer("conv", {"filters": 2, "kernel": 1}))
    check(f"input: {shape[0]}x{shape[1]}x{shape[2]}\nlayers:\n" + "".join(f"  - {r}\n" for r in rows), values=True)


ANY_RANK = ["silu", "gelu", "hardsigmoid", "leakyrelu", "prelu", "layernorm", "scale", "identity", "droppath",
            "relu", "sigmoid"]


@given(data=st.data(), tokens=st.integers(1, 7), c=st.integers(1, 6), batch=st.integers(1, 2),
       kinds=st.lists(st.sampled_from(ANY_RANK), min_size=1, max_size=3), gate=st.booleans())
def test_token_sequences(data, tokens, c, batch, kinds, gate):
    """An L x C sequence (the input shape given through the API) through the kinds that take any rank,
    and a token gate: multiply of the sequence by a flat C."""
    rows = [layer(k, data.draw(FIELDS[k])) for k in kinds]
    if gate:
        rows += ['{"kind": "layernorm", "name": "seq"}', '{"kind": "flatten", "name": "f"}',
                 f'{{"kind": "dense", "units": {c}, "name": "g"}}', '{"kind": "multiply", "from": ["seq", "g"]}']
    spec = archcalc.load(text="input: 1x1x1\nlayers:\n" + "".join(f"  - {r}\n" for r in rows), path="seq.yaml")
    an = archcalc.analyze(spec, input_shape=(tokens, c), batch=batch)
    ex = execute(an.graph)
    for row, run in zip(an.rows, ex.layers, strict=True):
        assert (row.name, run.output_shape, run.trainable, run.macs) == (row.name, row.output_shape, row.trainable,
                                                                         row.macs)
