"""NumPy forwards of every layer kind, written apart from the analytic code on purpose.

This package is the executor's half of the witness: it knows each kind's fields but never
calls `out_shape`, `weights` or `macs`. Output geometry comes from the arrays themselves
(pad, then slide), weight shapes from the fields and the actual input array, and every
kernel multiplication goes through the `Tally` so the count is what actually ran.

Arrays are NHWC (batch first, channels last); flat vectors are (N, n). Weight layouts
(the keys of an `.npz` are `layer/weight`, e.g. `block1/conv1/conv/kernel`):

    conv       kernel (f_h, f_w, n_c/g, n_c')   bias (n_c',)     output channel o is in group o // (n_c'/g)
    depthwise  kernel (f_h, f_w, n_c·m)          bias (n_c·m,)    output channel c·m + k reads input channel c
    convtranspose  kernel (f_h, f_w, n_c'/g, n_c)  bias (n_c',)  input channel i feeds group i // (n_c/g)
                                                                  (torch's (n_c, n_c'/g, f_h, f_w) moved)
    dense      kernel (n_in, n_out)              bias (n_out,)    flatten order is H, W, C (NHWC)
    batchnorm  gamma, beta (C,) trainable;  mean, var (C,) non-trainable
    layernorm, groupnorm  gamma (C,), beta (C,) when affine (layernorm: beta when bias)
    scale      gamma (C,)                        prelu  slope (C,) per channel, else (1,)

One module per family of kinds, mirroring `archcalc/kinds/` (conv.py here runs what
kinds/conv.py counts); each registers its forwards with `@forward`, and importing this package
imports them all. Imported only by `execute.py`, so numpy stays off the analytic path.
"""

from __future__ import annotations

import importlib
import pkgutil

from .base import FORWARDS, Forward, GeometryError, Tally, WeightShapes, forward, same_shape

for _m in pkgutil.iter_modules(__path__):
    if _m.name != "base":
        importlib.import_module(f"{__name__}.{_m.name}")

__all__ = ["FORWARDS", "Forward", "GeometryError", "Tally", "WeightShapes", "forward", "same_shape"]
