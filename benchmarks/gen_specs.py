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
