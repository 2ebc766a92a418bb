"""A training step's cost: backward MACs, what autograd keeps, gradients, optimizer state, peak memory.

A training step is one forward pass in training mode (training-only layers run: `--train`), the
backward pass of a loss over the network's outputs, and one optimizer step. Its figures:

* **Backward MACs**, per layer: the MACs of its activations' gradients (for each input that needs one:
  none for a layer reading the network's input) and of its weights' gradients, each a formula the
  kind gives (`Kind.backward_macs`). A step's MACs are the forward's plus the backward's (plus the
  forward MACs of checkpointed blocks, run again in the backward).
* **Saved activations**: what autograd keeps for the backward, op by op as torch computes each layer
  (`Kind.saved`, with the torch op of `torch_ops:`), counted as PyTorch's
  `torch.autograd.graph.saved_tensors_hooks` sees it: the bytes of the distinct storages of the saved
  tensors (an in-place result and its input, a view and its base are one storage), parameters and
  buffers left out. Every zoo spec matches PyTorch 2.13 to the byte (tests/torchref/training.json).
* **Memory**: parameters (and buffers), gradients, optimizer state (SGD none; momentum one copy of the
  trainable parameters; Adam and AdamW two, and a 4 B step counter per parameter tensor), and the peak
  of a step by liveness (`schedule`): forward outputs live until their last reader unless saved, saved
  tensors until the backward of the last layer that saved them, gradients of activations from the
  backward that makes them to the backward that reads them, gradients of weights from the backward on.
* **--amp**: mixed precision as in ZeRO (Rajbhandari et al. 2020, section 3.1, "16 bytes per
  parameter" for Adam): 2-byte values (activations, the working copy of the weights, gradients) with a
  float32 master copy of the weights in the optimizer state and float32 moments.

Nothing here runs torch: the rules were measured once (tests/measured/saved_kinds.py on every kind,
tests/torchref/measure_training.py on every zoo network) and are held to those figures by the tests.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from .errors import ArchcalcError, KindError, SpecError
from .formula import ZERO, Formula, q, scaled
from .kinds.base import ELEMENT_BYTES, Call, Saved
from .record import Frozen, Record

if TYPE_CHECKING:
    from .analysis import Analysis

#: optimizer -> (copies of the trainable parameters it keeps, what they are)
OPTIMIZERS: dict[str, tuple[int, str]] = {
    "sgd": (0, "plain SGD keeps no state"),
    "momentum": (1, "SGD with momentum keeps momentum_buffer, one copy of the trainable parameters"),
    "adam": (2, "Adam keeps exp_avg and exp_avg_sq, two copies of the trainable parameters, and a 4 B step "
                "counter per parameter tensor"),
    "adamw": (2, "AdamW keeps exp_avg and exp_avg_sq, two copies of the trainable parameters, and a 4 B step "
                 "counter per parameter tensor"),
}
#: torchvision's recipe for the zoo's CNNs (SGD, momentum 0.9)
DEFAULT_OPTIMIZER = "momentum"
#: bytes of a value, a weight's working copy and a gradient under --amp (float16 or bfloat16)
HALF = 2
#: bytes of the float32 master weights and moments under --amp
MASTER = 4
#: bytes of Adam's per-tensor step counter (torch keeps a float32 scalar tensor)
STEP_COUNTER = 4

NOTE = ("a training step: forward in training mode, backward, optimizer step; saved activations = the "
        "distinct storages autograd keeps for backward (PyTorch's saved_tensors_hooks), parameters and "
        "buffers left out")


class Options(Frozen):
    """What a training step is asked for: the optimizer, mixed precision, checkpointed blocks."""

    __slots__ = ("optimizer", "amp", "checkpoint")

    def __init__(self, optimizer: str = DEFAULT_OPTIMIZER, amp: bool = False, checkpoint: tuple[str, ...] = ()) -> None:
        if optimizer not in OPTIMIZERS:
            raise SpecError(f"unknown optimizer {optimizer!r}", hint=f"one of: {', '.join(OPTIMIZERS)}")
        self.optimizer, self.amp, self.checkpoint = optimizer, amp, tuple(checkpoint)


class Kept(Frozen):
    """One saved tensor of a layer, resolved: whose storage it is and its bytes at the step's batch."""

    __slots__ = ("saved", "storage", "bytes", "first")

    def __init__(self, saved: Saved, storage: Any, bytes: int, first: bool) -> None:
        self.saved, self.storage, self.bytes = saved, storage, bytes
        self.first = first  # the first layer (in forward order) to keep this storage: it is counted there


