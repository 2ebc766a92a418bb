"""Layer kinds: each module here defines `Kind` subclasses, which register themselves.

Importing this package imports every sibling module, so adding a kind is adding (or
extending) one module: nothing else lists the kinds.
"""

import importlib
import pkgutil

from .base import OTHER_OPS, REGISTRY, Field, FieldError, Kind, Weight, lookup

for _m in pkgutil.iter_modules(__path__):
    if _m.name != "base":
        importlib.import_module(f"{__name__}.{_m.name}")

__all__ = ["OTHER_OPS", "REGISTRY", "Field", "FieldError", "Kind", "Weight", "lookup"]
