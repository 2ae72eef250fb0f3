"""The lessons: one per classroom notebook rnnviz grew out of, and one on reading pixel by pixel.

Settings and reported figures are the notebooks' own (and, for the long-memory lesson, the
papers'); the words are rnnviz's. The notebooks trained on all 60,000 training images, so the
lessons' runs hold out no validation set (`val_fraction=0`) and report test accuracy, as they did.
Each lesson is one module here, `lessonN_<name>.py`; `runs` builds the runs they are made of.
"""

from __future__ import annotations

from rnnviz.common.text import shown
from rnnviz.lessons.catalog.lesson1_fashion_rnn import FASHION_RNN
from rnnviz.lessons.catalog.lesson2_relu_vs_lstm import RELU_VS_LSTM
from rnnviz.lessons.catalog.lesson3_lstm_mnist import LSTM_MNIST
from rnnviz.lessons.catalog.lesson4_cells_and_memory import CELLS_AND_MEMORY
from rnnviz.lessons.catalog.lesson5_small_lstm import SMALL_LSTM
from rnnviz.lessons.catalog.lesson6_pixel_by_pixel import PIXEL_BY_PIXEL
from rnnviz.lessons.lesson import Lesson

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