class LayerStep(Record):
    """One layer's part of a training step (rows of the analysis, by index)."""

    __slots__ = ("recorded", "backward", "call", "activation_grads", "weight_grads", "kept")

    def __init__(self, recorded: bool, backward: bool, call: Call, activation_grads: Formula,
                 weight_grads: Formula, kept: tuple[Kept, ...]) -> None:
        self.recorded = recorded          # autograd records it (it has trainable weights, or reads a gradient)
        self.backward = backward          # its backward runs (its output reaches a network output)
        self.call = call
        self.activation_grads, self.weight_grads = activation_grads, weight_grads  # MACs over the batch
        self.kept = kept

    @property
    def backward_macs(self) -> int:
        return self.activation_grads.value + self.weight_grads.value

    @property
    def saved_bytes(self) -> int:
        """The bytes of the storages this layer is the first to keep (they add up to the step's total)."""
        return sum(k.bytes for k in self.kept if k.first)


class Event(Frozen):
    """The memory held at one moment of a step, by what holds it."""

    __slots__ = ("phase", "at", "parts", "bytes")

    def __init__(self, phase: str, at: str, parts: tuple[tuple[str, int], ...]) -> None:
        self.phase, self.at, self.parts = phase, at, parts
        self.bytes = sum(v for _, v in parts)


PARTS = ("parameters", "gradients", "optimizer state", "saved activations", "other activations",
         "activation gradients", "optimizer temporaries")


class Step(Record):
    """The cost of one training step of an analysed network (see the module docstring)."""

    __slots__ = ("an", "options", "batch", "layers", "segments", "param_bytes", "buffer_bytes", "grad_bytes",
                 "optimizer_bytes", "master_bytes", "param_tensors", "saved_bytes", "saved_storages", "peak",
                 "peak_without_checkpoint", "events", "value_bytes")

    def __init__(self, **kw: Any) -> None:
        for k in self.__slots__:
            setattr(self, k, kw.get(k))

    @property
    def forward_macs(self) -> int:
        return sum(r.macs for r in self.an.rows) * self.batch // self.an.batch

    @property
    def activation_grad_macs(self) -> int:
        return sum(x.activation_grads.value for x in self.layers)

    @property
    def weight_grad_macs(self) -> int:
        return sum(x.weight_grads.value for x in self.layers)

    @property
    def backward_macs(self) -> int:
        return self.activation_grad_macs + self.weight_grad_macs

    @property
    def recompute_macs(self) -> int:
        """Forward MACs run again in the backward: the checkpointed blocks'."""
        rows = self.an.rows
        return sum(rows[i].macs for s in self.segments for i in range(s[1], s[2] + 1)) * self.batch // self.an.batch

    @property
    def step_macs(self) -> int:
        return self.forward_macs + self.backward_macs + self.recompute_macs

    @property
    def state_bytes(self) -> int:
        """What a step holds whatever the batch: parameters, buffers, gradients, optimizer state."""
        return self.param_bytes + self.buffer_bytes + self.grad_bytes + self.optimizer_bytes

    def to_dict(self) -> dict[str, Any]:
        """The `training_step` object of a JSON report."""
        o = self.options
        peak = self.peak
        d: dict[str, Any] = {
            "batch": self.batch, "optimizer": o.optimizer, "amp": o.amp,
            "checkpoint": [s[0] for s in self.segments],
            "forward_macs": self.forward_macs, "backward_macs": self.backward_macs,
            "backward_activation_macs": self.activation_grad_macs, "backward_weight_macs": self.weight_grad_macs,
            "recompute_macs": self.recompute_macs, "step_macs": self.step_macs, "step_flops": 2 * self.step_macs,
            "three_times_forward": 3 * self.forward_macs,
            "param_bytes": self.param_bytes, "buffer_bytes": self.buffer_bytes, "grad_bytes": self.grad_bytes,
            "optimizer_bytes": self.optimizer_bytes, "saved_bytes": self.saved_bytes,
            "saved_storages": self.saved_storages, "peak_bytes": peak.bytes,
            "peak_phase": peak.phase, "peak_at": peak.at, "peak_parts": dict(peak.parts),
        }
        if self.peak_without_checkpoint is not None:
            d["peak_bytes_without_checkpoint"] = self.peak_without_checkpoint.bytes
        return d


