"""One declaration per setting: a config field's label, help, bounds, URL key and CLI flag.

A config dataclass declares each setting once, with `setting(default, label=..., low=...,
high=..., url=..., flag=...)`; the `Setting` rides in the field's metadata. `Config`, the base of
every config, validates each declared field from it in `__post_init__` (a clear ValueError naming
the bad value and what is allowed), and gives `to_dict`/`from_dict`. The URL state, the Train
page's widgets and the CLI flags are all read from the same declarations (`declared`), so a new
hyperparameter is one line in its dataclass plus its use.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from rnnviz.common.text import shown

Choices = Callable[[], Mapping[str, str]]  # key -> title; called late, so registries load lazily


@dataclass(frozen=True)
class Setting:
    """How one config field is shown, bounded and written; `kind` comes from its default."""

    label: str  # the widget label
    kind: str  # "choice", "bool", "int" or "float"
    help: str = ""  # one line under the widget and in --help
    low: float | None = None  # inclusive bounds of a number
    high: float | None = None
    step: float = 1.0  # the widget's +/- step
    choices: Choices | None = None  # for kind "choice"
    aliases: Mapping[str, str] = field(default_factory=dict)  # other accepted names -> key
    url: str | None = None  # query parameter; None: never part of a link
    flag: str | None = None  # CLI flag without its dashes; None: no flag
    group: str = ""  # the column of controls it belongs to

    def options(self) -> Mapping[str, str]:
        return {} if self.choices is None else self.choices()

    def describe_range(self) -> str:
        if self.kind == "choice":
            return f"one of {list(self.options())}"
        return f"between {_text(self.low)} and {_text(self.high)}"


def setting(
    default: Any,
    *,
    label: str,
    help: str = "",
    low: float | None = None,
    high: float | None = None,
    step: float = 1.0,
    choices: Choices | None = None,
    aliases: Mapping[str, str] | None = None,
    url: str | None = None,
    flag: str | None = None,
    group: str = "",
) -> Any:
    """A dataclass field whose default is `default` and whose metadata declares the setting."""
    kind = _kind_of(default, choices)
    if kind in ("int", "float") and (low is None or high is None):
        raise TypeError(f"setting {label!r}: numbers need both low and high")
    declared = Setting(
        label, kind, help, low, high, step, choices, dict(aliases or {}), url, flag, group
    )
    return field(default=default, metadata={"setting": declared})


def declared(cls: type) -> list[tuple[str, Setting]]:
    """(field name, Setting) for every declared field of a config class, in field order."""
    return [
        (f.name, f.metadata["setting"]) for f in dataclasses.fields(cls) if "setting" in f.metadata
    ]


def check_value(name: str, s: Setting, value: Any) -> Any:
    """`value` as the setting's type (aliases resolved, ints as floats); ValueError otherwise."""
    if s.kind == "choice":
        key = s.aliases.get(value, value) if isinstance(value, str) else value
        if key not in s.options():
            raise ValueError(f"{name}={shown(value)} is not one of {list(s.options())}")
        return key
    if s.kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{name}={shown(value)} must be True or False")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name}={shown(value)} must be a number {s.describe_range()}")
    if s.kind == "int" and value != int(value):
        raise ValueError(f"{name}={shown(value)} must be a whole number {s.describe_range()}")
    number = int(value) if s.kind == "int" else float(value)
    assert s.low is not None and s.high is not None  # setting() insists on both
    if not (math.isfinite(number) and s.low <= number <= s.high):
        raise ValueError(f"{name}={shown(value)} must be {s.describe_range()}")
    return number


class Config:
    """Base of the frozen config dataclasses: validation from the declarations, plain data."""

    def __post_init__(self) -> None:
        for name, s in declared(type(self)):
            value = check_value(name, s, getattr(self, name))
            if value is not getattr(self, name):
                object.__setattr__(self, name, value)  # frozen: normalise in place, once

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown {cls.__name__} fields {sorted(unknown)}")
        return cls(**data)


def _kind_of(default: Any, choices: Choices | None) -> str:
    if choices is not None:
        return "choice"
    for kind in (bool, int, float):  # bool first: True is an int too
        if isinstance(default, kind):
            return kind.__name__
    raise TypeError(f"no setting kind for default {default!r}; give choices for strings")


def _text(value: float | None) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else f"{value:g}"
    return f"{value:g}" if isinstance(value, float) else str(value)
