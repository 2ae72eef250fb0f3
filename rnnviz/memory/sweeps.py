"""The memory lab's sweeps: recall trained over hidden sizes, distances or seeds, one row per run,
and a seed sweep summed up per hidden size (`spread`)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from rnnviz.memory.tasks import (
    RecallConfig,
)
from rnnviz.memory.training import train_recall
from rnnviz.training.control import Control
from rnnviz.training.events import EmitFn, Event, MemoryEvaluated, MemoryStepped, ignore_event


@dataclass(frozen=True)
class Sweep:
    """A finished or stopped sweep: one row per run that finished, with its labels and score."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    status: str = "done"  # or "stopped"
    message: str = ""


def _sweep(
    runs: list[tuple[dict[str, Any], RecallConfig]],
    *,
    device: torch.device | str,
    control: Control | None,
    emit: EmitFn,
) -> Sweep:
    """Train each labelled config in turn; a stop ends the sweep with the rows finished so far."""
    rows: list[dict[str, Any]] = []
    for index, (labels, config) in enumerate(runs):

        def relay(event: Event, index: int = index, labels: dict[str, Any] = labels) -> None:
            if isinstance(event, MemoryStepped):  # progress through the whole sweep
                progress = (index + event.progress) / len(runs)
                event = replace(event, progress=progress, run=index, runs=len(runs), labels=labels)
            elif isinstance(event, MemoryEvaluated):
                event = replace(event, run=index, runs=len(runs), labels=labels)
            emit(event)

        result = train_recall(config, device=device, control=control, emit=relay)
        if result.stopped:
            return Sweep(
                rows, "stopped", f"stopped by request after {len(rows)} of {len(runs)} runs"
            )
        rows.append({**labels, "test_accuracy": result.scores["test_accuracy"],
                     "seconds": result.seconds})  # fmt: skip
    return Sweep(rows, "done", f"{len(rows)} runs")


def sweep_hidden(
    cell_list: Sequence[str],
    hidden_list: Sequence[int],
    base: RecallConfig,
    *,
    device: torch.device | str,
    control: Control | None = None,
    emit: EmitFn = ignore_event,
) -> Sweep:
    """Recall accuracy per (cell, hidden size): rows {"cell", "hidden_size", "test_accuracy"}."""
    runs = [
        ({"cell": cell, "hidden_size": hidden}, replace(base, cell=cell, hidden_size=hidden))
        for cell in cell_list
        for hidden in hidden_list
    ]  # every config is validated before any training starts
    return _sweep(runs, device=device, control=control, emit=emit)


def sweep_distance(
    cell_list: Sequence[str],
    distances: Sequence[int],
    base: RecallConfig,
    *,
    device: torch.device | str,
    control: Control | None = None,
    emit: EmitFn = ignore_event,
) -> Sweep:
    """Recall accuracy per (cell, distance L - K) at the base length, moving the position K.

    Rows {"cell", "distance", "test_accuracy"}.
    """
    bad = [d for d in distances if not 0 <= d < base.length]
    if bad:
        raise ValueError(f"distances {bad} must be between 0 and length - 1 = {base.length - 1}")
    runs = [
        ({"cell": cell, "distance": d}, replace(base, cell=cell, position=base.length - d))
        for cell in cell_list
        for d in distances
    ]
    return _sweep(runs, device=device, control=control, emit=emit)


def sweep_seeds(
    hidden_list: Sequence[int],
    seeds: Sequence[int],
    base: RecallConfig,
    *,
    device: torch.device | str,
    control: Control | None = None,
    emit: EmitFn = ignore_event,
) -> Sweep:
    """Recall accuracy per (hidden size, seed) at the base setting: how much a run depends on
    its seed. Rows {"hidden_size", "seed", "test_accuracy", "seconds"}; `spread` sums them up."""
    runs = [
        ({"hidden_size": hidden, "seed": seed}, replace(base, hidden_size=hidden, seed=seed))
        for hidden in hidden_list
        for seed in seeds
    ]
    return _sweep(runs, device=device, control=control, emit=emit)


def spread(rows: Sequence[dict[str, Any]]) -> dict[int, dict[str, float]]:
    """A seed sweep's rows summed up per hidden size, in the order the sizes first appear:
    {hidden size: {"runs", "min", "median", "max", "mean"}} of the test accuracies."""
    by_size: dict[int, list[float]] = {}
    for row in rows:
        by_size.setdefault(int(row["hidden_size"]), []).append(float(row["test_accuracy"]))
    return {size: _spread_of(acc) for size, acc in by_size.items()}


def _spread_of(accuracies: list[float]) -> dict[str, float]:
    return {"runs": len(accuracies), "min": min(accuracies),
            "median": statistics.median(accuracies), "max": max(accuracies),
            "mean": statistics.fmean(accuracies)}  # fmt: skip