#: the op that makes new memory, for a kind whose usual torch op works in place
_OUT_OF_PLACE = {"add": "+"}


def _element_bytes(s: Saved, value: int) -> int:
    return value if s.dtype == "value" else ELEMENT_BYTES[s.dtype]


def _segments(an: Analysis, selectors: tuple[str, ...]) -> list[tuple[str, int, int]]:
    """(block instance path, first node, last node) of every checkpointed block instance: a selector is
    a depth (every block instance that many levels down) or a pattern over instance paths."""
    instances = an.graph.instances
    if not selectors:
        return []
    chosen: list[str] = []
    for sel in selectors:
        if sel.isdigit():
            depth = int(sel)
            hits = [p for p in instances if p.count("/") + 1 == depth]
        else:
            hits = [p for p in instances if fnmatchcase(p, sel)]
        if not hits:
            have = sorted({p.count("/") + 1 for p in instances})
            raise SpecError(f"--checkpoint {sel}: no block instance of {an.name} is selected",
                            hint=(f"block instances sit at depth {', '.join(map(str, have))} (e.g. --checkpoint "
                                  f"{have[0]}), or give a pattern such as '{next(iter(instances))}'"
                                  if instances else "this network has no blocks: nothing to checkpoint"))
        chosen += hits
    paths = [r.name for r in an.rows]
    spans = {}
    for p in set(chosen):
        idx = [i for i, n in enumerate(paths) if n.startswith(p + "/")]
        spans[p] = (idx[0], idx[-1])
    out: list[tuple[str, int, int]] = []
    for p in sorted(spans, key=lambda p: (spans[p][0], p.count("/"))):  # outermost first
        if any(p.startswith(o + "/") for o, _, _ in out):
            continue  # inside a checkpointed block already
        out.append((p, *spans[p]))
    return out


def step(an: Analysis, options: Options | None = None, *, torch: Mapping[str, str] | None = None,
         batch: int | None = None) -> Step:
    """The cost of a training step of `an` (a training pass: `analyze(..., training=True)`) at `batch`
    (default: the analysis's), with the torch ops of the spec's `torch_ops:` and `torch` (--torch-op)."""
    if not an.training:
        raise ArchcalcError("a training step's cost needs a training pass, in which training-only layers run",
                            hint="analyze(..., training=True), or --train")
    o = options or Options()
    batch = an.batch if batch is None else batch
    value = HALF if o.amp else an.bytes_per_value
    plan = _Plan(an, torch, batch, value)
    segments = _segments(an, o.checkpoint)
    n_tr = sum(r.trainable for i, r in enumerate(an.rows) if plan.reaches[i])
    param_b = HALF if o.amp else an.bytes_per_value
    moments = OPTIMIZERS[o.optimizer][0]
    moment_b = MASTER if o.amp else an.bytes_per_value
    master = MASTER * n_tr if o.amp else 0
    tensors = plan.param_tensors
    opt_bytes = moments * n_tr * moment_b + master + (STEP_COUNTER * tensors if o.optimizer.startswith("adam") else 0)
    t = an.totals
    kw = dict(an=an, options=o, batch=batch, layers=plan.layers, segments=segments,
              param_bytes=t.torch_params * param_b, buffer_bytes=t.buffers * (MASTER if o.amp else an.bytes_per_value),
              grad_bytes=n_tr * param_b, optimizer_bytes=opt_bytes, master_bytes=master, param_tensors=tensors,
              saved_bytes=plan.saved_bytes, saved_storages=len(plan.sizes_saved), value_bytes=value)
    s = Step(**kw)
    temp = n_tr * moment_b if o.optimizer.startswith("adam") else 0
    s.events = schedule(plan, s, segments, temp)
    s.peak = max(s.events, key=lambda e: e.bytes)
    if segments:
        s.peak_without_checkpoint = max(schedule(plan, s, [], temp), key=lambda e: e.bytes)
    return s


