"""Memory: parameter and activation bytes per layer, and the peak activation memory of inference.

The schedule of this analytic peak (framework-neutral; the executor runs nodes in the same order
with the same liveness, but writes element-wise outputs over inputs nobody else reads and needs
scratch, so it estimates its own peak: docs/executor.md):

* nodes run one at a time in `graph.nodes` order (a topological order; node 0 is the input);
* every node's output is its own buffer of `elements x batch x bytes_per_value` bytes, even when
  a framework could make it a view or compute it in place (flatten, dropout, ReLU);
* a tensor is live from the step that produces it to the step of its last consumer, inclusive
  (`liveness(graph)[i]`); a graph output stays live to the end (`len(graph.nodes)`); a tensor
  nobody consumes and that is not an output is freed right after the step that produced it;
* the bytes held at step k are the output being produced by node k plus every earlier tensor
  t < k with `last_use[t] >= k` (its inputs are still live while it runs);
* the peak is the largest of those sums over all steps; the input counts (step 0 holds it alone);
* a node that does not run in this pass (training-only, at inference: `Graph.inactive`) holds
  nothing and reads nothing, so it keeps no input alive.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from .record import Frozen

if TYPE_CHECKING:
    from .analysis import Analysis, Row
    from .graph import Graph

NOTE = ("peak activation memory of inference: nodes run in spec order, each output its own buffer, "
        "freed after its last consumer has run; graph outputs kept to the end; the input counts")


def liveness(graph: Graph) -> list[int]:
    """For every node, the index of the last node that reads its output.

    A graph output gets `len(graph.nodes)` (live to the end); a node nobody reads, and that is
    not an output, gets its own index (freed as soon as it is produced).
    """
    n = len(graph.nodes)
    last = list(range(n))
    inactive = graph.inactive
    for k, node in enumerate(graph.nodes):
        if inactive and k in inactive:
            continue
        for i in node.inputs:
            if k > last[i]:
                last[i] = k
    for o in graph.outputs:
        last[o] = n
    return last


class Peak(Frozen):
    """The peak of a schedule: bytes, the node running when it is reached, and what is live."""

    __slots__ = ("bytes", "at", "index", "live")

    def __init__(self, bytes: int, at: str, index: int, live: tuple[str, ...]) -> None:
        self.bytes = bytes
        self.at = at              # path of the node being run at the peak
        self.index = index
        self.live = live          # paths of the tensors held at the peak (the one being produced last)


def step_bytes(an: Analysis) -> list[int]:
    """Bytes held at every step of the schedule (see the module docstring)."""
    graph = an.graph
    sizes = _sizes(an)
    n = len(graph.nodes)
    freed = [0] * (n + 1)  # bytes released right after step k (an int a step, not a list of tensors)
    for t, lu in enumerate(liveness(graph)):
        freed[lu] += sizes[t]
    held = 0
    out = []
    for k in range(n):
        held += sizes[k]
        out.append(held)
        held -= freed[k]
    return out


def peak_detail(an: Analysis) -> Peak:
    steps = step_bytes(an)
    k = max(range(len(steps)), key=lambda i: (steps[i], -i))
    last = liveness(an.graph)
    nodes = an.graph.nodes
    live = tuple(nodes[t].path for t in range(k) if last[t] >= k) + (nodes[k].path,)
    return Peak(steps[k], nodes[k].path, k, live)


def peak(an: Analysis) -> tuple[int, str]:
    """(peak activation bytes, path of the node running at the peak); the first step if tied."""
    p = peak_detail(an)
    return p.bytes, p.at


def _sizes(an: Analysis) -> list[int]:
    """Output bytes of every node of the (unfolded) graph (none for a node that does not run)."""
    inactive = an.graph.inactive
    return [0 if inactive and r.index in inactive else math.prod(r.output_shape) * an.batch * an.bytes_per_value
            for r in an.rows]


def param_bytes(an: Analysis, row: Row) -> int:
    """Bytes of a row's parameters (trainable and not) in the analysis dtype."""
    return row.params * an.bytes_per_value


def input_bytes(an: Analysis) -> int:
    """Bytes of the network's input over the batch (torchinfo's "Input size")."""
    return math.prod(an.input_shape) * an.batch * an.bytes_per_value


def activation_bytes(an: Analysis, row: Row) -> int:
    """Bytes of a row's output(s) over the batch (a folded row: all its layers' outputs)."""
    return row.activation_elems * an.batch * an.bytes_per_value


__all__ = ["NOTE", "Peak", "activation_bytes", "input_bytes", "liveness", "param_bytes", "peak", "peak_detail",
           "step_bytes"]
