"""Shell completion (click's): commands, options and choices complete; scripts for bash, zsh, fish."""

from __future__ import annotations

import pytest
from conftest import run_process


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