class _Plan:
    """Per node: the torch call, its output's storage, what it saves (resolved to storages), whether
    autograd records it and whether its backward runs; sizes at one batch."""

    def __init__(self, an: Analysis, torch: Mapping[str, str] | None, batch: int, value: int) -> None:
        from .profiles import TORCH_DEFAULT
        from .torch_ops import ops_for
        from .walk import kind_error
        self.an, self.batch, self.value = an, batch, value
        nodes, rows = an.graph.nodes, an.rows
        n = len(nodes)
        ops = ops_for(an, dict(torch or {}))
        self.grad = grad = [False] * n                # the output needs a gradient
        self.storage: list[Any] = list(range(n))      # the storage each output lives in
        self.sizes: dict[Any, int] = {}               # storage -> bytes
        self.consumers: list[list[int]] = [[] for _ in range(n)]
        self.param_tensors = 0
        layers: list[LayerStep] = []
        n_sym = q("N", batch) if batch != 1 else None
        first_saver: dict[Any, int] = {}
        # equal layers share one Kind object (graph.build): what they save and their backward are
        # asked once per input shapes and torch call, as the walk asks their forward figures once
        memo: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        for k, node in enumerate(nodes):
            for i in node.inputs:
                self.consumers[i].append(k)
        # backward runs where a gradient arrives: the output reaches a network output
        self.reaches = reaches = [False] * n
        for o in an.graph.outputs:
            reaches[o] = True
        for k in range(n - 1, -1, -1):
            if any(reaches[c] for c in self.consumers[k]):
                reaches[k] = True
        self.saved_by: list[list[Any]] = []
        for k, (node, row) in enumerate(zip(nodes, rows, strict=True)):
            kind = node.kind
            ins, out = list(row.input_shapes), row.output_shape
            grads = tuple(grad[i] and j not in kind.shape_only for j, i in enumerate(node.inputs))
            strided = tuple(nodes[i].kind.strided for i in node.inputs)
            call = Call(ops[k], grads, batch, strided)
            trainable = row.trainable > 0
            grad[k] = recorded = any(grads) or trainable
            mkey = (id(kind), row.input_shapes, call.op, grads, strided, reaches[k])
            known = memo.get(mkey)
            if known is None:
                tensors = sum(1 for w in kind.weights(ins, out) if w.trainable) if trainable else 0
                try:
                    known = memo[mkey] = (
                        tensors, kind.output_storage(call), kind.saved(ins, out, call) if recorded else [],
                        kind.backward_macs(ins, out, call) if recorded and reaches[k] else (ZERO, ZERO))
                except KindError as e:  # the layer cannot train so (BatchNorm over one value per channel)
                    raise kind_error(node, tuple(row.input_shapes), e, an.graph.instances) from None
            tensors, where_out, saved_list, (acts, weights) = known
            if trainable and reaches[k]:
                self.param_tensors += tensors
            base = self.storage[node.inputs[0]] if k and node.inputs else None
            if where_out == "inplace" and base in first_saver:
                # an earlier layer saved the input: PyTorch's backward would refuse it changed in place
                if ops[k] != TORCH_DEFAULT.get(kind.name):
                    raise kind_error(node, tuple(row.input_shapes), KindError(
                        f"{ops[k]} changes its input in place, but {rows[first_saver[base]].name} saved that tensor "
                        "for its backward: PyTorch would refuse the backward ('one of the variables needed for "
                        "gradient computation has been modified by an inplace operation')",
                        hint=f"say the torch op that makes new memory in the spec's torch_ops: "
                             f"{node.path}: {_OUT_OF_PLACE.get(kind.name, 'the op without (inplace=True)')}"),
                        an.graph.instances)
                where_out = "new"  # the kind's usual op (`+=`) cannot be in place here: torch code adds with `+`
            if where_out in ("view", "inplace") and base is not None:
                self.storage[k] = base
            else:
                self.sizes[k] = math.prod(out) * batch * value
            kept: list[Kept] = []
            keys: list[Any] = []
            if recorded:
                for j, s in enumerate(saved_list):
                    if s.source == "new":
                        key: Any = (k, j)
                        self.sizes[key] = s.elements.value * (batch if s.per_sample else 1) * _element_bytes(s, value)
                    elif s.source == "output":
                        key = self.storage[k]
                    else:
                        key = self.storage[node.inputs[s.source]]
                    first = key not in first_saver
                    first_saver.setdefault(key, k)
                    kept.append(Kept(s, key, self.sizes[key], first))
                    if key not in keys:
                        keys.append(key)
            self.saved_by.append(keys)
            if n_sym is not None:
                acts = scaled(n_sym, acts) if acts is not ZERO else acts
                weights = scaled(n_sym, weights) if weights is not ZERO else weights
            layers.append(LayerStep(recorded, recorded and reaches[k], call, acts, weights, tuple(kept)))
        self.layers = layers
        self.sizes_saved = {key: self.sizes[key] for key in first_saver}
        self.saved_bytes = sum(self.sizes_saved.values())
        # the last forward step that reads each storage (its creator, when nothing reads it)
        self.last_read: dict[Any, int] = {}
        for k in range(n):
            self.last_read[self.storage[k]] = max(self.last_read.get(self.storage[k], k), k)
            for i in nodes[k].inputs:
                s = self.storage[i]
                self.last_read[s] = max(self.last_read.get(s, 0), k)


