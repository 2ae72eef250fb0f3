"""One run record: what a done, stopped or failed training run is, as one object and as plain data.

`RunRecord` is the job's result, the CLI's `train --json` line (`summary()`) and the body of a
checkpoint's meta.json (`to_dict()`; the file's format is `rnnviz.storage.meta`'s), so a run started
anywhere ends the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from rnnviz.analysis.metrics import Metrics
from rnnviz.data.datasets import DATASETS
from rnnviz.models.cells import CELLS
from rnnviz.training.config import RunConfig
from rnnviz.training.history import History

STATUSES = ("done", "stopped", "failed", "interrupted")  # interrupted: a snapshot of a run


@dataclass(frozen=True)
class RunRecord:
    """A training run once it has ended; `checkpoint` is its folder (None: failed, or not saved)."""

    config: RunConfig = field(default_factory=RunConfig)
    status: str = "done"  # one of STATUSES
    message: str = ""  # what happened, for people: "finished 5 epochs", the failure's advice
    name: str = ""  # the checkpoint folder's name
    title: str = ""  # "LSTM 1x128 · MNIST"
    class_names: tuple[str, ...] = ()  # label i is class_names[i]; the dataset's when empty
    history: Mapping[str, list[float]] = field(default_factory=lambda: History().to_dict())
    test_metrics: Metrics | None = None  # None for a failed run
    seconds: float = 0.0  # seconds trained, pauses excluded
    parameters: int = 0
    device: str = "CPU"
    fast_path: str = "eager"  # "eager" or "cuda-graph"
    host: str = ""
    backend: str = "thread"  # where it trained: "thread" (this process) or "ray" (a Ray worker)
    lock_in_row: float | None = None  # mean 1-based step (a row for rows) of fixed answers
    probes: Mapping[str, Any] | None = None  # `Probes.to_dict()`: the probe images' readings
    checkpoint: str | None = None
    resumed_from: str | None = None  # the saved run's folder name this run went on from

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status={self.status!r} is not one of {list(STATUSES)}")
        if not self.class_names:
            names = DATASETS[self.config.data.dataset].class_names
            object.__setattr__(self, "class_names", tuple(names))
        if not self.title:
            object.__setattr__(self, "title", run_title(self.config))

    @property
    def dataset(self) -> str:
        return self.config.data.dataset

    @property
    def test_accuracy(self) -> float | None:
        return None if self.test_metrics is None else self.test_metrics.accuracy

    @property
    def final_val_accuracy(self) -> float | None:
        return History(self.history).last_finite("val_acc")

    @property
    def on_worker(self) -> str:
        """ " on Ray worker <host>" for a run a Ray worker trained, else "": for status lines."""
        return f" on Ray worker {self.host}" if self.backend == "ray" and self.host else ""

    def with_checkpoint(self, path: str | None, name: str = "") -> RunRecord:
        return replace(self, checkpoint=path, name=name or self.name)

    def with_backend(self, backend: str) -> RunRecord:
        return replace(self, backend=backend)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data; `from_dict` reads it back."""
        return {
            "status": self.status,
            "message": self.message,
            "name": self.name,
            "title": self.title,
            "config": self.config.to_dict(),
            "class_names": list(self.class_names),
            "test_accuracy": self.test_accuracy,
            "test_metrics": None if self.test_metrics is None else self.test_metrics.to_dict(),
            "history": {k: list(v) for k, v in self.history.items()},
            "seconds": self.seconds,
            "parameters": self.parameters,
            "device": self.device,
            "fast_path": self.fast_path,
            "host": self.host,
            "backend": self.backend,
            "lock_in_row": self.lock_in_row,
            "probes": None if self.probes is None else dict(self.probes),
            "checkpoint": self.checkpoint,
            "resumed_from": self.resumed_from,
        }

    def summary(self) -> dict[str, Any]:
        """The CLI's `train --json` line: all but the history, the full metrics and the probes."""
        left_out = ("history", "test_metrics", "probes")
        return {k: v for k, v in self.to_dict().items() if k not in left_out}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRecord:
        """Read `to_dict()` back (keys it does not know, such as meta.json's bookkeeping, are
        ignored); ValueError or TypeError for values that do not fit."""
        metrics = data.get("test_metrics")
        return cls(
            config=RunConfig.from_dict(data["config"]),
            status=str(data.get("status", "done")),
            message=str(data.get("message", "")),
            name=str(data.get("name", "")),
            title=str(data.get("title", "")),
            class_names=tuple(str(n) for n in data.get("class_names") or ()),
            history=History(data.get("history") or {}).to_dict(),
            test_metrics=Metrics.from_dict(metrics) if isinstance(metrics, dict) else None,
            seconds=_number(data.get("seconds")),
            parameters=int(data.get("parameters") or 0),
            device=str(data.get("device") or "CPU"),
            fast_path=str(data.get("fast_path") or "eager"),
            host=str(data.get("host") or ""),
            backend=str(data.get("backend") or "thread"),
            lock_in_row=_number(data["lock_in_row"]) if data.get("lock_in_row") else None,
            probes=data["probes"] if isinstance(data.get("probes"), dict) else None,
            checkpoint=data.get("checkpoint"),
            resumed_from=str(data["resumed_from"]) if data.get("resumed_from") else None,
        )


def run_title(run: RunConfig) -> str:
    """'LSTM 2x128 · MNIST'-style name for lists and checkpoint folders; a reading order other
    than rows is named next: 'LSTM 1x128 · MNIST · pixels', and an augmentation last:
    'GRU 1x128 · MNIST · canvas augmented'."""
    m = run.model
    shape = f"{m.num_layers}x{m.hidden_size}" if m.recurrent else f"w{m.hidden_size}"
    prefix = "Bi" if m.bidirectional else ""
    order = "" if m.order == "rows" else f" · {m.order}"  # rows, the default, goes unsaid
    augmented = "" if run.train.augment == "none" else f" · {run.train.augment} augmented"
    title = f"{prefix}{CELLS[m.cell].tag} {shape} · {DATASETS[run.data.dataset].title}"
    return f"{title}{order}{augmented}"


def _number(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return 0.0
