"""Lesson 4: notebook 4, the cells raced on MNIST and what a small RNN can remember."""

from __future__ import annotations

from rnnviz.lessons.catalog.runs import preset
from rnnviz.lessons.lesson import Experiment, Figure, Lesson, Step
from rnnviz.memory import NOTEBOOK_RECALL, AddConfig, lab_params

CELLS_AND_MEMORY = Lesson(
    4,
    "Four cells, one budget; and how far back they remember",
    "Notebook 4: MNIST with RNN, LSTM, GRU and BiLSTM; recall and binary addition",
    "On the same budget (one layer of 128, lr 0.002, 5 epochs) the gated cells beat the "
    "vanilla RNN. The memory lab then asks the question directly: name the digit at position "
    "2 of a sequence of 10, which only a state large enough can carry to the end.",
    (
        Experiment(
            "cells",
            "RNN, LSTM and GRU, 1x128, lr 0.002, batch 100, 5 epochs",
            preset("cells-rnn"),
            cells=("rnn_tanh", "lstm", "gru"),
        ),
        Experiment("bilstm", "bidirectional LSTM 1x128, the same budget", preset("cells-bilstm")),
    ),
    (
        Figure("RNN (tanh) 1x128", 0.9309, "cells", cell="rnn_tanh"),
        Figure("LSTM 1x128", 0.9698, "cells", cell="lstm"),
        Figure("GRU 1x128", 0.9680, "cells", cell="gru"),
        Figure("BiLSTM 1x128", 0.9475, "bilstm"),
        Figure("Recall K = 2 of L = 10, hidden 2", 0.16, "", "memory_recall", hidden=2),
        Figure("Recall K = 2 of L = 10, hidden 5", 0.30, "", "memory_recall", hidden=5),
        Figure("Recall K = 2 of L = 10, hidden 10", 0.96, "", "memory_recall", hidden=10),
    ),
    (
        Step(
            "Compare the four cells",
            "One budget, four cells: which are within a point of each other?",
            "compare",
            ("cells:rnn_tanh", "cells:lstm", "cells:gru", "bilstm"),
        ),
        Step(
            "Add L2 regularisation (λ = 0.01)",
            "The Train page opens on the LSTM with "
            "weight decay 0.01: how much accuracy does it cost here?",
            "train",
            ("cells:lstm",),
            params={"wd": "0.01"},
        ),
        Step(
            "Recall the digit at position 2",
            "The Memory lab opens on the notebook's setting: sequences of 10 digits, remember "
            "the second. The lesson's run trains it for hidden sizes 2, 5 and 10 with five "
            "seeds each; the figures below show the spread.",
            "memory",
            params=lab_params(NOTEBOOK_RECALL),
        ),
        Step(
            "Add two binary numbers",
            "Cross-entropy against squared error, bit by bit.",
            "memory",
            params=lab_params(AddConfig()),
        ),
    ),
    (
        "The BiLSTM reads every image in both directions, yet does not beat the LSTM here. "
        "What could it need more of?",
        "Why can 2 hidden units not recall one of 10 digits, whatever the training?",
        "Squared error or cross-entropy for a bit: which one still pushes when the answer is "
        "badly wrong?",
    ),
    spread=NOTEBOOK_RECALL,
)
