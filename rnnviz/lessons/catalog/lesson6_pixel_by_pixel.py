"""Lesson 6: MNIST read pixel by pixel (sequential and permuted MNIST) beside published figures."""

from __future__ import annotations

from typing import Any

from rnnviz.lessons.catalog.runs import run_of
from rnnviz.lessons.lesson import Experiment, Figure, Lesson, Step

_SEQUENTIAL: dict[str, Any] = {"lr": 1e-3, "grad_clip": 1.0, "batch_size": 100, "epochs": 20}
LE_2015, ARJOVSKY_2016 = "Le, Jaitly & Hinton 2015", "Arjovsky, Shah & Bengio 2016"


def _long_memory(key: str, how: str, order: str) -> Experiment:
    """An IRNN races an LSTM in `order`; smaller on a CPU, so it fits a class period."""
    run = run_of("irnn", 128, model={"order": order}, **_SEQUENTIAL)
    return Experiment(key, f"IRNN vs LSTM 1x128, {how}", run, cells=("irnn", "lstm"),
                      cpu_subset=5000, cpu_epochs=3)  # fmt: skip


PIXEL_BY_PIXEL = Lesson(
    6,
    "Pixel by pixel: the long-memory benchmark",
    f"Sequential and permuted MNIST, with the published figures ({LE_2015}; {ARJOVSKY_2016})",
    "Read MNIST one pixel at a time and a network must carry a stroke from the top of the "
    "image across hundreds of steps: 784 steps instead of 28. Sequential MNIST reads the pixels "
    "in order; permuted MNIST in one fixed random order that scatters every stroke over the "
    "whole sequence. An IRNN (a ReLU RNN whose recurrent weights start as the identity) races an "
    "LSTM on both.",
    (
        _long_memory("sequential", "pixel by pixel", "pixels"),
        _long_memory("permuted", "pixels in a fixed random order", "permuted"),
    ),
    (
        Figure("Sequential: IRNN", 0.97, "sequential", cell="irnn", source=LE_2015),
        Figure("Sequential: LSTM", 0.65, "sequential", cell="lstm", source=LE_2015),
        Figure("Sequential: LSTM", 0.982, "sequential", cell="lstm", source=ARJOVSKY_2016),
        Figure("Permuted: IRNN", 0.82, "permuted", cell="irnn", source=LE_2015),
        Figure("Permuted: LSTM", 0.36, "permuted", cell="lstm", source=LE_2015),
        Figure("Permuted: LSTM", 0.88, "permuted", cell="lstm", source=ARJOVSKY_2016),
    ),
    (
        Step(
            "Compare all four",
            "Two cells, two orders: which order is harder for which cell?",
            "compare",
            ("sequential:irnn", "sequential:lstm", "permuted:irnn", "permuted:lstm"),
        ),
        Step(
            "Watch the LSTM read pixel by pixel",
            "Inside samples 29 of the 784 steps: how late does its belief move?",
            "inside",
            ("sequential:lstm",),
            image=1,
        ),
        Step(
            "The same LSTM, row by row",
            "The Train page opens on the same run reading rows: 28 steps instead of 784.",
            "train",
            ("sequential:lstm",),
            params={"order": "rows"},
        ),
    ),
    (
        "Why is a fixed permutation harder for an LSTM than the pixels in order, when both "
        "hold exactly the same information?",
        "The papers trained for hundreds of epochs on a GPU. What does a CPU's few epochs on a "
        "subset already show, and what can it not?",
        "What does starting the recurrent matrix as the identity do for a ReLU RNN's gradient "
        "over 784 steps?",
    ),
)
