"""The class register: when the class started, students' anonymous labels, who is the teacher,
and the class sweeps, kept in one small JSON file beside the runs so a restart forgets nothing.

A student is "Student 7", a number given in order of arrival and stable for a browser (its owner
id). The teacher is whoever the server lists as one (signed-in accounts in its secrets) or whoever
typed the teacher key (`RNNVIZ_TEACHER_KEY`) in this browser; the key itself is never stored, only
that this owner typed it. Every change is a read, a change and an atomic write under one lock, so
the page threads of one server never lose each other's changes.
"""

from __future__ import annotations

import hmac
import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rnnviz.classroom.sweeps import ClassSweep
from rnnviz.common.files import write_replacing

TEACHER_KEY_ENV = "RNNVIZ_TEACHER_KEY"
REGISTER_FILE = "class.json"
RECENT_S = 6 * 3600.0  # without a class started, the Class page shows the last six hours
MAX_SWEEPS = 20  # kept in the register, newest first
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Register:
    started: float | None = None  # when the teacher last started a class
    students: Mapping[str, int] = field(default_factory=dict)  # owner -> number
    names: Mapping[str, str] = field(default_factory=dict)  # owner -> signed-in name, if any
    teachers: frozenset[str] = frozenset()  # owners who typed the teacher key
    show_names: bool = False  # signed-in names instead of numbers, where the server signs in
    sweeps: tuple[ClassSweep, ...] = ()

    def since(self, now: float | None = None) -> float:
        """Runs from this moment on belong to the class."""
        now = time.time() if now is None else now
        return self.started if self.started is not None else now - RECENT_S

    def label(self, owner: str) -> str:
        """ "Student 7", or the signed-in name when the teacher chose to show names."""
        if self.show_names and owner in self.names:
            return self.names[owner]
        number = self.students.get(owner)
        return f"Student {number}" if number is not None else "a student"

    def sweep(self, sweep_id: str) -> ClassSweep | None:
        return next((s for s in self.sweeps if s.id == sweep_id), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "started": self.started, "students": dict(self.students), "names": dict(self.names),
            "teachers": sorted(self.teachers), "show_names": self.show_names,
            "sweeps": [s.to_dict() for s in self.sweeps],
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Register:
        started = data.get("started")
        return cls(
            started=None if started is None else float(started),
            students={str(k): int(v) for k, v in dict(data.get("students", {})).items()},
            names={str(k): str(v) for k, v in dict(data.get("names", {})).items()},
            teachers=frozenset(str(t) for t in data.get("teachers", [])),
            show_names=bool(data.get("show_names", False)),
            sweeps=tuple(ClassSweep.from_dict(s) for s in data.get("sweeps", [])),
        )


def read(root: Path | str) -> Register:
    """The register under `root` (the runs folder); an empty one when there is none yet or it
    cannot be read (a class must never fail to load over its register)."""
    try:
        return Register.from_dict(json.loads((Path(root) / REGISTER_FILE).read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return Register()


def change(root: Path | str, how: Callable[[Register], Register]) -> Register:
    """Read, change and write the register atomically; the new register."""
    with _LOCK:
        new = how(read(root))
        Path(root).mkdir(parents=True, exist_ok=True)
        write_replacing(Path(root) / REGISTER_FILE, json.dumps(new.to_dict()).encode())
        return new


def enrol(root: Path | str, owner: str, name: str | None = None) -> Register:
    """`owner` with a number of their own (the next free one) unless they have one, and their
    signed-in name where there is one."""
    known = read(root)
    if owner in known.students and (name is None or known.names.get(owner) == name):
        return known

    def add(r: Register) -> Register:
        if owner not in r.students:
            number = max(r.students.values(), default=0) + 1
            r = replace(r, students={**r.students, owner: number})
        if name is not None:
            r = replace(r, names={**r.names, owner: name})
        return r

    return change(root, add)


def show_names(root: Path | str, show: bool) -> Register:
    return change(root, lambda r: replace(r, show_names=show))


def start_class(root: Path | str, now: float | None = None) -> Register:
    """A class starts now: the Class page shows only the runs from here on; sweeps are kept."""
    return change(root, lambda r: replace(r, started=time.time() if now is None else now))


def add_sweep(root: Path | str, sweep: ClassSweep) -> Register:
    return change(root, lambda r: replace(r, sweeps=(sweep, *r.sweeps)[:MAX_SWEEPS]))


def end_sweep(root: Path | str, sweep_id: str) -> Register:
    def end(r: Register) -> Register:
        return replace(r, sweeps=tuple(replace(s, open=False) if s.id == sweep_id else s
                                       for s in r.sweeps))  # fmt: skip

    return change(root, end)


def claim(root: Path | str, sweep_id: str, owner: str) -> tuple[ClassSweep, int] | None:
    """`owner`'s part of an open sweep (claimed now if new), or None for an unknown or ended one."""
    found: list[tuple[ClassSweep, int]] = []

    def take(r: Register) -> Register:
        sweep = r.sweep(sweep_id)
        if sweep is None or not sweep.open:
            return r
        claimed, index = sweep.claim(owner)
        found.append((claimed, index))
        return replace(r, sweeps=tuple(claimed if s.id == sweep_id else s for s in r.sweeps))

    change(root, take)
    return found[0] if found else None


def teacher_key_set(environ: Mapping[str, str] | None = None) -> bool:
    return bool((os.environ if environ is None else environ).get(TEACHER_KEY_ENV, "").strip())


def key_matches(typed: str, environ: Mapping[str, str] | None = None) -> bool:
    """Does `typed` equal the server's teacher key? Never true where no key is set."""
    key = (os.environ if environ is None else environ).get(TEACHER_KEY_ENV, "").strip()
    return bool(key) and hmac.compare_digest(typed.strip().encode(), key.encode())


def become_teacher(root: Path | str, owner: str, typed: str) -> bool:
    """`owner` is the teacher from now on in this browser if `typed` is the key."""
    if not key_matches(typed):
        return False
    change(root, lambda r: replace(r, teachers=r.teachers | {owner}))
    return True


def leave_teaching(root: Path | str, owner: str) -> Register:
    return change(root, lambda r: replace(r, teachers=r.teachers - {owner}))


def is_teacher(register: Register, owner: str, account: str | None, listed: frozenset[str]) -> bool:
    """A teacher: a signed-in account the server lists, or an owner who typed the key (while the
    server still has one)."""
    if account is not None and account.lower() in {t.lower() for t in listed}:
        return True
    return owner in register.teachers and teacher_key_set()
