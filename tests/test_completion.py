"""Shell completion: commands, options, choices, spec files and zoo names complete; scripts for bash, zsh, fish."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, run_process


def complete(words: str, cword: int) -> list[str]:
    p = run_process(env={"_ARCHCALC_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(cword)})
    assert p.returncode == 0, p.stderr
    return p.stdout.splitlines()


def test_completes_commands_and_choices() -> None:
    assert "plain,graph" in complete("archcalc gr", 1)
    assert {"plain,mermaid", "plain,dot"} <= set(complete("archcalc graph x --format ", 4))
    assert complete("archcalc plot specs/v", 2) == ["file,specs/v"]   # SPEC completes as a file


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(shell: str) -> None:
    p = run_process(env={"_ARCHCALC_COMPLETE": f"{shell}_source"})
    assert p.returncode == 0 and "_ARCHCALC_COMPLETE" in p.stdout


def spec_commands() -> dict[str, str]:
    """command -> the name of its argument that takes specs (found, not listed by hand)."""
    import click

    from archcalc.cli import cli
    ctx = click.Context(cli)
    out = {}
    for name in cli.list_commands(ctx):
        cmd = cli.get_command(ctx, name)
        for p in cmd.params:
            if isinstance(p, click.Argument) and (p.name in ("spec", "specs", "paths") or "SPEC" in (p.metavar or "")):
                out[name] = p.name
    return out


def test_every_spec_argument_completes_zoo_names_and_files() -> None:
    found = spec_commands()
    assert {"summarize", "compare", "sweep", "check", "run", "verify", "graph", "plot"} <= set(found)
    for name in found:
        got = complete(f"archcalc {name} vg", 2)
        assert got == ["plain,vgg16", "plain,vgg19", "file,vg"], name
        assert complete(f"archcalc {name} examples/inception_n", 2) == [
            "plain,examples/inception_naive", "file,examples/inception_n"], name
    # a later argument of compare and check completes the same way
    assert complete("archcalc compare vgg16 res", 3)[:2] == ["plain,resnet18", "plain,resnet34"]


def test_zoo_and_kinds_complete_their_names() -> None:
    assert complete("archcalc zoo mobilenet", 2) == ["plain,mobilenet_v1", "plain,mobilenet_v2", "plain,mobilenet_v3"]
    assert "plain,conv" in complete("archcalc kinds co", 2)


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_bash_offers_files_and_zoo_names_together(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """click's own bash script drops the other candidates when one asks for files; ours adds them."""
    script = run_process(env={"_ARCHCALC_COMPLETE": "bash_source"}).stdout
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "archcalc"
    exe.write_text(f"#!/bin/sh\nPYTHONPATH={ROOT} exec {sys.executable} -m archcalc \"$@\"\n")
    exe.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    (work / "vgg_mine.yaml").write_text("")
    (work / "other.yaml").write_text("")
    (tmp_path / "s.bash").write_text(script)
    test = ('source ../s.bash; COMP_WORDS=(archcalc summarize vg); COMP_CWORD=2; '
            '_archcalc_completion archcalc; printf "%s\\n" "${COMPREPLY[@]}"')
    p = subprocess.run(["bash", "--norc", "--noprofile", "-c", test], cwd=work, text=True, capture_output=True,
                       env=dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}"), timeout=60)
    assert p.returncode == 0, p.stderr
    assert sorted(p.stdout.split()) == ["vgg16", "vgg19", "vgg_mine.yaml"]
