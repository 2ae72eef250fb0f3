"""Saved runs side by side: one table row per run, and the training curves to overlay.

Everything here reads the `meta.json` a run wrote (architecture, history, test metrics, timing),
never the weights, so comparing a dozen runs costs a dozen small JSON reads. Runs are grouped by
cell family ("RNN", "LSTM", "BiLSTM", "GRU", ...; `rnnviz.models.cells`), the grouping the seed
lessons
are about; the figures colour by that group. Missing or non-finite history values are dropped,
not plotted as 0.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rnnviz.common.series import ema, is_number, thin
from rnnviz.models import cells
from rnnviz.storage.checkpoints import CheckpointInfo
from rnnviz.training.record import RunRecord

XAxis = Literal["epoch", "seconds"]
X_AXES: tuple[XAxis, ...] = ("epoch", "seconds")
MAX_CURVE_POINTS = 400  # per-step loss is thinned to this many points; the eye cannot see more
SMOOTHING = 0.9  # EMA weight of the per-step loss: raw mini-batch loss is too noisy to compare

COLUMNS: tuple[str, ...] = (
    "run", "group", "order", "layers", "hidden", "bidirectional", "parameters", "seconds_per_epoch",
    "final_val_accuracy", "test_accuracy", "lock_in_row", "epochs", "cell", "dataset", "device",
)  # fmt: skip


@dataclass(frozen=True)
class Curve:
    """One run's line on a chart: `y` against `x` (same length), labelled and grouped."""

    label: str  # the run, as the legend shows it
    group: str  # cell family, e.g. "LSTM" or "BiLSTM": the colour
    x: tuple[float, ...]  # epochs (fractional for per-step values) or seconds since start
    y: tuple[float, ...]  # loss in nats, or accuracy in [0, 1]


def group_of(info: CheckpointInfo) -> str:
    """The cell family of a run: "RNN", "LSTM", "BiLSTM", "GRU", ..."""
    model = info.record.config.model
    return cells.group_of(model.cell, model.bidirectional)


def run_labels(infos: Sequence[CheckpointInfo]) -> list[str]:
    """A legend label per run: its title, without a " · Dataset" ending that all runs share, and
    with the folder name added where titles repeat."""
    titles = [i.record.title or i.name for i in infos]
    endings = {t.rpartition(" · ")[2] for t in titles}
    if len(endings) == 1 and all(" · " in t for t in titles):
        titles = [t.rpartition(" · ")[0] for t in titles]
    return [
        f"{t} · {i.name}" if titles.count(t) > 1 else t for t, i in zip(titles, infos, strict=True)
    ]


def sort_runs(infos: Iterable[CheckpointInfo]) -> list[CheckpointInfo]:
    """Runs ordered by family (RNN before LSTM before GRU ...), then by title."""

    order = list(cells.group_colors())

    def key(info: CheckpointInfo) -> tuple[int, str]:
        group = group_of(info)
        rank = order.index(group) if group in order else len(order)
        return rank, info.record.title or info.name

    return sorted(infos, key=key)


def comparison_rows(infos: Sequence[CheckpointInfo]) -> list[dict[str, Any]]:
    """One row per run with the `COLUMNS` keys; accuracies in [0, 1], None where unknown."""
    rows = []
    for label, info in zip(run_labels(infos), infos, strict=True):
        record, model = info.record, info.record.config.model
        rows.append(
            {
                "run": label,
                "group": group_of(info),
                "dataset": record.dataset,
                "cell": model.cell,
                "order": model.order,
                "layers": model.num_layers,
                "hidden": model.hidden_size,
                "bidirectional": model.bidirectional,
                "parameters": record.parameters or None,
                "epochs": len(record.history["epoch"]),
                "seconds_per_epoch": seconds_per_epoch(record),
                "final_val_accuracy": record.final_val_accuracy,
                "test_accuracy": record.test_accuracy,
                "lock_in_row": record.lock_in_row,
                "device": record.device,
            }
        )
    return rows


def seconds_per_epoch(record: RunRecord) -> float | None:
    """Mean wall-clock seconds per finished epoch (validation included), None if unknown."""
    elapsed = [v for v in record.history["epoch_seconds"] if is_number(v)]
    if elapsed:
        return elapsed[-1] / len(elapsed)
    epochs = len(record.history["epoch"])
    return record.seconds / epochs if epochs and record.seconds else None


def rows_to_csv(rows: Sequence[dict[str, Any]]) -> bytes:
    """The rows as UTF-8 CSV with a header of `COLUMNS`; None becomes an empty cell."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in COLUMNS})
    return out.getvalue().encode("utf-8")


def loss_curves(infos: Sequence[CheckpointInfo], *, x: XAxis = "epoch") -> list[Curve]:
    """Training loss per run: the smoothed per-step loss, else the per-epoch mean."""
    _check_axis(x)
    curves = []
    for label, info in zip(run_labels(infos), infos, strict=True):
        h = info.record.history
        xs, ys = h.get("step_epoch" if x == "epoch" else "step_seconds"), h.get("loss")
        if xs and ys:
            points = thin(_pairs(xs, ema(ys, SMOOTHING)), MAX_CURVE_POINTS)
        else:
            points = _pairs(
                h.get("epoch" if x == "epoch" else "epoch_seconds"), h.get("train_loss")
            )
        curves.append(_curve(label, info, points))
    return [c for c in curves if c.x]


def accuracy_curves(infos: Sequence[CheckpointInfo], *, x: XAxis = "epoch") -> list[Curve]:
    """Validation accuracy per epoch (training accuracy where a run held out no validation set)."""
    _check_axis(x)
    curves = []
    for label, info in zip(run_labels(infos), infos, strict=True):
        h = info.record.history
        xs = h.get("epoch" if x == "epoch" else "epoch_seconds")
        points = _pairs(xs, h.get("val_acc")) or _pairs(xs, h.get("train_acc"))
        curves.append(_curve(label, info, points))
    return [c for c in curves if c.x]


def _check_axis(x: str) -> None:
    if x not in X_AXES:
        raise ValueError(f"x={x!r} is not one of {X_AXES}")


def _curve(label: str, info: CheckpointInfo, points: list[tuple[float, float]]) -> Curve:
    return Curve(label, group_of(info), tuple(p[0] for p in points), tuple(p[1] for p in points))


def _pairs(xs: Any, ys: Any) -> list[tuple[float, float]]:
    """(x, y) pairs where both are finite numbers; histories of unequal length are cut short."""
    pairs = zip(xs or [], ys or [], strict=False)
    return [(float(a), float(b)) for a, b in pairs if is_number(a) and is_number(b)]
