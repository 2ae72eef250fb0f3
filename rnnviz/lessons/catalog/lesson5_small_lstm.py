"""Lesson 5: notebook 5, an LSTM of 20 units with plain SGD, watched as it learns."""

from __future__ import annotations

from dataclasses import replace

from rnnviz.lessons.catalog.runs import preset
from rnnviz.lessons.lesson import Experiment, Figure, Lesson, Step
from rnnviz.training.config import RunConfig


def _open_forget_gate(run: RunConfig) -> RunConfig:
    return replace(run, model=replace(run.model, forget_bias=1.0))


SMALL_LSTM = Lesson(
    5,
    "Watch it learn to read",
    "Notebook 5: MNIST, an LSTM of 20 units with plain SGD, row by row",
    "Twenty LSTM units and plain SGD (lr 0.1, no momentum) are enough for MNIST. Train one "
    "epoch and watch what the network reads and believes row by row; then train the same "
    "network on for nine more epochs, ten in all, and read the same image again. The runs "
    "start the forget gate open (bias 1, as TensorFlow's and Keras's LSTMs do): with PyTorch's "
    "bias of 0, plain SGD learns markedly slower in ten epochs.",
    (
        Experiment(
            "one",
            "LSTM 20, SGD lr 0.1, batch 100, one epoch",
            _open_forget_gate(preset("lstm-20-sgd", epochs=1)),
        ),
        Experiment(
            "ten",
            "The same LSTM trained on for 9 more epochs, 10 in all",
            _open_forget_gate(preset("lstm-20-sgd")),
            after="one",  # its constant rate and batch order make it the 10-epoch run, exactly
        ),
    ),
    (
        Figure("After one epoch: test accuracy", None, "one"),
        Figure("After 10 epochs: test accuracy", 0.958, "ten"),
    ),
    (
        Step(
            "Read a 4 after one epoch",
            "Test image 4 is a 4. Follow the belief in each class after every row.",
            "inside",
            ("one",),
            image=4,
        ),
        Step(
            "Read the same 4 after ten epochs",
            "Does the network make up its mind sooner?",
            "inside",
            ("ten",),
            image=4,
        ),
        Step(
            "Draw your own digit",
            "Draw a digit for the ten-epoch model and watch it read your handwriting.",
            "draw",
            ("ten",),
        ),
        Step(
            "Train it with the forget gate closed",
            "The Train page opens on the same run "
            "with PyTorch's forget-gate bias of 0: compare the two curves.",
            "train",
            ("ten",),
            params={"fbias": "0"},
        ),
    ),
    (
        "After one epoch, which digits does the network already get right, and which not yet?",
        "Why does a forget gate that starts open help plain SGD in the first epochs?",
        "What would momentum change in how fast these 20 units learn?",
    ),
)