def schedule(plan: _Plan, s: Step, segments: list[tuple[str, int, int]], temp: int) -> list[Event]:
    """The memory held at every moment of the step: forward layer by layer, the loss, backward layer by
    layer in reverse order (a checkpointed block is first run forward again, keeping what it saves), and
    the optimizer step.

    The batch and the network's outputs are held by the training loop throughout. A forward output is
    freed after its last reader unless a layer saved it; a saved tensor after the backward of the last
    layer that saved it (a checkpointed block saves nothing in the forward: the checkpoint keeps the
    block's inputs instead). An activation's gradient lives from the backward that makes it (for a
    reshape, an add or a concatenation, a view of the output's gradient) to the backward that reads it; a
    second gradient for one tensor is summed into one buffer. Weights' gradients appear at their layer's
    backward and stay through the optimizer step (zero_grad(set_to_none=True) frees them before the next
    forward); optimizer state is held throughout, as from the second step on. Temporaries inside an op
    are not counted, but for the optimizer's own (`temp`: Adam's sqrt(v) over every parameter at once).
    """
    an, nodes, layers, sizes = plan.an, plan.an.graph.nodes, plan.layers, plan.sizes
    n = len(nodes)
    fixed, opt = s.param_bytes + s.buffer_bytes, s.optimizer_bytes
    pinned = {plan.storage[0], *(plan.storage[o] for o in an.graph.outputs)}
    where = {k: seg for seg in segments for k in range(seg[1], seg[2] + 1)}
    refs: dict[Any, int] = {}
    for k in range(n):
        if k not in where:
            for key in plan.saved_by[k]:
                refs[key] = refs.get(key, 0) + 1
    seg_inputs: dict[str, set[Any]] = {}
    for name, a, b in segments:  # the checkpoint keeps what the block reads from outside it
        seg_inputs[name] = {plan.storage[i] for k in range(a, b + 1) for i in nodes[k].inputs if not a <= i <= b}
        for key in seg_inputs[name]:
            refs[key] = refs.get(key, 0) + 1
    held: dict[Any, int] = {}
    live: dict[int, list[int]] = {}  # id -> [bytes, holders] of every activation-gradient buffer
    events: list[Event] = []
    sums = {"held": 0, "saved": 0, "grads": 0, "buffers": 0}  # running totals: each moment costs O(1)

    def event(phase: str, at: str) -> None:
        saved_b = sums["saved"]
        events.append(Event(phase, at, (
            ("parameters", fixed), ("gradients", sums["grads"]), ("optimizer state", opt),
            ("saved activations", saved_b), ("other activations", sums["held"] - saved_b),
            ("activation gradients", sums["buffers"]), ("optimizer temporaries", 0))))

    def hold(key: Any, nbytes: int) -> None:
        unhold(key)
        held[key] = nbytes
        sums["held"] += nbytes
        if refs.get(key, 0) > 0:
            sums["saved"] += nbytes

    def unhold(key: Any) -> None:
        nbytes = held.pop(key, None)
        if nbytes is not None:
            sums["held"] -= nbytes
            if refs.get(key, 0) > 0:
                sums["saved"] -= nbytes

    def ref(key: Any, delta: int) -> None:
        before = refs.get(key, 0)
        refs[key] = before + delta
        if key in held and (before > 0) != (before + delta > 0):
            sums["saved"] += held[key] if before + delta > 0 else -held[key]

    def buffer(nbytes: int) -> list[int]:
        b = [nbytes, 1]
        live[id(b)] = b
        sums["buffers"] += nbytes
        return b

    def drop(b: list[int]) -> None:
        b[1] -= 1
        if b[1] == 0 and live.pop(id(b), None) is not None:
            sums["buffers"] -= b[0]

    def run(k: int, rename: Any, last: dict[Any, int], saving: bool, phase: str) -> None:
        """Node k runs forward: its output and its own saved tensors appear, then what was read last goes."""
        own = [key for key in plan.saved_by[k] if isinstance(key, tuple)]
        if plan.storage[k] == k:
            hold(rename(k), sizes[k])
        for key in own:
            hold(rename(key), sizes[key])
        event(phase, nodes[k].path)
        if not saving:
            for key in own:
                unhold(rename(key))  # made and dropped inside the op: a checkpointed block keeps nothing
        for st in {plan.storage[i] for i in (*nodes[k].inputs, k)}:
            key = rename(st)
            if last.get(st, k) <= k and refs.get(key, 0) <= 0 and key not in pinned:
                unhold(key)

    def same(key: Any) -> Any:
        return key

    for k in range(n):
        run(k, same, plan.last_read, k not in where, "forward")
    gbuf: dict[int, list[int]] = {o: buffer(sizes[plan.storage[o]] if plan.storage[o] == o else
                                            math.prod(an.rows[o].output_shape) * plan.batch * plan.value)
                                  for o in an.graph.outputs}
    event("loss", "")
    releases = {k: list(plan.saved_by[k]) for k in range(n)}
    for k in range(n - 1, 0, -1):
        x = layers[k]
        if not x.backward:
            continue
        seg = where.get(k)
        if seg is not None and k == max(j for j in range(seg[1], seg[2] + 1) if layers[j].backward):  # its first
            a, b = seg[1], seg[2]

            def rename(key: Any, a: int = a, b: int = b) -> Any:
                inside = (a <= key <= b) if isinstance(key, int) else a <= key[0] <= b
                return ("again", key) if inside else key
            last = {}
            for j in range(a, b + 1):
                for i in (*nodes[j].inputs, j):
                    last[plan.storage[i]] = j
            for j in range(a, b + 1):
                releases[j] = [rename(key) for key in plan.saved_by[j]]
                for key in releases[j]:
                    ref(key, 1)
            for j in range(a, b + 1):
                run(j, rename, last, True, "recompute")
        node, row = nodes[k], an.rows[k]
        mine = gbuf.pop(k, None)
        sums["grads"] += row.trainable * (HALF if s.options.amp else an.bytes_per_value)
        pending = []
        for i, g in zip(node.inputs, x.call.grads, strict=True):
            if not g:
                continue
            if node.kind.grad_is_view and mine is not None:
                mine[1] += 1
                new = mine
            else:
                new = buffer(math.prod(an.rows[i].output_shape) * plan.batch * plan.value)
            if i in gbuf:
                pending.append((i, new))
            else:
                gbuf[i] = new
        event("backward", node.path)
        if mine is not None:
            drop(mine)
        for i, new in pending:  # summed into one buffer
            drop(gbuf[i])
            drop(new)
            gbuf[i] = buffer(math.prod(an.rows[i].output_shape) * plan.batch * plan.value)
        freed = list(releases[k])
        if seg is not None and k == min(j for j in range(seg[1], seg[2] + 1) if layers[j].backward):  # its last
            freed += list(seg_inputs[seg[0]])
        for key in freed:
            ref(key, -1)
            if refs[key] <= 0 and key not in pinned:
                unhold(key)
    for b in list(live.values()):
        b[1] = 1
        drop(b)
    for key in [key for key in held if key not in pinned]:
        unhold(key)
    event("optimizer step", "")
    if temp:
        last_e = events[-1]
        events[-1] = Event(last_e.phase, last_e.at, tuple((p, v + temp if p == "optimizer temporaries" else v)
                                                          for p, v in last_e.parts))
    return events


