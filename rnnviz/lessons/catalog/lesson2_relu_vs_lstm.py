"""Lesson 2: notebook 2, a ReLU RNN raced against an LSTM on Fashion-MNIST."""

from __future__ import annotations

from rnnviz.lessons.catalog.runs import preset
from rnnviz.lessons.lesson import Experiment, Figure, Lesson, Step

RELU_VS_LSTM = Lesson(
    2,
    "A ReLU RNN against an LSTM",
    "Notebook 2: Fashion-MNIST, vanilla RNN (ReLU) vs LSTM",
    "A ReLU RNN has no squashing to keep its state in bounds and no gates to decide what to "
    "keep; an LSTM has both. Race them on the same batches of Fashion-MNIST and put their "
    "accuracy curves side by side: in the notebook the single-layer LSTM did best.",
    (
        Experiment(
            "race",
            "RNN (ReLU) vs LSTM, 1x128, Adam 1e-3, batch 100, 10 epochs",
            preset("fashion-lstm"),
            cells=("rnn_relu", "lstm"),
        ),
    ),
    (
        Figure("The best cell", "lstm", "race", "best_cell"),
        Figure("RNN (ReLU): test accuracy", None, "race", cell="rnn_relu"),
        Figure("LSTM: test accuracy", None, "race", cell="lstm"),
    ),
    (
        Step(
            "Compare the two curves",
            "Both read the same batches in the same order: any gap is the cell's doing.",
            "compare",
            ("race:rnn_relu", "race:lstm"),
        ),
        Step(
            "Watch the LSTM's gates",
            "On a sandal (test image 8), when does the forget gate close?",
            "inside",
            ("race:lstm",),
            image=8,
        ),
        Step(
            "Add a GRU and race again",
            "The Train page opens on the same settings; add a cell to the race.",
            "train",
            ("race:lstm",),
            params={"race": "rnn_relu,lstm,gru"},
        ),
    ),
    (
        "In the first epoch, which cell learns faster, and does it stay ahead?",
        "What could make a ReLU RNN's hidden state grow without bound, and what in an LSTM "
        "stops that?",
    ),
)
