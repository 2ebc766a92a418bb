"""The model zoo: the specs shipped with archcalc, found by name.

The repository's specs/ folder is the one source of the zoo. An installed archcalc carries the
same files as `archcalc/specs` (setup.py maps the folder into the wheel, every *.yaml in it), so
`archcalc summarize vgg16` works with no checkout; in a checkout or an editable install the
folder is read where it stands. A zoo name is a spec's path under that folder without its
suffix: `vgg16`, `examples/inception_module`.

A name is looked up only when no file of that name exists: a name that is also a file path
means the file, so a user's own `vgg16` is never shadowed by the zoo. A name with a suffix
(`vgg16.yaml`) is always a path: a mistyped path to one's own file must not quietly become
the zoo's model (the error names the zoo's, instead).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUFFIXES = (".yaml", ".yml")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*(/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*$")


def root() -> Path | None:
    """The folder the zoo is read from: the installed package's, else the checkout's specs/."""
    here = Path(__file__).resolve().parent
    if (here / "specs").is_dir():
        return here / "specs"
    repo = here.parent  # a checkout, or an editable install of one
    if (repo / "specs").is_dir() and (repo / "pyproject.toml").is_file():
        return repo / "specs"
    return None


def _files(base: Path) -> list[Path]:
    return sorted(p for p in base.rglob("*") if p.suffix in SUFFIXES and p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(base).parts))


def name_of(path: Path, base: Path) -> str:
    return path.relative_to(base).with_suffix("").as_posix()


_INPUT = re.compile(r"^input\s*:", re.M)


def is_library(path: Path) -> bool:
    """A block library (what `include:` names: blocks, no input or layers) is not a model.
    Told from the text, without parsing, so listing the zoo stays cheap."""
    try:
        return _INPUT.search(path.read_text(encoding="utf-8")) is None
    except (OSError, UnicodeDecodeError):
        return False


def names() -> list[str]:
    """Every shipped model's spec name, sorted (top-level models first, then each subfolder's);
    block libraries are left out. A spec's variants are `models()`."""
    base = root()
    if base is None:
        return []
    return sorted((name_of(p, base) for p in _files(base) if not is_library(p)), key=_order)


def _order(name: str) -> tuple[int, list[tuple[str, int]]]:
    """Top-level models first, numbers in names by value: resnet18, resnet34, ..., resnet152."""
    parts = re.findall(r"(\D*)(\d*)", name)
    return name.count("/"), [(a, int(b) if b else -1) for a, b in parts]


def find(name: str) -> Path | None:
    """The shipped spec a zoo name means, or None. Only names: `..`, absolute paths and
    anything that is not a plain relative name are never looked up."""
    base = root()
    if base is None or not _NAME.match(name) or ".." in name.split("/") or name.endswith(SUFFIXES):
        return None
    for suffix in SUFFIXES:
        p = base / f"{name}{suffix}"
        try:
            if p.is_file():
                return p
        except OSError:  # a name too long for the file system names no shipped spec
            return None
    return None


def suggest(missing: str) -> str | None:
    """A hint for a path that does not exist but whose file name is a zoo spec's
    (`specs/vgg16.yaml` outside a checkout): give the name alone."""
    stem = Path(missing).stem
    for n in names():
        if n == stem or n.rsplit("/", 1)[-1] == stem:
            return (f"archcalc ships '{n}': give its name alone (e.g. `archcalc summarize {n}`); "
                    "`archcalc zoo` lists the models")
    return None


@dataclass
class Figure:
    """One declared figure of a zoo spec's `expect:` block."""

    key: str
    value: Any
    tolerance: int
    source: str


@dataclass
class Entry:
    """What `archcalc zoo` shows of a shipped spec: its names, source and declared figures."""

    name: str
    path: Path
    model: str
    source: str
    header: list[str] = field(default_factory=list)
    figures: dict[str, Figure] = field(default_factory=dict)

    @property
    def params(self) -> Figure | None:
        """The headline parameter count: all parameters, else the trainable ones."""
        return self.figures.get("params") or self.figures.get("trainable_params")

    @property
    def macs(self) -> Figure | None:
        return self.figures.get("macs")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "model": self.model, "path": str(self.path), "source": self.source,
                "figures": {k: {"value": list(f.value) if isinstance(f.value, tuple) else f.value,
                                "tolerance": f.tolerance, "source": f.source} for k, f in self.figures.items()}}


def _header(text: str) -> list[str]:
    """The comment lines at the top of a spec: what the model is, its variant and sources."""
    out = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        out.append(line[1:].removeprefix(" ").rstrip())
    return out


def _variants(root_: Any) -> dict[str, Any]:
    """A spec's `variants:` as written: name -> its mapping (the spec loader checks them)."""
    from .source import LMap
    v = root_.get("variants")
    return {str(k): x for k, x in v.items() if isinstance(x, LMap)} if isinstance(v, LMap) else {}


def entry(name: str) -> Entry:
    """Read one shipped model: a spec's header, `name:`, `source:` and `expect:` block, or with
    `NAME@VARIANT` that variant's name and `expect:` (SpecError if the name is not in the zoo
    or its block is malformed)."""
    from .check import parse_expect
    from .errors import SpecError, did_you_mean, short
    from .source import parse, read_text
    base_name, _, variant = name.partition("@")
    path = find(base_name)
    if path is None:
        raise SpecError(f"no model named '{short(name)}' in the zoo", hint=did_you_mean(name, models(), "models"))
    shown, text = read_text(path)
    src = parse(text, shown)
    root_ = src.root
    model = root_.get("name") if isinstance(root_.get("name"), str) else path.stem
    block = root_
    if variant:
        v = _variants(root_).get(variant)
        if v is None:
            raise SpecError(f"{base_name} has no variant '{short(variant)}'",
                            hint=did_you_mean(variant, list(_variants(root_)), "variants"))
        model = v.get("name") if isinstance(v.get("name"), str) else f"{model} @{variant}"
        block = v
    figures = {e.key: Figure(e.key, e.value, e.tolerance, e.source) for e in parse_expect(block)}
    source = root_.get("source") if isinstance(root_.get("source"), str) else ""
    if not source:  # the source of its headline figure
        first = figures.get("params") or figures.get("trainable_params") or next(iter(figures.values()), None)
        source = first.source if first else ""
    full = name_of(path, root() or path.parent) + (f"@{variant}" if variant else "")
    return Entry(full, path, model, source, _header(text), figures)


def models() -> list[str]:
    """Every shipped model: each spec's name, and `NAME@VARIANT` for each variant it declares
    (the spec's own default setting listed only when it declares figures of its own)."""
    from .source import parse, read_text
    base = root()
    out: list[str] = []
    for n in names():
        path = find(n)
        text = read_text(path)[1] if path is not None else ""
        variants = list(_variants(parse(text, str(path)).root)) if "variants:" in text else []
        if not variants or re.search(r"^(expect|budget)\s*:", text, re.M):
            out.append(n)
        out += [f"{n}@{v}" for v in variants]
    return out if base is not None else []


def entries() -> list[Entry]:
    return [entry(n) for n in models()]


__all__ = ["Entry", "Figure", "entries", "entry", "find", "is_library", "models", "names", "root", "suggest"]
