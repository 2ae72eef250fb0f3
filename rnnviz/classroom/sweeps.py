"""Class sweeps: one setting, a list of its values, and each student's part of it.

A teacher picks a setting of the Train page (its URL key, e.g. `hidden`) and the values to try
(`4, 8, 16, 32, 64, 128`); the rest of the run is fixed (`base`, as a link's query parameters).
Each student who opens the sweep's link claims a value: the first of those claimed fewest times,
so the values fill in order before any is taken twice, and a student who comes back keeps theirs.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from rnnviz.classroom.urlstate import FIELDS, run_from_params, run_to_params
from rnnviz.common.text import shown
from rnnviz.training.config import RunConfig, run_key

MAX_VALUES = 24  # a sweep a class can fill in one lesson
SWEEPABLE = tuple(f.key for f in FIELDS if f.key not in ("device", "dataset"))


@dataclass(frozen=True)
class ClassSweep:
    """A sweep over one setting: the values, the fixed rest of the run, who took which value."""

    id: str
    setting: str  # a URL key of the Train page: "hidden", "lr", "cell", ...
    values: tuple[str, ...]  # as a link writes them
    base: Mapping[str, str]  # the rest of the run, as query parameters
    created: float = field(default_factory=time.time)
    claims: Mapping[str, int] = field(default_factory=dict)  # owner -> index into values
    open: bool = True

    def label(self, index: int) -> str:
        return f"{self.setting} {self.values[index]}"

    def run_for(self, index: int) -> RunConfig:
        """The run of value `index`: the base with the swept setting set."""
        run, errors = run_from_params({**self.base, self.setting: self.values[index]})
        if errors:  # values were checked when the sweep was made
            raise ValueError("; ".join(errors))
        return run

    def claim(self, owner: str) -> tuple[ClassSweep, int]:
        """This sweep with `owner`'s value claimed, and its index: theirs again if they had one,
        else the first value claimed fewest times."""
        if owner in self.claims:
            return self, self.claims[owner]
        taken = [0] * len(self.values)
        for index in self.claims.values():
            taken[index] += 1
        index = taken.index(min(taken))
        return replace(self, claims={**self.claims, owner: index}), index

    def keys(self) -> list[str]:
        """Each value's run as its settings' text, to find the students' runs of it."""
        return [run_key(self.run_for(i)) for i in range(len(self.values))]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "setting": self.setting, "values": list(self.values),
            "base": dict(self.base), "created": self.created, "claims": dict(self.claims),
            "open": self.open,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClassSweep:
        return cls(
            id=str(data["id"]), setting=str(data["setting"]),
            values=tuple(str(v) for v in data["values"]),
            base={str(k): str(v) for k, v in dict(data.get("base", {})).items()},
            created=float(data.get("created", 0.0)),
            claims={str(k): int(v) for k, v in dict(data.get("claims", {})).items()},
            open=bool(data.get("open", True)),
        )  # fmt: skip


def new_sweep(setting: str, values: Sequence[str] | str, base: RunConfig) -> ClassSweep:
    """A sweep of `setting` over `values` (a list, or text separated by commas) with the rest of
    `base` fixed; ValueError naming what is wrong: the setting, a value, too many or too few."""
    if setting not in SWEEPABLE:
        raise ValueError(f"setting={shown(setting)} is not one of {', '.join(SWEEPABLE)}")
    if isinstance(values, str):
        values = [v for v in (p.strip() for p in values.split(",")) if v]
    unique = list(dict.fromkeys(str(v).strip() for v in values))
    if not 2 <= len(unique) <= MAX_VALUES:
        raise ValueError(f"a sweep needs 2 to {MAX_VALUES} different values, got {len(unique)}")
    params = {k: v for k, v in run_to_params(base).items() if k != setting}
    for value in unique:
        _, errors = run_from_params({**params, setting: value})
        if errors:
            raise ValueError("; ".join(errors))  # each names the setting and the value
    return ClassSweep(secrets.token_hex(4), setting, tuple(unique), params)
