"""How good a classifier is, overall and per class.

`compute_metrics` turns true and predicted labels into accuracy, a confusion matrix and
precision / recall / F1 per class (scikit-learn's definitions, 0 where a ratio is undefined);
`misclassified` and `confusion_pairs` find the examples behind each cell of the confusion matrix.
Running a model to get the predictions is `rnnviz.analysis.inference`'s job. Labels may be torch
tensors or numpy arrays; everything returned is plain numbers, ready for JSON and for plots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

AVERAGE_KEYS = ("precision", "recall", "f1")

Labels = torch.Tensor | np.ndarray | Sequence[int]


@dataclass(frozen=True)
class ClassReport:
    """Scores for one class; `support` is how many examples truly belong to it."""

    name: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, eq=False)
class Metrics:
    """A classifier's scores on one labelled set; `confusion` is read-only.

    `confusion[i, j]` counts examples of true class i predicted as class j, shape (C, C).
    `macro` averages the per-class scores equally; `weighted` weights them by support.
    """

    accuracy: float
    loss: float | None  # mean cross-entropy in nats, when a model produced the predictions
    confusion: np.ndarray
    per_class: tuple[ClassReport, ...]
    macro: dict[str, float]
    weighted: dict[str, float]
    class_names: tuple[str, ...]

    def __post_init__(self) -> None:
        confusion = np.array(self.confusion, dtype=np.int64)
        c = len(self.class_names)
        if confusion.shape != (c, c):
            raise ValueError(f"confusion has shape {confusion.shape}, expected ({c}, {c})")
        if len(self.per_class) != c:
            raise ValueError(f"{len(self.per_class)} per_class reports for {c} class_names")
        confusion.setflags(write=False)
        object.__setattr__(self, "confusion", confusion)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Metrics):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain data; `Metrics.from_dict` reads it back."""
        return {
            "accuracy": self.accuracy,
            "loss": self.loss,
            "confusion": self.confusion.tolist(),
            "per_class": [
                {
                    "name": r.name,
                    "precision": r.precision,
                    "recall": r.recall,
                    "f1": r.f1,
                    "support": r.support,
                }
                for r in self.per_class
            ],
            "macro": dict(self.macro),
            "weighted": dict(self.weighted),
            "class_names": list(self.class_names),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Metrics:
        missing = {"accuracy", "confusion", "per_class", "macro", "weighted", "class_names"} - set(
            d
        )
        if missing:
            raise ValueError(f"metrics dict is missing {sorted(missing)}")
        loss = d.get("loss")
        return cls(
            accuracy=float(d["accuracy"]),
            loss=None if loss is None else float(loss),
            confusion=np.asarray(d["confusion"], dtype=np.int64),
            per_class=tuple(
                ClassReport(
                    name=str(r["name"]),
                    precision=float(r["precision"]),
                    recall=float(r["recall"]),
                    f1=float(r["f1"]),
                    support=int(r["support"]),
                )
                for r in d["per_class"]
            ),
            macro={k: float(d["macro"][k]) for k in AVERAGE_KEYS},
            weighted={k: float(d["weighted"][k]) for k in AVERAGE_KEYS},
            class_names=tuple(str(n) for n in d["class_names"]),
        )


def compute_metrics(
    y_true: Labels, y_pred: Labels, class_names: Sequence[str], *, loss: float | None = None
) -> Metrics:
    """Scores for predictions `y_pred` (N,) of labels `y_true` (N,), classes 0..C-1."""
    c = len(class_names)
    if c < 2:
        raise ValueError(f"class_names={list(class_names)!r} must name at least 2 classes")
    t, p = _pair(y_true, y_pred, num_classes=c)
    labels = list(range(c))
    confusion = confusion_matrix(t, p, labels=labels)
    precision, recall, f1, support = precision_recall_fscore_support(
        t, p, labels=labels, average=None, zero_division=0
    )
    per_class = tuple(
        ClassReport(str(name), float(pr), float(rc), float(f), int(s))
        for name, pr, rc, f, s in zip(class_names, precision, recall, f1, support, strict=True)
    )
    return Metrics(
        accuracy=float(np.mean(t == p)),
        loss=None if loss is None else float(loss),
        confusion=confusion,
        per_class=per_class,
        macro=_average(t, p, labels, "macro"),
        weighted=_average(t, p, labels, "weighted"),
        class_names=tuple(str(n) for n in class_names),
    )


def _average(t: np.ndarray, p: np.ndarray, labels: list[int], average: str) -> dict[str, float]:
    scores = precision_recall_fscore_support(t, p, labels=labels, average=average, zero_division=0)[
        :3
    ]
    return {k: float(v) for k, v in zip(AVERAGE_KEYS, scores, strict=True)}


def misclassified(y_true: Labels, y_pred: Labels) -> dict[tuple[int, int], list[int]]:
    """(true class, predicted class) -> indices of those examples, for mistakes only.

    Keys are sorted; indices within a key ascend.
    """
    t, p = _pair(y_true, y_pred)
    groups: dict[tuple[int, int], list[int]] = {}
    for i in np.flatnonzero(t != p):
        groups.setdefault((int(t[i]), int(p[i])), []).append(int(i))
    return dict(sorted(groups.items()))


def confusion_pairs(
    y_true: Labels, y_pred: Labels, true_class: int, predicted_class: int
) -> list[int]:
    """Indices of the examples in one confusion-matrix cell, the diagonal included."""
    t, p = _pair(y_true, y_pred)
    return [int(i) for i in np.flatnonzero((t == true_class) & (p == predicted_class))]


def _pair(
    y_true: Labels, y_pred: Labels, *, num_classes: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    t, p = as_labels(y_true, "y_true"), as_labels(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true has shape {t.shape} but y_pred has shape {p.shape}")
    if num_classes is not None:
        if t.size == 0:
            raise ValueError("y_true is empty: no examples to score")
        for name, a in (("y_true", t), ("y_pred", p)):
            bad = a[(a < 0) | (a >= num_classes)]
            if bad.size:
                raise ValueError(
                    f"{name} has label {int(bad[0])}, outside 0..{num_classes - 1} "
                    f"for {num_classes} class_names"
                )
    return t, p


def as_labels(labels: Labels, name: str) -> np.ndarray:
    """Integer labels as a 1-D int64 numpy array, from a tensor (any device) or an array."""
    if isinstance(labels, torch.Tensor):
        labels = labels.detach().cpu().numpy()
    a = np.asarray(labels)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
    if a.size and not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"{name} must hold integer labels, got dtype {a.dtype}")
    return a.astype(np.int64)
