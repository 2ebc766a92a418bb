"""Shared fixtures: the repository root, a CLI runner, and spec-from-text helpers."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, settings

import archcalc
from archcalc.cli import cli

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
#: block libraries (what specs `include:`; blocks only): specs/lib/
LIBRARIES = sorted((SPECS / "lib").glob("*.yaml"))
#: every spec file under specs/, libraries left out
SPEC_PATHS = sorted(p for p in SPECS.rglob("*") if p.suffix in (".yaml", ".yml") and p not in LIBRARIES)


def zoo_settings() -> list[tuple[Path, str | None]]:
    """Every shipped spec in every setting `archcalc check` holds it to: each variant, and the
    default setting when the top level declares figures (archcalc.check.settings)."""
    from archcalc.check import settings
    return [(p, v) for p in SPEC_PATHS for v in settings(archcalc.load(p))]


def setting_id(p: Path, v: str | None) -> str:
    """`resnet50.yaml@resnext50_32x4d`: a test id, as the command line names the setting."""
    return str(p.relative_to(SPECS)) + (f"@{v}" if v else "")

settings.register_profile("ci", derandomize=True, max_examples=50, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _no_width_from_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    """Piped output is laid out for $COLUMNS when it is set: a test that wants a width sets it,
    and one exported by the caller's shell must not fit every golden to it."""
    monkeypatch.delenv("COLUMNS", raising=False)


def runner() -> CliRunner:
    """A CLI runner whose result keeps stdout and stderr apart on every supported click:
    8.2 always does; 8.1 (the declared lower bound) mixes them unless told not to."""
    if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    return CliRunner()


def run(*args: str, input: str | None = None) -> Result:
    """Invoke the CLI in-process, stdout and stderr separate."""
    return runner().invoke(cli, list(args), input=input, catch_exceptions=False)


def run_process(*args: str, input: str | None = None, env: dict[str, str] | None = None
                ) -> subprocess.CompletedProcess[str]:
    """Run `python -m archcalc` in a fresh process from the repository root."""
    e = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run([sys.executable, "-m", "archcalc", *args], input=input, text=True,
                          capture_output=True, cwd=ROOT, env=e, timeout=120)


def run_on_terminal(*args: str, env: dict[str, str], stream: str = "stdout"
                    ) -> tuple[subprocess.CompletedProcess[bytes], bytes]:
    """Run `python -m archcalc ARGS` with `stream` ("stdout" or "stderr") on a terminal (a pty):
    the finished process (the other stream captured) and what the terminal received."""
    import pty
    master, slave = pty.openpty()
    other = "stderr" if stream == "stdout" else "stdout"
    try:
        p = subprocess.Popen([sys.executable, "-m", "archcalc", *args], cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": str(ROOT), **env},
                             **{stream: slave, other: subprocess.PIPE})  # type: ignore[call-overload]
        os.close(slave)
        seen = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal is gone once the child has exited and everything is read
                break
            if not chunk:
                break
            seen += chunk
        out, err = p.communicate(timeout=120)
    finally:
        os.close(master)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err), seen


def analyze_text(text: str, **kw: Any) -> archcalc.Analysis:
    return archcalc.analyze(archcalc.load(text=text, path="test.yaml"), **kw)


@pytest.fixture
def write(tmp_path: Path):  # type: ignore[no-untyped-def]
    """write(text, name='spec.yaml') -> path of a spec file holding text."""
    def _write(text: str, name: str = "spec.yaml") -> Path:
        p = tmp_path / name
        p.write_text(text, encoding="utf-8")
        return p
    return _write


GOLDEN = Path(__file__).resolve().parent / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="Rewrite tests/golden/* from the current output (review the diff!).")
    parser.addoption("--fuzz-seconds", type=float, default=0,
                     help="Run the fuzz tests (-m fuzz) on random inputs for this long in all, shared "
                          "among them, instead of their bounded, derandomised budget (tests/fuzzing.py).")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """How many fuzz tests share --fuzz-seconds (tests/fuzzing.py: `fuzz`)."""
    config.stash[FUZZ_TESTS] = sum(1 for item in items if item.get_closest_marker("fuzz"))


FUZZ_TESTS = pytest.StashKey[int]()


@pytest.fixture
def golden(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """golden(name, text): compare text with tests/golden/name, or rewrite it with --update-golden."""
    update = request.config.getoption("--update-golden")

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if update:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        assert path.exists(), f"missing golden file {name}: run pytest --update-golden"
        assert text == path.read_text(encoding="utf-8"), f"output differs from tests/golden/{name}"
    return check
