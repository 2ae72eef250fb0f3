"""Command-line flags read from the settings' declarations, and the values they were given.

`add_flags` adds one flag per declared setting that names a `flag` (its type, choices, aliases
and help from the declaration); `given` reads back the flags a user actually passed, by field
name, so a preset or a config's defaults fill in the rest.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any

from rnnviz.common.settings import Setting, declared

_TYPES: dict[str, type] = {"int": int, "float": float}


def add_flag(parser: argparse.ArgumentParser, name: str, s: Setting, *, help: str = "") -> None:
    """`--<flag>` for one setting; its value lands in `args.<field name>`, None when not given."""
    text = help or s.help or s.label
    option = f"--{s.flag}"
    if s.kind == "bool":
        parser.add_argument(option, dest=name, action="store_true", default=None, help=text)
    elif s.kind == "choice":  # checked by the config, which names the value and the choices
        metavar = "{" + ",".join([*s.options(), *s.aliases]) + "}"
        parser.add_argument(option, dest=name, metavar=metavar, help=text)
    else:
        span = f"{text} ({s.describe_range()})"
        parser.add_argument(option, dest=name, type=_TYPES[s.kind], help=span)


def add_flags(parser: argparse.ArgumentParser, *classes: type) -> None:
    """A flag for every declared setting of `classes` that names one."""
    for cls in classes:
        for name, s in declared(cls):
            if s.flag is not None:
                add_flag(parser, name, s)


def given(
    args: argparse.Namespace, cls: type, names: Iterable[str] | None = None
) -> dict[str, Any]:
    """{field: value} for the flags of `cls` the user passed (optionally only `names`)."""
    wanted = set(names) if names is not None else None
    values = {}
    for name, s in declared(cls):
        if s.flag is None or (wanted is not None and name not in wanted):
            continue
        value = getattr(args, name, None)
        if value is not None:
            values[name] = value
    return values
