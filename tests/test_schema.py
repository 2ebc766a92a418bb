"""`archcalc schema`: every shipped spec validates; invalid specs fail, as they fail to load."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema  # in the test extra
import pytest
import yaml
from conftest import LIBRARIES, SPEC_PATHS, SPECS, analyze_text, run

import archcalc
from archcalc.errors import ArchcalcError
from archcalc.schema import DRAFT, spec_schema

ALL_SPECS = SPEC_PATHS


@pytest.fixture(scope="module")
def validator():  # type: ignore[no-untyped-def]
    schema = spec_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def errors(validator, text: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.message for e in validator.iter_errors(yaml.safe_load(text))]


def test_schema_is_draft_2020_12() -> None:
    assert spec_schema()["$schema"] == DRAFT == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("path", ALL_SPECS + LIBRARIES, ids=lambda p: str(p.relative_to(SPECS)))
def test_every_shipped_spec_validates(validator, path: Path) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert [e.message for e in validator.iter_errors(data)] == []


def test_schema_follows_the_kinds() -> None:
    s = spec_schema()
    kinds = s["$defs"]["layer"]["properties"]["kind"]["anyOf"][0]["enum"]
    assert kinds == list(archcalc.KINDS)
    for name, cls in archcalc.KINDS.items():
        props = s["$defs"][f"kind.{name}"]["properties"]
        assert set(props) == set(cls.fields) | {"kind", "name", "from", "repeat", "table", "when", "training_only"}
        for fname, f in cls.fields.items():
            assert ("default" in props[fname]) != f.required
            assert f.doc in props[fname]["description"]


VALID = {
    "expressions": """
        input: [res, res, 3]
        vars: {res: 64, alpha: 0.5, ks: [3, 3]}
        layers:
          - {kind: conv, filters: round(32 * alpha), kernel: ks, stride: [1, 2], padding: [1, 1, 0, 0]}
          - {kind: conv, filters: 8, kernel: 3, padding: same, dilation: 2, groups: 2, bias: false}
          - {kind: maxpool, size: 2, stride: 0, ceil: true}
          - {kind: batchnorm, eps: 0.001}
          - {kind: upsample, scale: 2, mode: bilinear}
          - {kind: dropout, rate: 0.25, when: "alpha > 0.25"}
          - {kind: globalavgpool}
          - {kind: dense, units: 10}
    """,
    "blocks and merges": """
        name: tiny-resnet
        input: 8x8x4
        batch: 2
        blocks:
          res:
            doc: a residual block
            args: {c: null, k: 3}
            layers:
              - {kind: conv, name: a, filters: c, kernel: k, padding: same}
              - {kind: add, name: sum, from: [input, a]}
            output: sum
        layers:
          - {kind: res, name: stage, c: 4, repeat: 2}
          - {kind: concat, from: [stage1, stage2]}
        outputs: [concat1]
    """,
}

INVALID = {
    "unknown top-level key": "input: 4x4x1\nlayer: []\nlayers:\n  - {kind: relu}\n",
    "no input": "layers:\n  - {kind: relu}\n",
    "no layers": "input: 4x4x1\nlayers: []\n",
    "conv without filters": "input: 4x4x1\nlayers:\n  - {kind: conv, kernel: 3}\n",
    "misspelt field": "input: 4x4x1\nlayers:\n  - {kind: conv, filter: 2, kernel: 3}\n",
    "kernel of three": "input: 4x4x1\nlayers:\n  - {kind: conv, filters: 2, kernel: [1, 2, 3]}\n",
    "zero filters": "input: 4x4x1\nlayers:\n  - {kind: conv, filters: 0, kernel: 1}\n",
    "decimal filters": "input: 4x4x1\nlayers:\n  - {kind: conv, filters: 2.5, kernel: 1}\n",
    "bias as a number": "input: 4x4x1\nlayers:\n  - {kind: dense, units: 2, bias: 1}\n",
    "rate above 1": "input: 4x4x1\nlayers:\n  - {kind: dropout, rate: 2}\n",
    "padding of three": "input: 4x4x1\nlayers:\n  - {kind: zeropad, padding: [1, 1, 1]}\n",
    "name with a slash": "input: 4x4x1\nlayers:\n  - {kind: relu, name: a/b}\n",
    "layer named input": "input: 4x4x1\nlayers:\n  - {kind: relu, name: input}\n",
    "concat without from": "input: 4x4x1\nlayers:\n  - {kind: concat}\n",
    "negative repeat": "input: 4x4x1\nlayers:\n  - {kind: relu, repeat: -1}\n",
    "block named like a kind": "input: 4x4x1\nblocks:\n  conv:\n    layers:\n      - {kind: relu}\n"
                               "layers:\n  - {kind: conv}\n",
    "unknown block key": "input: 4x4x1\nblocks:\n  b:\n    layer: []\n    layers:\n      - {kind: relu}\n"
                         "layers:\n  - {kind: b}\n",
    "layer without kind": "input: 4x4x1\nlayers:\n  - {name: a}\n",
    "input of two": "input: [4, 4]\nlayers:\n  - {kind: relu}\n",
}


@pytest.mark.parametrize("text", VALID.values(), ids=list(VALID))
def test_valid_specs_validate_and_load(validator, text: str) -> None:  # type: ignore[no-untyped-def]
    import textwrap
    text = textwrap.dedent(text)
    assert errors(validator, text) == []
    analyze_text(text)


@pytest.mark.parametrize("text", INVALID.values(), ids=list(INVALID))
def test_invalid_specs_fail_schema_and_load(validator, text: str) -> None:  # type: ignore[no-untyped-def]
    assert errors(validator, text), "the schema accepted an invalid spec"
    with pytest.raises(ArchcalcError):
        analyze_text(text)


# Broken specs as people write them (issue 13 item 5: of 15 such specs the schema accepted 8, the first
# seven below). Each must fail the schema and archcalc alike: `check` for the expect/budget blocks.
H = "input: 8x8x3\nlayers:\n"
VARS = "input: 8x8x3\nvars: {width: 8}\nlayers:\n"
BLOCKS = "input: 8x8x3\nblocks:\n  pair:\n    layers:\n      - {kind: relu}\n      - {kind: relu}\nlayers:\n"
RELU = "  - {kind: relu}\n"
BROKEN = {
    "kind: cnov": H + "  - {kind: cnov, filters: 8, kernel: 3}\n",
    "padding: smae": H + "  - {kind: conv, filters: 8, kernel: 3, padding: smae}\n",
    "mode: bicubic": H + "  - {kind: upsample, scale: 2, mode: bicubic}\n",
    "input: 32by32by3": "input: 32by32by3\nlayers:\n" + RELU,
    "filters: eight": H + "  - {kind: conv, filters: eight, kernel: 3}\n",
    "expect with param:": H + RELU + "expect:\n  param: {value: 0, source: arithmetic}\n",
    "expect without source": H + RELU + "expect:\n  params: {value: 0}\n",
    # kinds by name, also where blocks make other names legal
    "kind: cnov beside blocks": BLOCKS + "  - {kind: pair}\n  - {kind: cnov, filters: 8, kernel: 3}\n",
    "kind: Conv2d (torch's name)": BLOCKS + "  - {kind: Conv2d, filters: 8, kernel: 3}\n",
    "kind: relu6x": H + "  - {kind: relu6x}\n",
    # choice fields, also where variables could hold a word
    "padding: SAME (TensorFlow's capitals)": H + "  - {kind: conv, filters: 8, kernel: 3, padding: SAME}\n",
    "padding: smae beside vars": VARS + "  - {kind: conv, filters: width, kernel: 3, padding: smae}\n",
    "mode: same (another field's word)": VARS + "  - {kind: upsample, scale: 2, mode: same}\n",
    "mode: bilinaer beside vars": VARS + "  - {kind: upsample, scale: 2, mode: bilinaer}\n",
    # the input pattern and expression text
    "input: 224x224": "input: 224x224\nlayers:\n" + RELU,
    "input: 224 by 224 by 3": "input: 224 by 224 by 3\nlayers:\n" + RELU,
    "kernel: 3x3": H + "  - {kind: conv, filters: 8, kernel: 3x3}\n",
    "filters: 64 * alpha without vars": H + "  - {kind: conv, filters: 64 * alpha, kernel: 3}\n",
    "when: a name without vars": H + "  - {kind: relu, when: training}\n",
    "block layer naming an argument it lacks": "input: 8x8x3\nblocks:\n  b:\n    layers:\n"
                                               "      - {kind: conv, filters: c, kernel: 3}\nlayers:\n  - {kind: b}\n",
    # expect / budget structure
    "expect figure as a bare number": H + RELU + "expect:\n  params: 0\n",
    "expect value as text": H + RELU + "expect:\n  macs: {value: 15.47G, source: torchvision}\n",
    "expect source blank": H + RELU + "expect:\n  macs: {value: 0, source: \"  \"}\n",
    "expect negative tolerance": H + RELU + "expect:\n  macs: {value: 0, source: x, tolerance: -1}\n",
    "expect output_shape with tolerance": H + RELU + "expect:\n  output_shape: {value: [8, 8, 3], source: x, "
                                                     "tolerance: 1}\n",
    "expect unknown tool": H + RELU + "expect:\n  conventions: {keras: {value: 0, source: x}}\n",
    "expect tool figure without source": H + RELU + "expect:\n  conventions: {torchinfo: {value: 0}}\n",
    "budget of zero": H + RELU + "budget:\n  max_params: 0\n",
    "budget unknown key": H + RELU + "budget:\n  max_flops: 10\n",
    "budget as a list": H + RELU + "budget: [1]\n",
}


def archcalc_refuses(text: str) -> bool:
    from archcalc.check import check_spec
    try:
        check_spec(archcalc.load(text=text, path="broken.yaml"))
    except ArchcalcError:
        return True
    return False


@pytest.mark.parametrize("text", BROKEN.values(), ids=list(BROKEN))
def test_broken_specs_fail_the_schema_and_archcalc(validator, text: str) -> None:  # type: ignore[no-untyped-def]
    assert errors(validator, text), "the schema accepted a broken spec"
    assert archcalc_refuses(text), "archcalc accepted it: this is not a broken spec"


def test_at_least_the_fifteen_of_the_issue() -> None:
    assert len(BROKEN) >= 15
    assert list(BROKEN)[:7] == ["kind: cnov", "padding: smae", "mode: bicubic", "input: 32by32by3",
                                "filters: eight", "expect with param:", "expect without source"]


ACCEPTED = {  # what the schema must not refuse: expressions, variables holding words, numbers in YAML's forms
    "exponents and functions": H + "  - {kind: batchnorm, eps: 1e-5}\n  - {kind: conv, filters: \"max(8, 2 ** 3)\", "
                                   "kernel: [3, 1], padding: [1, 1, 0, 0]}\n  - {kind: dropout, rate: 0.5}\n",
    "index in a repeat": H + "  - {kind: conv, filters: index * 2, kernel: 1, repeat: 3, when: \"1 > 0\"}\n",
    "input forms": "input: 32X32X3\nlayers:\n" + RELU,
    "input with commas": "input: \"32, 32, 3\"\nlayers:\n" + RELU,
    "flat input": "input: 784\nlayers:\n  - {kind: dense, units: 10}\n",
    "a variable holding a choice": "input: 8x8x3\nvars: {pad: same, m: bilinear}\nlayers:\n"
                                   "  - {kind: conv, filters: 2, kernel: 3, padding: pad}\n"
                                   "  - {kind: upsample, scale: 2, mode: m}\n",
    "block arguments": "input: 8x8x3\nblocks:\n  b:\n    args: {c: null}\n    layers:\n"
                       "      - {kind: conv, filters: c, kernel: 3}\nlayers:\n  - {kind: b, c: 4}\n",
    "every figure form": H + RELU + "expect:\n  output_shape: {value: 8x8x3, source: x}\n"
                         "  params: {value: 25_557_032, source: arithmetic, tolerance: 25_557_032}\n"
                         "  conventions: {torchinfo: {value: 0, source: t}, torch_ops: {relu1: F.relu}}\n"
                         "budget:\n  max_macs: 1\n  conventions: {fvcore: 5, torch_ops: {relu1: F.relu}}\n",
}


@pytest.mark.parametrize("text", ACCEPTED.values(), ids=list(ACCEPTED))
def test_valid_forms_are_accepted(validator, text: str) -> None:  # type: ignore[no-untyped-def]
    assert errors(validator, text) == []
    assert not archcalc_refuses(text)


def test_schema_is_stricter_than_archcalc_only_about_block_names(validator) -> None:  # type: ignore[no-untyped-def]
    """A block may not be named one letter away from a built-in kind: `kind: rleu` would otherwise
    hide a misspelt relu wherever blocks exist. archcalc itself accepts the name."""
    text = "input: 8x8x3\nblocks:\n  rleu:\n    layers:\n" + "    " + RELU + "layers:\n  - {kind: rleu}\n"
    assert errors(validator, text) and not archcalc_refuses(text)
    ok = text.replace("rleu", "relus").replace("relus:\n", "relu_pair:\n").replace("kind: relus", "kind: relu_pair")
    assert errors(validator, ok) == []


def test_near_miss() -> None:
    import re

    from archcalc.schema import near_miss
    p = re.compile(near_miss(["conv", "relu"]))
    for name in ("cnov", "cov", "onv", "conb", "convv", "ccnv", "Conv", "CONV", "conv2d", "Conv2D", "rleu", "ReLU"):
        assert p.match(name), name
    for name in ("conv", "relu", "conv_bn", "convs", "conv1", "stage", "block", "c", "reluconv"):
        assert not p.match(name), name


def test_every_key_the_parser_takes_is_described() -> None:
    """A key added to the spec language (spec.TOP_KEYS, ITEM_KEYS, BLOCK_KEYS) or to `expect:`/
    `budget:` (check) must be described in archcalc/schema.py (_TOP, _ITEM, _BLOCK, _figures); until
    it is, the schema refuses it, and this test names it."""
    from archcalc.check import (
        BUDGET_KEYS,
        CONVENTIONS,
        EXPECT_KEYS,
        TRAINING,
        TRAINING_BUDGET,
        TRAINING_EXPECT,
        TRAINING_SETTING,
    )
    from archcalc.profiles import NAMES
    from archcalc.spec import BLOCK_KEYS, ITEM_KEYS, TOP_KEYS
    s = spec_schema()
    for where, keys, described in (("spec.TOP_KEYS", TOP_KEYS, s["properties"]),
                                   ("spec.ITEM_KEYS", ITEM_KEYS, s["$defs"]["layer"]["properties"]),
                                   ("spec.BLOCK_KEYS", BLOCK_KEYS, s["$defs"]["block"]["properties"])):
        missing = [k for k in keys if k not in described]
        assert not missing, f"{where} has {missing}, which archcalc/schema.py does not describe"
    assert set(s["$defs"]["expect"]["properties"]) == {*EXPECT_KEYS, CONVENTIONS, TRAINING}
    assert set(s["$defs"]["budget"]["properties"]) == {*BUDGET_KEYS, CONVENTIONS, TRAINING}
    for block, figures in (("expect", TRAINING_EXPECT), ("budget", TRAINING_BUDGET)):
        one = s["$defs"][block]["properties"][TRAINING]["anyOf"][0]
        assert set(one["properties"]) == {*TRAINING_SETTING, *figures}
    assert set(s["$defs"]["expect"]["properties"][CONVENTIONS]["properties"]) == {*NAMES, "torch_ops"}


def test_docs_spec_examples_validate(validator) -> None:  # type: ignore[no-untyped-def]
    import re

    from conftest import ROOT
    examples = re.findall(r"```yaml\n(.*?)```", (ROOT / "docs" / "spec.md").read_text(encoding="utf-8"), re.S)
    assert examples
    for text in examples:
        assert errors(validator, text) == [], text[:60]


def test_cli_schema(tmp_path: Path) -> None:
    r = run("schema")
    assert r.exit_code == 0 and json.loads(r.output) == spec_schema()
    out = tmp_path / "archcalc.schema.json"
    assert run("schema", "-o", str(out)).exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8")) == spec_schema()
