"""The lessons: one per classroom notebook rnnviz grew out of, and one on reading pixel by pixel.

Settings and reported figures are the notebooks' own (and, for the long-memory lesson, the
papers'); the words are rnnviz's. The notebooks trained on all 60,000 training images, so the
lessons' runs hold out no validation set (`val_fraction=0`) and report test accuracy, as they did.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rnnviz.config import RunConfig, TrainConfig
from rnnviz.data import DataConfig
from rnnviz.lessons.lesson import Experiment, Figure, Lesson, Step
from rnnviz.memory import NOTEBOOK_RECALL, AddConfig, lab_params
from rnnviz.models import ModelConfig
from rnnviz.presets import PRESETS
from rnnviz.text import shown


def _whole(run: RunConfig) -> RunConfig:
    """A run on the whole training set, as the notebooks trained."""
    return replace(run, data=replace(run.data, val_fraction=0.0))


def _preset(key: str, **train: Any) -> RunConfig:
    run = _whole(PRESETS[key].run)
    return replace(run, train=replace(run.train, **train)) if train else run


def _run(cell: str, hidden: int, layers: int = 1, *, dataset: str = "mnist",
         model: dict[str, Any] | None = None, **train: Any) -> RunConfig:  # fmt: skip
    return RunConfig(
        model=ModelConfig(cell=cell, hidden_size=hidden, num_layers=layers, **(model or {})),
        data=DataConfig(dataset=dataset, val_fraction=0.0),
        train=TrainConfig(**train),
    )


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
            _preset("rnn-tanh-3x256-fashion"),
        ),
        Experiment(
            "first",
            "the notebook's first model: RNN (tanh) 2x128, lr 1e-3, 5 epochs",
            _run("rnn_tanh", 128, 2, dataset="fashion-mnist", lr=1e-3, batch_size=64, epochs=5),
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
            _preset("fashion-lstm"),
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

LSTM_MNIST = Lesson(
    3,
    "An LSTM reads digits; a CNN looks at them",
    "Notebook 3: MNIST with an LSTM 2x128, a CNN, and a CNN feeding an RNN",
    "A two-layer LSTM reads MNIST row by row to near 99 %. A small CNN sees the whole image at "
    "once instead; a CNN feeding an LSTM looks at each row's neighbourhood and still reads top "
    "to bottom. Compare their accuracy and their seconds per epoch.",
    (
        Experiment(
            "lstm", "LSTM 2x128, Adam 1e-3, batch 100, 10 epochs", _preset("lstm-2x128-mnist")
        ),
        Experiment("cnn", "a small CNN, 3 epochs", _preset("cnn-mnist")),
        Experiment("cnn_lstm", "CNN features, then an LSTM, 3 epochs", _preset("cnn-lstm-mnist")),
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
            _preset("cells-rnn"),
            cells=("rnn_tanh", "lstm", "gru"),
        ),
        Experiment("bilstm", "bidirectional LSTM 1x128, the same budget", _preset("cells-bilstm")),
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


def _open_forget_gate(run: RunConfig) -> RunConfig:
    return replace(run, model=replace(run.model, forget_bias=1.0))


SMALL_LSTM = Lesson(
    5,
    "Watch it learn to read",
    "Notebook 5: MNIST, an LSTM of 20 units with plain SGD, row by row",
    "Twenty LSTM units and plain SGD (lr 0.1, no momentum) are enough for MNIST. Train one "
    "epoch and watch what the network reads and believes row by row; then train the full ten "
    "epochs and read the same image again. The runs start the forget gate open (bias 1, as "
    "TensorFlow's and Keras's LSTMs do): with PyTorch's bias of 0, plain SGD learns markedly "
    "slower in ten epochs.",
    (
        Experiment(
            "one",
            "LSTM 20, SGD lr 0.1, batch 100, one epoch",
            _open_forget_gate(_preset("lstm-20-sgd", epochs=1)),
        ),
        Experiment(
            "ten",
            "LSTM 20, SGD lr 0.1, batch 100, 10 epochs",
            _open_forget_gate(_preset("lstm-20-sgd")),
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

_SEQUENTIAL: dict[str, Any] = {"lr": 1e-3, "grad_clip": 1.0, "batch_size": 100, "epochs": 20}
LE_2015, ARJOVSKY_2016 = "Le, Jaitly & Hinton 2015", "Arjovsky, Shah & Bengio 2016"


def _long_memory(key: str, how: str, order: str) -> Experiment:
    """An IRNN races an LSTM in `order`; smaller on a CPU, so it fits a class period."""
    run = _run("irnn", 128, model={"order": order}, **_SEQUENTIAL)
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

LESSONS: dict[int, Lesson] = {
    lesson.number: lesson
    for lesson in (
        FASHION_RNN,
        RELU_VS_LSTM,
        LSTM_MNIST,
        CELLS_AND_MEMORY,
        SMALL_LSTM,
        PIXEL_BY_PIXEL,
    )
}


def get_lesson(number: int) -> Lesson:
    if number not in LESSONS:
        raise ValueError(f"lesson={number!r} is not one of {list(LESSONS)}")
    return LESSONS[number]


def lesson_from_param(text: str | None) -> tuple[Lesson | None, str]:
    """The lesson a `?lesson=N` value names, and "" or why it names none."""
    if text is None or text == "":
        return None, ""
    if not text.isdigit() or int(text) not in LESSONS:
        return None, f"lesson={shown(text)} is not one of {list(LESSONS)}"
    return LESSONS[int(text)], ""
