"""A run's settings as flat named fields: the widgets of the Train page and the text of its URL.

`FIELDS` lists every setting a link can carry: each declared field of `ModelConfig`, `DataConfig`
and `TrainConfig` that names a `url` key, with its declaration (label, choices or bounds, help).
`run_to_params` writes a `RunConfig` as query parameters (only the settings that differ from the
dataclass defaults, so a link stays short); `run_from_params` reads them back, ignoring unknown
keys (`owner`, `class`, ...) and naming every value it could not use. Machine-specific settings
(`data_dir`, `download`, `cuda_graphs`) are never part of a link. `config_from_params` and
`config_to_params` do the same for one config class on its own (the Memory lab's configs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from rnnviz.common.settings import Config, Setting, check_value, declared
from rnnviz.common.text import shown
from rnnviz.training.config import SECTIONS, RunConfig

# The Train page's columns of controls, in order; a setting names its column.
GROUPS = ("Data", "Model", "Optimiser", "Regularisation & run")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
C = TypeVar("C", bound=Config)


@dataclass(frozen=True)
class Field:
    """One setting a link can carry: where it lives in a RunConfig, and its declaration."""

    section: str  # "model", "data" or "train"
    name: str  # the dataclass field
    setting: Setting

    @property
    def key(self) -> str:
        """The URL query parameter."""
        return str(self.setting.url)

    @property
    def kind(self) -> str:
        return self.setting.kind


def _fields() -> tuple[Field, ...]:
    found = [
        Field(section, name, s)
        for section, cls in SECTIONS.items()
        for name, s in declared(cls)
        if s.url is not None
    ]
    # By column; in the Data column the dataset's own settings first, the reading order after.
    return tuple(sorted(found, key=lambda f: (GROUPS.index(f.setting.group), f.section != "data")))


FIELDS = _fields()
PARAM_KEYS = frozenset(f.key for f in FIELDS)


def values_of(run: RunConfig) -> dict[str, Any]:
    """The run as {field key: value}, each value of its field's type (what the widgets hold)."""
    return {f.key: _coerce(f, getattr(getattr(run, f.section), f.name)) for f in FIELDS}


def run_from_values(values: Mapping[str, Any]) -> tuple[RunConfig, list[str]]:
    """A RunConfig from {field key: value} and the reasons any value could not be used.

    Missing keys take the dataclass defaults; a value that is out of its field's bounds or that
    its config rejects is left at the default and explained in the list. Settings that are fine
    alone but not together (a bidirectional CNN) are explained too.
    """
    errors: list[str] = []
    parts: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
    for f in FIELDS:
        if f.key in values:
            try:
                parts[f.section][f.name] = check_value(f.key, f.setting, values[f.key])
            except ValueError as exc:
                errors.append(str(exc))
    built = {section: _build(cls, parts[section], errors) for section, cls in SECTIONS.items()}
    return RunConfig(**built), errors


def run_to_params(run: RunConfig) -> dict[str, str]:
    """The settings of `run` that differ from the defaults, as query parameters."""
    defaults = values_of(RunConfig())
    return {k: _text(v) for k, v in values_of(run).items() if v != defaults[k]}


def run_from_params(params: Mapping[str, str]) -> tuple[RunConfig, list[str]]:
    """Read `run_to_params` back: unknown keys are ignored, bad values explained and defaulted."""
    values: dict[str, Any] = {}
    errors: list[str] = []
    for f in FIELDS:
        if f.key in params:
            try:
                values[f.key] = _parse(f, str(params[f.key]))
            except ValueError as exc:
                errors.append(str(exc))
    run, more = run_from_values(values)
    return run, errors + more


def param_changes(current: Mapping[str, str], run: RunConfig) -> dict[str, str | None]:
    """What to write into a URL holding `current` so it says `run`: key -> value, None = delete.

    Keys that are not run settings (`owner`, `class`, ...) are never touched.
    """
    wanted = run_to_params(run)
    changes: dict[str, str | None] = {k: v for k, v in wanted.items() if current.get(k) != v}
    changes.update({k: None for k in current if k in PARAM_KEYS and k not in wanted})
    return changes


def url_keys(cls: type) -> dict[str, tuple[str, Setting]]:
    """{URL key: (field name, its setting)} for the declared fields of `cls` that name a key."""
    return {s.url: (name, s) for name, s in declared(cls) if s.url is not None}


def config_from_params(cls: type[C], params: Mapping[str, str]) -> tuple[C, list[str]]:
    """A `cls` config from query parameters, and the reasons any could not be used.

    Keys `cls` does not declare are ignored; a bad value is left at its default and explained.
    """
    values: dict[str, Any] = {}
    errors: list[str] = []
    for key, (name, s) in url_keys(cls).items():
        if key in params:
            try:
                values[name] = check_value(key, s, _parse_text(key, s, str(params[key])))
            except ValueError as exc:
                errors.append(str(exc))
    return _build(cls, values, errors), errors


def config_to_params(config: Config, *, every: bool = False) -> dict[str, str]:
    """The settings of `config` with a URL key that differ from its class's defaults (`every`:
    all of them, so that a link keeps its meaning when a default changes)."""
    defaults = type(config)()
    return {
        key: _text(getattr(config, name))
        for key, (name, _) in url_keys(type(config)).items()
        if every or getattr(config, name) != getattr(defaults, name)
    }


def _build(cls: Any, fields: dict[str, Any], errors: list[str]) -> Any:
    """`cls(**fields)`, or the defaults with every field that fits applied, the rest explained."""
    try:
        return cls(**fields)
    except ValueError:
        pass
    config = cls()
    for name, value in fields.items():
        try:
            config = replace(config, **{name: value})
        except ValueError as exc:
            errors.append(str(exc))
    return config


def _coerce(f: Field, value: Any) -> Any:
    if f.kind == "int":
        return int(value)
    if f.kind == "float":
        return float(value)
    if f.kind == "bool":
        return bool(value)
    return str(value)


def _parse(f: Field, text: str) -> Any:
    return _parse_text(f.key, f.setting, text)


def _parse_text(key: str, s: Setting, text: str) -> Any:
    """A query parameter's text as its setting's type; ValueError naming the key and the text."""
    text = text.strip()
    if s.kind == "choice":
        return text
    if s.kind == "bool":
        if text.lower() in _TRUE + _FALSE:
            return text.lower() in _TRUE
        raise ValueError(f"{key}={shown(text)} must be 1 or 0")
    try:
        return int(text) if s.kind == "int" else float(text)
    except ValueError:
        kind = "a whole number" if s.kind == "int" else "a number"
        raise ValueError(f"{key}={shown(text)} is not {kind}") from None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:g}" if value == float(f"{value:g}") else repr(value)
    return str(value)