# --- reports --------------------------------------------------------------------------------------

def _mib(n: int) -> str:
    from .render import human_bytes
    return human_bytes(n)


def describe(o: Options, dtype: str = "float32") -> str:
    """`SGD with momentum, float32`: the optimizer and the precision of a step."""
    opt = {"sgd": "SGD", "momentum": "SGD with momentum", "adam": "Adam", "adamw": "AdamW"}[o.optimizer]
    prec = "mixed precision (--amp: 2-byte values, float32 master weights)" if o.amp else dtype
    return f"{opt}, {prec}"


def describe_options(s: Step) -> str:
    """`batch 8, SGD with momentum, float32`: what the step was counted with."""
    return f"batch {s.batch}, {describe(s.options, s.an.dtype)}"


def first_layers(s: Step) -> list[str]:
    """Layers with MACs whose input needs no gradient: their input's gradient is not computed."""
    rows = s.an.rows
    return [rows[i].name for i, x in enumerate(s.layers) if x.backward and rows[i].macs and not any(x.call.grads)]


def torchinfo_pass_bytes(an: Analysis) -> int:
    """torchinfo 1.8's "Forward/backward pass size": twice the outputs of the layers with parameters
    (the output and its gradient, as it assumes), at the analysis's dtype and batch."""
    return sum(math.prod(r.output_shape) for r in an.rows if r.params) * an.batch * an.bytes_per_value * 2


