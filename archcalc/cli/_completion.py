"""Shell completion of spec arguments: file names and the zoo's model names, together.

Not a command: the leading underscore keeps `LazyGroup` from listing it, and nothing here is
imported unless the shell asks for completions (`_ARCHCALC_COMPLETE` is set).

click's own bash script drops every other candidate when one asks for file names (it resets
the reply and falls back to readline's file completion), so `archcalc summarize v<TAB>` could
offer either the zoo's `vgg16` or the files, never both. The script below adds the files to
the reply instead; zsh's and fish's scripts already combine them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # click.shell_completion is imported only when the shell asks
    from click.shell_completion import CompletionItem

_SOURCE_BASH = """\
%(complete_func)s() {
    local IFS=$'\\n'
    local response

    response=$(env COMP_WORDS="${COMP_WORDS[*]}" COMP_CWORD=$COMP_CWORD \
%(complete_var)s=bash_complete $1)

    for completion in $response; do
        IFS=',' read type value <<< "$completion"

        if [[ $type == 'dir' ]]; then
            COMPREPLY+=($(compgen -d -- "$value"))
            compopt -o filenames
        elif [[ $type == 'file' ]]; then
            COMPREPLY+=($(compgen -f -- "$value"))
            compopt -o filenames
        elif [[ $type == 'plain' ]]; then
            COMPREPLY+=($value)
        fi
    done

    return 0
}

%(complete_func)s_setup() {
    complete -o nosort -F %(complete_func)s %(prog_name)s
}

%(complete_func)s_setup;
"""


def register() -> None:
    """Use the bash script above for `_ARCHCALC_COMPLETE=bash_source` and bash completions."""
    from click.shell_completion import BashComplete, add_completion_class

    class Bash(BashComplete):
        source_template = _SOURCE_BASH

    add_completion_class(Bash, "bash")


def zoo_names(incomplete: str) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem

    from ..zoo import models, names
    # a family's variants only once its name is typed in full (densenet@...), so the list stays short
    found = models() if "@" in incomplete else names()
    return [CompletionItem(n, help="shipped with archcalc") for n in found if n.startswith(incomplete)]


def complete_spec(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """A spec argument: the zoo's names that start with what is typed, and file names."""
    from click.shell_completion import CompletionItem
    return [*zoo_names(incomplete), CompletionItem(incomplete, type="file")]


def complete_kind(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    from click.shell_completion import CompletionItem

    from .. import KINDS
    return [CompletionItem(k) for k in KINDS if k.startswith(incomplete)]


def complete_zoo_name(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    return zoo_names(incomplete)


__all__ = ["complete_kind", "complete_spec", "complete_zoo_name", "register"]
