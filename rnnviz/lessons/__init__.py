"""Lessons: each classroom notebook rnnviz grew out of as a guided walk through the app.

`lesson` says what a lesson is (experiments, reported figures, steps, questions), `catalog` holds
the lessons themselves, and `results` queues a lesson's runs and reads its figures back from the
models saved on disk. The names below are the whole API a page or a test needs.
"""

from rnnviz.lessons.catalog import LESSONS, get_lesson, lesson_from_param
from rnnviz.lessons.lesson import METRICS, PAGES, Experiment, Figure, Lesson, Step
from rnnviz.lessons.results import (
    LessonJob,
    Result,
    cpu_note,
    experiment_models,
    experiment_title,
    lesson_jobs,
    lesson_models,
    lesson_results,
    run_key,
    show,
    spread_config,
)
from rnnviz.lessons.spreads import SpreadJob, saved_spread

__all__ = [
    "LESSONS",
    "METRICS",
    "PAGES",
    "Experiment",
    "Figure",
    "Lesson",
    "LessonJob",
    "Result",
    "SpreadJob",
    "Step",
    "cpu_note",
    "experiment_models",
    "experiment_title",
    "get_lesson",
    "lesson_from_param",
    "lesson_jobs",
    "lesson_models",
    "lesson_results",
    "run_key",
    "saved_spread",
    "show",
    "spread_config",
]
