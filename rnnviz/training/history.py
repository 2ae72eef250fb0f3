"""A run's history: its events folded into plain lists, per step and per epoch.

The trainer records each event it emits here, a job folds the events it receives the same way and
a checkpoint keeps the result, so what the live chart draws is what the saved run holds. A run that
went on from a saved one starts from that run's history and marks the step it went on from.

A job that pages watch keeps its history `typed`: each list is an `array("d")`, which a snapshot
copies as one block of memory and Python's collector never walks (a list of a long run's steps
would be walked at every collection while a page holds it).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Mapping, MutableSequence, Sequence

from rnnviz.training.events import EpochEnded, Event, LrChanged, Resumed, Stepped

HISTORY_KEYS = (
    "step", "loss", "step_epoch", "step_seconds",  # one entry per step
    "epoch", "train_acc", "train_loss", "val_acc", "val_loss", "epoch_seconds",  # per epoch
    "lr_step", "lr_value",  # one entry per change of the learning rate by hand
    "resume_step",  # one entry per time the run went on from a saved one: the steps done then
)  # fmt: skip


class History:
    """A training run's history folded from its events: per step and per epoch, plain lists.

    The trainer records each event here as it emits it, and a page folds a job's events the same
    way, so what the live chart draws is what the checkpoint keeps.
    """

    def __init__(self, data: Mapping[str, Iterable[float]] | None = None, *,
                 typed: bool = False) -> None:  # fmt: skip
        self.typed = typed
        given, make = data or {}, _typed if typed else list
        self.data: dict[str, MutableSequence[float]] = {k: make(given.get(k, ()))
                                                         for k in HISTORY_KEYS}  # fmt: skip

    @classmethod
    def of(cls, events: Iterable[Event]) -> History:
        history = cls()
        for event in events:
            history.record(event)
        return history

    def record(self, event: Event) -> None:
        h = self.data
        if isinstance(event, Stepped):
            h["step"].extend(range(event.first_step, event.step + 1))
            h["loss"].extend(event.losses)
            h["step_epoch"].extend(event.step_epochs())
            h["step_seconds"].extend([event.elapsed_s] * len(event.losses))
        elif isinstance(event, EpochEnded):
            h["epoch"].append(event.epoch)
            h["train_acc"].append(event.train_acc)
            h["train_loss"].append(event.train_loss)
            h["val_acc"].append(event.val_acc)
            h["val_loss"].append(event.val_loss)
            h["epoch_seconds"].append(event.elapsed_s)
        elif isinstance(event, LrChanged):
            h["lr_step"].append(event.step)
            h["lr_value"].append(event.lr)
        elif isinstance(event, Resumed):  # the saved run's history, which this run continues
            self.data = History(event.history, typed=self.typed).data
            self.data["resume_step"].append(event.step)

    def to_dict(self) -> dict[str, list[float]]:
        return {k: v.tolist() if isinstance(v, array) else list(v) for k, v in self.data.items()}

    def copy(self) -> dict[str, Sequence[float]]:
        """Its lists, copied (a typed history's as blocks of memory), for a reader."""
        return {k: v[:] for k, v in self.data.items()}

    def last_finite(self, key: str) -> float | None:
        values = [v for v in self.data[key] if math.isfinite(v)]
        return values[-1] if values else None


def _typed(values: Iterable[float]) -> array[float]:
    """`values` as doubles; what is not a number (a saved run's null) as NaN."""
    if isinstance(values, array):
        return array("d", values)  # one block of memory
    items = list(values)
    try:
        return array("d", items)
    except TypeError:
        return array("d", (float(v) if isinstance(v, int | float) else math.nan for v in items))
