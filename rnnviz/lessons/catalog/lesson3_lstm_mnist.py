"""Lesson 3: notebook 3, a two-layer LSTM on MNIST beside a CNN and a CNN-LSTM."""

from __future__ import annotations

from rnnviz.lessons.catalog.runs import preset
from rnnviz.lessons.lesson import Experiment, Figure, Lesson, Step

LSTM_MNIST = Lesson(
    3,
    "An LSTM reads digits; a CNN looks at them",
    "Notebook 3: MNIST with an LSTM 2x128, a CNN, and a CNN feeding an RNN",
    "A two-layer LSTM reads MNIST row by row to near 99 %. A small CNN sees the whole image at "
    "once instead; a CNN feeding an LSTM looks at each row's neighbourhood and still reads top "
    "to bottom. Compare their accuracy and their seconds per epoch.",
    (
        Experiment(
            "lstm", "LSTM 2x128, Adam 1e-3, batch 100, 10 epochs", preset("lstm-2x128-mnist")
        ),
        Experiment("cnn", "a small CNN, 3 epochs", preset("cnn-mnist")),
        Experiment("cnn_lstm", "CNN features, then an LSTM, 3 epochs", preset("cnn-lstm-mnist")),
    ),
    (
        Figure("LSTM 2x128: test accuracy", 0.9886, "lstm"),
        Figure("LSTM 2x128: seconds per epoch", None, "lstm", "seconds_per_epoch"),
        Figure("CNN: test accuracy", None, "cnn"),
        Figure("CNN: seconds per epoch", None, "cnn", "seconds_per_epoch"),
        Figure("CNN-LSTM: test accuracy", None, "cnn_lstm"),
    ),
    (
        Step(
            "Evaluate the LSTM",
            "Look at the confusion matrix: which digits are left?",
            "evaluate",
            ("lstm",),
        ),
        Step(
            "Compare LSTM, CNN and CNN-LSTM",
            "Switch the x axis to wall-clock seconds: who gets to 98 % first?",
            "compare",
            ("lstm", "cnn", "cnn_lstm"),
        ),
        Step(
            "Watch the LSTM read a 2",
            "Test image 1 is a 2: its belief in '2' should rise once the bottom stroke appears.",
            "inside",
            ("lstm",),
            image=1,
        ),
    ),
    (
        "The CNN trains for 3 epochs and the LSTM for 10. Is the comparison fair, and how "
        "would you make it fair?",
        "At which row does the LSTM usually lock in its answer, and why not at row 28?",
        "What does the CNN in front of the LSTM add that a single row of pixels lacks?",
    ),
)
