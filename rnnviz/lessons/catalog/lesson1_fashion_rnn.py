"""Lesson 1: notebook 1, a vanilla RNN on Fashion-MNIST."""

from __future__ import annotations

from rnnviz.lessons.catalog.runs import preset, run_of
from rnnviz.lessons.lesson import Experiment, Figure, Lesson, Step

FASHION_RNN = Lesson(
    1,
    "A vanilla RNN reads clothes",
    "Notebook 1: Fashion-MNIST with a vanilla RNN (tanh)",
    "A vanilla RNN reads each picture as 28 rows, one per time step, and carries what it has "
    "seen in a hidden state squashed by tanh. The notebook's first model (2x128, lr 1e-3, 5 "
    "epochs) was then made deeper, wider and slower to learn (3x256, lr 5e-4, 15 epochs): run "
    "both, and use per-class precision and recall to see which clothes the extra capacity helps.",
    (
        Experiment(
            "final",
            "RNN (tanh) 3x256, Adam 5e-4, batch 64, 15 epochs",
            preset("rnn-tanh-3x256-fashion"),
        ),
        Experiment(
            "first",
            "the notebook's first model: RNN (tanh) 2x128, lr 1e-3, 5 epochs",
            run_of("rnn_tanh", 128, 2, dataset="fashion-mnist", lr=1e-3, batch_size=64, epochs=5),
        ),
    ),
    (
        Figure("3x256: test accuracy", 0.8570, "final"),
        Figure("3x256: weighted precision", 0.8633, "final", "precision"),
        Figure("3x256: weighted recall", 0.8570, "final", "recall"),
        Figure("3x256: weighted F1", 0.8582, "final", "f1"),
        Figure("2x128 (first model): test accuracy", None, "first"),
    ),
    (
        Step(
            "Evaluate the 3x256 RNN",
            "The prediction gallery titles each image green when "
            "the network is right and red when it is wrong; the per-class bars show which "
            "garments it confuses.",
            "evaluate",
            ("final",),
        ),
        Step(
            "Compare the first and the final model",
            "Same cell, same data: what changed is "
            "depth, width, learning rate and epochs. Which curve is still rising at the end?",
            "compare",
            ("first", "final"),
        ),
        Step(
            "Watch the 3x256 RNN read a boot",
            "Test image 0 is an ankle boot: from which row on is the network sure?",
            "inside",
            ("final",),
            image=0,
        ),
    ),
    (
        "Which two classes does the network mix up most, and what do their pictures share "
        "when they are read one row at a time?",
        "Weighted recall equals accuracy here, whatever the model. Why must it?",
        "The final model has far more parameters than the first. Which of the four changes "
        "would you undo first to save time, and what would you expect to lose?",
    ),
)
