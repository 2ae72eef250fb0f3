"""Metrics: a hand-worked 3-class example, JSON round trips, mistakes grouped, batching."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from rnnviz.analysis.metrics import Metrics, compute_metrics, confusion_pairs, misclassified

NAMES = ["a", "b", "c"]
# Worked by hand below: 10 examples, 6 right.
Y_TRUE = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
Y_PRED = [0, 0, 1, 2, 1, 1, 0, 2, 2, 1]


def approx(x: float) -> object:
    return pytest.approx(x, abs=1e-12)


@pytest.mark.parametrize("convert", [list, np.array, torch.tensor], ids=["list", "numpy", "torch"])
def test_hand_computed_three_class_example(convert: Callable[[list[int]], Any]) -> None:
    m = compute_metrics(convert(Y_TRUE), convert(Y_PRED), NAMES, loss=0.25)
    # rows = true class, columns = predicted; column sums 3, 4, 3
    assert m.confusion.tolist() == [[2, 1, 1], [1, 2, 0], [0, 1, 2]]
    assert m.confusion.dtype == np.int64
    assert m.accuracy == approx(0.6)
    assert m.loss == 0.25
    a, b, c = m.per_class
    assert (a.name, a.precision, a.recall, a.f1, a.support) == (
        "a",
        approx(2 / 3),
        0.5,
        approx(4 / 7),
        4,
    )
    assert (b.name, b.precision, b.recall, b.f1, b.support) == (
        "b",
        0.5,
        approx(2 / 3),
        approx(4 / 7),
        3,
    )
    assert (c.precision, c.recall, c.f1, c.support) == (
        approx(2 / 3),
        approx(2 / 3),
        approx(2 / 3),
        3,
    )
    assert m.macro == {
        "precision": approx(11 / 18),
        "recall": approx(11 / 18),
        "f1": approx(38 / 63),
    }
    assert m.weighted == {"precision": approx(37 / 60), "recall": approx(0.6), "f1": approx(0.6)}
    assert m.class_names == ("a", "b", "c")


def test_a_class_never_seen_scores_zero() -> None:
    m = compute_metrics([0, 1, 1], [0, 1, 0], ["a", "b", "never"])
    assert m.confusion.tolist() == [[1, 0, 0], [1, 1, 0], [0, 0, 0]]
    never = m.per_class[2]
    assert (never.precision, never.recall, never.f1, never.support) == (0.0, 0.0, 0.0, 0)
    assert m.macro["recall"] == approx((1 + 0.5 + 0) / 3)


def test_bad_labels_are_refused_naming_the_value() -> None:
    with pytest.raises(ValueError, match=r"label 3, outside 0\.\.2"):
        compute_metrics([0, 1], [0, 3], NAMES)
    with pytest.raises(ValueError, match=r"shape \(2,\) but y_pred has shape \(3,\)"):
        compute_metrics([0, 1], [0, 1, 1], NAMES)
    with pytest.raises(ValueError, match="integer labels"):
        compute_metrics(np.array([0.5, 1.0]), [0, 1], NAMES)
    with pytest.raises(ValueError, match="empty"):
        compute_metrics([], [], NAMES)


def test_to_dict_from_dict_round_trip_through_json() -> None:
    m = compute_metrics(Y_TRUE, Y_PRED, NAMES, loss=0.5)
    d = json.loads(json.dumps(m.to_dict()))
    assert set(d) == {
        "accuracy",
        "loss",
        "confusion",
        "per_class",
        "macro",
        "weighted",
        "class_names",
    }
    assert d["per_class"][1] == {
        "name": "b",
        "precision": 0.5,
        "recall": pytest.approx(2 / 3),
        "f1": pytest.approx(4 / 7),
        "support": 3,
    }
    back = Metrics.from_dict(d)
    assert back == m
    assert back.confusion.dtype == np.int64
    assert back.per_class == m.per_class
    assert back != compute_metrics(Y_TRUE, Y_TRUE, NAMES, loss=0.5)
    with pytest.raises(ValueError, match="read-only"):
        back.confusion[0, 0] = 9


def test_misclassified_groups_mistakes_by_cell() -> None:
    groups = misclassified(torch.tensor(Y_TRUE), np.array(Y_PRED))
    assert groups == {(0, 1): [2], (0, 2): [3], (1, 0): [6], (2, 1): [9]}
    assert list(groups) == sorted(groups)
    assert misclassified([1, 2], [1, 2]) == {}


def test_confusion_pairs_covers_every_cell() -> None:
    assert confusion_pairs(Y_TRUE, Y_PRED, 0, 0) == [0, 1]
    assert confusion_pairs(Y_TRUE, Y_PRED, 1, 1) == [4, 5]
    assert confusion_pairs(Y_TRUE, Y_PRED, 2, 1) == [9]
    assert confusion_pairs(Y_TRUE, Y_PRED, 1, 2) == []
    m = compute_metrics(Y_TRUE, Y_PRED, NAMES)
    for i in range(3):
        for j in range(3):
            assert len(confusion_pairs(Y_TRUE, Y_PRED, i, j)) == m.confusion[i, j]
