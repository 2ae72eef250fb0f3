"""Lesson 6: MNIST read pixel by pixel (sequential and permuted MNIST) beside published figures."""

from __future__ import annotations

from typing import Any

from rnnviz.lessons.catalog.runs import run_of
from rnnviz.lessons.lesson import Experiment, Figure, Lesson, Step

_SEQUENTIAL: dict[str, Any] = {"lr": 1e-3, "grad_clip": 1.0, "batch_size": 100, "epochs": 20}
# A CPU reads the image at 14x14 (196 steps): an LSTM of 64 units with its forget gate open
# learns it in 12 epochs of 20,000 images (3 to 4 minutes on one core); a tanh RNN does not.
_SHORT: dict[str, Any] = {"lr": 5e-3, "grad_clip": 1.0, "batch_size": 100, "epochs": 12}
CPU_SUBSET = 20_000
LE_2015, ARJOVSKY_2016 = "Le, Jaitly & Hinton 2015", "Arjovsky, Shah & Bengio 2016"
NOT_PUBLISHED = "this lesson"  # no paper gives a figure for it


def _long_memory(key: str, how: str, order: str) -> Experiment:
    """A tanh RNN and an IRNN race an LSTM in `order`; a CPU races the tanh RNN and the LSTM
    over the same order at 14x14, so it fits a class period."""
    run = run_of("irnn", 128, model={"order": order}, **_SEQUENTIAL)
    short = run_of("lstm", 64, model={"order": f"{order}14", "forget_bias": 1.0}, **_SHORT)
    cpu = Experiment(key, f"RNN (tanh) vs LSTM 1x64, {how} at 14x14 (196 steps)", short,
                     cells=("rnn_tanh", "lstm"), cpu_subset=CPU_SUBSET)  # fmt: skip
    return Experiment(key, f"RNN (tanh), IRNN and LSTM 1x128, {how} (784 steps)", run,
                      cells=("rnn_tanh", "irnn", "lstm"), cpu=cpu)  # fmt: skip


PIXEL_BY_PIXEL = Lesson(
    6,
    "Pixel by pixel: the long-memory benchmark",
    f"Sequential and permuted MNIST, with the published figures ({LE_2015}; {ARJOVSKY_2016})",
    "Read MNIST one pixel at a time and a network must carry a stroke from the top of the "
    "image across hundreds of steps: 784 steps instead of 28. Sequential MNIST reads the pixels "
    "in order; permuted MNIST in one fixed random order that scatters every stroke over the "
    "whole sequence. A plain tanh RNN loses the signal over so many steps; an LSTM's gates "
    "carry it, and so does an IRNN (a ReLU RNN whose recurrent weights start as the identity). "
    "A CPU reads the image averaged to 14x14, 196 steps: long enough for the plain RNN to fail.",
    (
        _long_memory("sequential", "pixel by pixel", "pixels"),
        _long_memory("permuted", "pixels in a fixed random order", "permuted"),
    ),
    (
        Figure("Sequential: IRNN", 0.97, "sequential", cell="irnn", source=LE_2015),
        Figure("Sequential: LSTM", 0.65, "sequential", cell="lstm", source=LE_2015),
        Figure("Sequential: LSTM", 0.982, "sequential", cell="lstm", source=ARJOVSKY_2016),
        Figure("Sequential: RNN (tanh)", None, "sequential", cell="rnn_tanh", source=NOT_PUBLISHED),
        Figure("Permuted: IRNN", 0.82, "permuted", cell="irnn", source=LE_2015),
        Figure("Permuted: LSTM", 0.36, "permuted", cell="lstm", source=LE_2015),
        Figure("Permuted: LSTM", 0.88, "permuted", cell="lstm", source=ARJOVSKY_2016),
        Figure("Permuted: RNN (tanh)", None, "permuted", cell="rnn_tanh", source=NOT_PUBLISHED),
    ),
    (
        Step(
            "Compare the plain RNN and the LSTM",
            "Two cells, two orders, the same batches: which cell carries the signal, and which "
            "order is harder?",
            "compare",
            ("sequential:rnn_tanh", "sequential:lstm", "permuted:rnn_tanh", "permuted:lstm"),
        ),
        Step(
            "Watch the LSTM read pixel by pixel",
            "Inside samples 29 of the 784 steps (of 196 at 14x14): how late does its belief move?",
            "inside",
            ("sequential:lstm",),
            image=1,
        ),
        Step(
            "The same LSTM, row by row",
            "The Train page opens on the same run reading rows: 28 steps instead of 784 (or 196).",
            "train",
            ("sequential:lstm",),
            params={"order": "rows"},
        ),
    ),
    (
        "Why does a tanh RNN's gradient fade over 196 steps, and what do an LSTM's gates (or an "
        "IRNN's identity start) do against it?",
        "Why is a fixed permutation harder for an LSTM than the pixels in order, when both "
        "hold exactly the same information, and why does the same shuffle help the tanh RNN?",
        "The papers trained for hundreds of epochs on a GPU. What does a CPU's 196 steps already "
        "show, and what can it not?",
    ),
)