def lines(s: Step) -> list[tuple[str, str]]:
    """The training step in `key  value` lines, for the totals of a report."""
    from .render import si
    f, b, r = s.forward_macs, s.backward_macs, s.recompute_macs
    firsts = first_layers(s)
    skipped = (f"; no gradient for the input of {', '.join(firsts[:3])}{' ...' if len(firsts) > 3 else ''} "
               "(it reads the network's input)" if firsts else "")
    ratio = s.step_macs / f if f else 0.0
    three = 3 * f
    off = 100 * (three - s.step_macs) / s.step_macs if s.step_macs else 0.0
    rule = (f" = {ratio:.3f} x forward, where the rule of thumb says 3 x ({three:,}: "
            f"{abs(off):.1f}% {'more' if off >= 0 else 'less'})" if f and s.step_macs else "")
    again = f" + forward of checkpointed blocks again {r:,}" if r else ""
    peak = s.peak
    parts = ", ".join(f"{k} {v:,}" for k, v in peak.parts if v)
    out = [
        ("Training step", f"{describe_options(s)}: a forward in training mode, the backward of a loss over "
                          "the outputs, one optimizer step"),
        ("Backward MACs", f"{b:,} ({si(b)}) = activations' gradients {s.activation_grad_macs:,} + weights' "
                          f"gradients {s.weight_grad_macs:,}{skipped}"),
        ("Step MACs", f"{s.step_macs:,} ({si(s.step_macs)}) = forward {f:,} + backward {b:,}{again}{rule}"),
        ("Step FLOPs", f"{2 * s.step_macs:,} ({si(2 * s.step_macs)}) = 2 x step MACs"),
        ("Parameters", f"{s.param_bytes:,} B ({_mib(s.param_bytes)})"
                       + (f" + buffers {s.buffer_bytes:,} B" if s.buffer_bytes else "")),
        ("Gradients", f"{s.grad_bytes:,} B ({_mib(s.grad_bytes)}): one for every trainable parameter"),
        ("Optimizer state", f"{s.optimizer_bytes:,} B ({_mib(s.optimizer_bytes)}): "
                            f"{OPTIMIZERS[s.options.optimizer][1]}"
                            + (f"; and the float32 master weights, {s.master_bytes:,} B" if s.master_bytes else "")),
        ("Saved activations", f"{s.saved_bytes:,} B ({_mib(s.saved_bytes)}) in {s.saved_storages:,} tensors: what "
                              "autograd keeps for the backward, as PyTorch's saved_tensors_hooks sees it (each "
                              "storage once; parameters and buffers left out)"),
        ("Peak memory", f"{peak.bytes:,} B ({_mib(peak.bytes)}) {where(peak)}: {parts}"),
    ]
    if s.segments:
        w = s.peak_without_checkpoint.bytes
        names = ", ".join(x[0] for x in s.segments[:4]) + (f" and {len(s.segments) - 4} more"
                                                           if len(s.segments) > 4 else "")
        out.append(("Checkpointing", f"{len(s.segments)} block instance{'s' * (len(s.segments) != 1)} ({names}) "
                                     f"run again in the backward: peak {peak.bytes:,} B instead of {w:,} B "
                                     f"({peak.bytes - w:+,}); {r:,} MACs more"))
    ti = torchinfo_pass_bytes(s.an) * s.batch // s.an.batch
    out.append(("torchinfo's estimate", f"'Forward/backward pass size' {ti:,} B: twice the outputs of the layers "
                                        "with parameters (as if each kept its output and its gradient), not what "
                                        "autograd keeps (docs/training.md)"))
    return out


