"""Generated specs for the large-graph benchmark (and its tests): nothing here is a real network.

`nested(n)` expands, through blocks and `repeat`, to exactly n + 1 nodes (the input plus n
layers) for n a multiple of 10: a residual unit of 10 layers (conv, batchnorm, relu, conv,
batchnorm, add, relu, dropout, depthwise, relu6 — every kind of a modern CNN body) repeated
inside stages. `flat(n)` writes the same layers out one by one, n entries in `layers:`.
"""

from __future__ import annotations

#: one residual unit, 10 layers; channels and spatial size stay put so any count of units chains
UNIT = """\
      - {kind: conv, name: c1, filters: 16, kernel: 3, padding: same, bias: false}
      - {kind: batchnorm, name: b1}
      - {kind: relu, name: r1}
      - {kind: conv, name: c2, filters: 16, kernel: 3, padding: same, bias: false}
      - {kind: batchnorm, name: b2}
      - {kind: add, name: add, from: [b2, input]}
      - {kind: relu, name: r2}
      - {kind: dropout, name: drop, rate: 0.1}
      - {kind: depthwise, name: dw, kernel: 3, padding: same}
      - {kind: relu6, name: r3}
"""


def nested(layers: int) -> str:
    """A spec of `layers` layers (a multiple of 10): stages of units, both through `repeat`."""
    if layers % 10:
        raise ValueError("layers must be a multiple of 10")
    units = layers // 10
    per_stage = 1000 if units % 1000 == 0 else units
    stages = units // per_stage
    return f"""\
name: nested-{layers}
input: 8x8x16
blocks:
  unit:
    layers:
{UNIT}  stage:
    args: {{units: 1}}
    layers:
      - {{kind: unit, name: u, repeat: units}}
layers:
  - {{kind: stage, name: s, repeat: {stages}, units: {per_stage}}}
"""


def flat(layers: int) -> str:
    """The same units written out: `layers` entries (a multiple of 10) in one list, no blocks."""
    if layers % 10:
        raise ValueError("layers must be a multiple of 10")
    out = [f"name: flat-{layers}", "input: 8x8x16", "layers:"]
    prev = "input"
    for u in range(layers // 10):
        p = f"u{u}_"
        out += [
            f"  - {{kind: conv, name: {p}c1, filters: 16, kernel: 3, padding: same, bias: false}}",
            f"  - {{kind: batchnorm, name: {p}b1}}",
            f"  - {{kind: relu, name: {p}r1}}",
            f"  - {{kind: conv, name: {p}c2, filters: 16, kernel: 3, padding: same, bias: false}}",
            f"  - {{kind: batchnorm, name: {p}b2}}",
            f"  - {{kind: add, name: {p}add, from: [{p}b2, {prev}]}}",
            f"  - {{kind: relu, name: {p}r2}}",
            f"  - {{kind: dropout, name: {p}drop, rate: 0.1}}",
            f"  - {{kind: depthwise, name: {p}dw, kernel: 3, padding: same}}",
            f"  - {{kind: relu6, name: {p}r3}}",
        ]
        prev = f"{p}r3"
    return "\n".join(out) + "\n"


# --- the documents of issue 15's findings, at any size (benchmarks/bench_scale.py and
# tests/test_findings.py: the same text as the findings' files, generated) ------------------------

def unknown_arguments(args: int, passed: list[int]) -> str:
    """Finding 02: a block of `args` arguments a0, a1, ... (and no layers), used by one layer
    that passes the arguments z<i> for i in `passed`, which the block lacks; no `input:`. (The
    file: 2,000 arguments, z3 and z16 ... z1999 passed.)"""
    declared = ", ".join(f"a{i}: 1" for i in range(args))
    bad = ", ".join(f"z{i}: 1" for i in passed)
    return f"blocks:\n  wide:\n    args: {{{declared}}}\nlayers:\n- {{kind: wide, {bad}}}\n"


def misspelt(layers: int) -> str:
    """Finding 06: `layers` layers with two misspelt fields each (the file: 40,000)."""
    return "input: 8x8x3\nlayers:\n" + "- {kind: conv, filtres: 1, kernal: 3}\n" * layers


def unknown_kinds(blocks: int) -> str:
    """Finding 30: `blocks` blocks, each with a layer of an unknown kind (the file: 3,000)."""
    text = "".join(f"  blk{i}:\n    layers:\n      - {{kind: nosuchkind{i}}}\n" for i in range(blocks))
    return f"input: 8x8x3\nblocks:\n{text}layers:\n  - {{kind: relu}}\n"


def nested_blocks(depth: int) -> str:
    """Finding 04: `depth` levels of blocks, each repeating the next 3 times: 3^depth layers
    (the file: 9 levels, 19,683 layers)."""
    text = "".join(f"  d{i}:\n    layers:\n    - {{kind: d{i + 1}, repeat: 3}}\n" for i in range(depth))
    return f"input: 6x6x3\nlayers:\n- {{kind: d0}}\nblocks:\n{text}  d{depth}:\n    layers:\n    - {{kind: relu}}\n"


def block_instances(n: int) -> str:
    """Finding 31: `n` instances of a one-layer block (the file: 10,000)."""
    return ("input: 4x4x1\nblocks:\n  tiny:\n    layers:\n      - {kind: relu, name: a}\nlayers:\n"
            f"  - {{kind: tiny, name: t, repeat: {n}}}\n")


def relus(n: int) -> str:
    """Finding 32: a flat list of `n` one-line layers (the file: 139,810 of them, 2 MiB)."""
    return "input: 8x8x3\nlayers:\n" + "- {kind: relu}\n" * n


def variables(n: int, layer: str, instances: int) -> str:
    """`n` variables and `instances` instances of a one-layer block (`layer`, a flow mapping): a
    block instance, and each copy a repeat makes, once copied every variable (issue 15's class of
    finding 31: n x n)."""
    vars_ = ", ".join(f"v{i}: {i}" for i in range(n))
    return (f"input: 8x8x3\nvars: {{{vars_}}}\nblocks:\n  b:\n    layers:\n      - {layer}\n"
            f"layers:\n  - {{kind: b, repeat: {instances}}}\n")
