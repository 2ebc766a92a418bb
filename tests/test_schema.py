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


def test_cli_schema(tmp_path: Path) -> None:
    r = run("schema")
    assert r.exit_code == 0 and json.loads(r.output) == spec_schema()
    out = tmp_path / "archcalc.schema.json"
    assert run("schema", "-o", str(out)).exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8")) == spec_schema()