def where(e: Event) -> str:
    """`at the backward of layer1/block1/conv1`, `at the optimizer step`."""
    return f"at the {e.phase}" + (f" of {e.at}" if e.at else "")


def row_figures(s: Step, row: Any) -> tuple[int, int]:
    """(backward MACs, saved bytes) of a row of `an.rows`, or of a folded block (its layers' sums)."""
    if row.node is not None:
        x = s.layers[row.index]
        return x.backward_macs, x.saved_bytes
    prefix = row.name + "/"
    mine = [s.layers[r.index] for r in s.an.rows if r.name.startswith(prefix)]
    return sum(x.backward_macs for x in mine), sum(x.saved_bytes for x in mine)


def layer_dict(s: Step, row: Any, formulas: bool = False) -> dict[str, Any]:
    """A layer's part of a training step in a JSON report; `formulas` adds how each figure is made."""
    bwd, kept = row_figures(s, row)
    d: dict[str, Any] = {"backward_macs": bwd, "saved_bytes": kept}
    if formulas and row.node is not None:
        x = s.layers[row.index]
        d["backward_formulas"] = {"activations": x.activation_grads.explain(), "weights": x.weight_grads.explain()}
        d["saved"] = [{"what": k.saved.what, "bytes": k.bytes, "storage_of": _whose(s, k.storage),
                       "counted_here": k.first} for k in x.kept]
    return d


def _whose(s: Step, key: Any) -> str:
    rows = s.an.rows
    if isinstance(key, tuple):
        return rows[key[0]].name
    return rows[key].name if key else "the network's input"


def explain_row(s: Step, row: Any) -> list[str]:
    """`--explain` lines of one (unfolded) row: its backward MACs' formulas and what it saves."""
    x = s.layers[row.index]
    if not x.recorded:
        return ["  backward  none: nothing before it needs a gradient, so autograd does not record it"] if row.index \
            else []
    out = []
    if x.backward:
        parts = []
        if x.activation_grads is not ZERO:
            parts.append(f"activations {x.activation_grads.explain()}")
        elif row.macs:
            parts.append("activations 0 (its input needs no gradient)")
        if x.weight_grads is not ZERO:
            parts.append(f"weights {x.weight_grads.explain()}")
        if parts:
            out.append("  backward  " + "; ".join(parts))
    else:
        out.append("  backward  none: its output reaches no output of the network")
    for k in x.kept:
        sv = k.saved
        if sv.source == "new":
            each = _element_bytes(sv, s.value_bytes)
            e = sv.elements
            count = (f"N·{e.symbolic()} = {s.batch}·{e.numeric()}" if sv.per_sample and s.batch != 1
                     else e.explain())
            what = f"{sv.what} ({count} values x {each} B{'' if sv.dtype == 'value' else ', ' + sv.dtype})"
        else:
            what = f"{sv.what} (the storage of {_whose(s, k.storage)})"
        shared = "" if k.first else ", kept already by an earlier layer"
        out.append(f"  saved     {what}: {k.bytes:,} B{shared}")
    return out


__all__ = ["DEFAULT_OPTIMIZER", "NOTE", "OPTIMIZERS", "Event", "Kept", "LayerStep", "Options", "Step",
           "describe", "describe_options", "explain_row", "layer_dict", "lines", "row_figures", "schedule", "step",
           "torchinfo_pass_bytes", "where"]
