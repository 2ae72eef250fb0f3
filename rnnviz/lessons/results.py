"""A lesson's runs: the jobs one click queues, and the figures its saved models give.

`lesson_jobs` makes the jobs of a lesson's experiments (a training job or a race each), adapted to
the machine's device. A lesson's models are found again by their settings, not by name: a
checkpoint is an experiment's when its run, less what belongs to the machine (data folder,
device), equals the experiment's on a GPU or on a CPU, so a model trained from the Train page
with the same settings counts too, and the figures survive a restart. `lesson_results` reads each
figure from the newest such model.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rnnviz.jobs.races import RaceConfig, race_job
from rnnviz.jobs.runs import training_job
from rnnviz.jobs.sharing import work_key
from rnnviz.jobs.snapshots import JobFn
from rnnviz.lessons.lesson import PERCENT_METRICS, Experiment, Figure, Lesson
from rnnviz.lessons.spreads import SpreadJob
from rnnviz.memory import MemoryJob, Sweep, spread, sweep_seeds
from rnnviz.models.orders import ORDERS
from rnnviz.storage.checkpoints import CheckpointInfo
from rnnviz.storage.comparison import seconds_per_epoch
from rnnviz.training.config import RunConfig, run_key
from rnnviz.training.record import RunRecord, run_title

SPREAD = "spread"  # the LessonJob.experiment of a lesson's Memory lab spread


@dataclass(frozen=True)
class LessonJob:
    """One job a lesson's click queues: what `JobManager.submit` takes."""

    experiment: str
    title: str
    fn: JobFn
    kind: str  # "train" or "race"
    config: dict[str, Any]
    key: str | None = None  # the same work: a class's identical clicks train it once


def lesson_jobs(
    lesson: Lesson,
    *,
    device_type: str,
    out: Path | str,
    data_dir: str | None = None,
    device: str | None = None,
) -> list[LessonJob]:
    """The jobs of every experiment in `lesson`, for a "cpu" or "cuda" machine (`device`, when
    given, is the runs' device setting); ValueError when `out` has no room for their models."""
    jobs = []
    for experiment in lesson.experiments:
        run, version = experiment.for_device(device_type), experiment.version(device_type)
        if data_dir is not None:
            run = replace(run, data=replace(run.data, data_dir=data_dir))
        if device is not None:
            run = replace(run, train=replace(run.train, device=device))
        title = f"Lesson {lesson.number}: {version.title}"
        if not version.cells:
            after = _after(lesson, experiment, device_type, data_dir)
            key = work_key(run) + (f" after {experiment.after}" if after else "")
            trains = training_job(run, out=out, after=after)
            jobs.append(LessonJob(experiment.key, title, trains, "train", run.to_dict(), key))
            continue
        race = RaceConfig(run, version.cells)
        config = {**run.to_dict(), "race_cells": list(race.cells)}
        key = work_key(run, cells=race.cells)
        jobs.append(LessonJob(experiment.key, title, race_job(race, out=out), "race", config, key))
    if lesson.spread is not None and (settings := spread_config(lesson)) is not None:
        sizes, seeds = settings["hidden_sizes"], settings["seeds"]
        sweep = MemoryJob(sweep_seeds, (sizes, seeds, lesson.spread), device or "auto")
        title = f"Lesson {lesson.number}: recall over {len(seeds)} seeds, hidden {sizes}"
        key = json.dumps({"memory": settings, "device": device or "auto"}, sort_keys=True)
        job = SpreadJob(sweep, Path(out), settings)  # keeps its record beside the models
        jobs.append(LessonJob(SPREAD, title, job, "memory", settings, key))
    return jobs


def spread_config(lesson: Lesson) -> dict[str, Any] | None:
    """The settings of `lesson`'s recall spread (what its job and its saved record carry)."""
    if lesson.spread is None:
        return None
    sizes, seeds = list(lesson.spread_sizes), list(lesson.spread_seeds)
    return {"recall": lesson.spread.to_dict(), "hidden_sizes": sizes, "seeds": seeds}


def _after(lesson: Lesson, experiment: Experiment, device_type: str,
           data_dir: str | None) -> RunConfig | None:  # fmt: skip
    """The run whose newest model `experiment` trains on from, as queued on this machine."""
    if not experiment.after:
        return None
    run = lesson.experiment(experiment.after).for_device(device_type)
    return replace(run, data=replace(run.data, data_dir=data_dir)) if data_dir else run


def experiment_models(experiment: Experiment,
                      infos: Iterable[CheckpointInfo]) -> dict[str, CheckpointInfo]:  # fmt: skip
    """Lane ("" for a single run, else the cell) -> the newest finished model of `experiment`."""
    wanted: dict[str, str] = {}
    for device_type in ("cuda", "cpu"):
        for name, run in experiment.lanes_on(device_type).items():
            wanted[run_key(run)] = name
    found: dict[str, CheckpointInfo] = {}
    for info in infos:
        if info.record.status in ("failed", "interrupted"):
            continue
        lane = wanted.get(run_key(info.record.config))
        if lane is not None and (lane not in found or _created(info) > _created(found[lane])):
            found[lane] = info
    return found


def _created(info: CheckpointInfo) -> str:
    return str(info.meta.get("created") or "")


def lesson_models(lesson: Lesson, infos: Sequence[CheckpointInfo]) -> dict[str, CheckpointInfo]:
    """ "experiment" or "experiment:cell" -> its newest model, for every model found."""
    models: dict[str, CheckpointInfo] = {}
    for experiment in lesson.experiments:
        for lane, info in experiment_models(experiment, infos).items():
            models[f"{experiment.key}:{lane}" if lane else experiment.key] = info
    return models


@dataclass(frozen=True)
class Result:
    """One figure beside ours: None where this run has not given it yet."""

    figure: Figure
    ours: float | str | None
    seconds: float | None  # the training seconds of the model it was read from
    model: str = ""  # that model's title
    reduced: bool = False  # read from the CPU's version of the experiment, or a shrunk run

    def row(self) -> dict[str, Any]:
        """A table row of text: figure, source, reported, ours, seconds (empty before there
        are any, never "None"), model."""
        return {"figure": self.figure.label, "source": self.figure.source,
                "reported": show(self.figure.reported, self.figure.metric),
                "this run": show(self.ours, self.figure.metric),
                "seconds": "" if self.seconds is None else f"{self.seconds:.1f}",
                "model": self.model + (" (CPU version)" if self.reduced else "")}  # fmt: skip


def show(value: float | str | None, metric: str) -> str:
    """A figure as the table shows it: "85.70 %", "0.8633", "LSTM", or "-"."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if metric in PERCENT_METRICS:
        return f"{value:.2%}".replace("%", " %")
    return f"{value:.4g}" if metric != "seconds_per_epoch" else f"{value:.1f} s"


def lesson_results(
    lesson: Lesson,
    infos: Sequence[CheckpointInfo],
    *,
    memory: Sweep | None = None,
) -> list[Result]:
    """Every figure of `lesson` beside this machine's: read from the newest matching models,
    and from `memory` (the lesson's finished recall spread over seeds) for the lab's."""
    results = []
    summary = spread(memory.rows) if memory is not None and memory.rows else {}
    seconds = sum(float(r.get("seconds") or 0.0) for r in memory.rows) if memory else None
    models = {e.key: experiment_models(e, infos) for e in lesson.experiments}  # once each
    for figure in lesson.figures:
        if figure.metric == "memory_recall":
            results.append(_spread_result(figure, summary.get(figure.hidden), seconds))
            continue
        experiment = lesson.experiment(figure.experiment)
        results.append(_read(figure, experiment, models[experiment.key]))
    return results


def _spread_result(figure: Figure, of_size: Mapping[str, float] | None,
                   seconds: float | None) -> Result:  # fmt: skip
    """The median over the seeds, with the range: "97.10 % (95.20-98.00 % over 5 seeds)"."""
    if of_size is None:
        return Result(figure, None, None)
    low, high = show(of_size["min"], "memory_recall"), show(of_size["max"], "memory_recall")
    text = f"{show(of_size['median'], 'memory_recall')} ({low} to {high} over "
    text += f"{int(of_size['runs'])} seeds)"
    return Result(figure, text, seconds, "Memory lab spread")


def _read(figure: Figure, experiment: Experiment, models: Mapping[str, CheckpointInfo]) -> Result:
    if figure.metric == "best_cell":
        done = {lane: i for lane, i in models.items() if i.test_accuracy is not None}
        if len(done) < min(len(v.cells) for v in experiment.versions):
            return Result(figure, None, None)
        best = max(done.values(), key=lambda i: i.test_accuracy or 0.0)
        seconds = sum(i.record.seconds for i in done.values())
        return Result(figure, best.record.config.model.cell, seconds, "the race",
                      _reduced(experiment, best.record))  # fmt: skip
    info = models.get(figure.cell)
    if info is None:
        return Result(figure, None, None)
    record = info.record
    return Result(figure, _metric(record, figure.metric), record.seconds, record.title,
                  _reduced(experiment, record))  # fmt: skip


def _reduced(experiment: Experiment, record: RunRecord) -> bool:
    full = {run_key(r) for r in experiment.lanes().values()}
    return run_key(record.config) not in full


def _metric(record: RunRecord, metric: str) -> float | None:
    metrics = record.test_metrics
    if metric == "seconds_per_epoch":
        return seconds_per_epoch(record)
    if metrics is None:
        return None
    if metric == "accuracy":
        return metrics.accuracy
    return float(metrics.weighted[metric])


def experiment_title(experiment: Experiment, device_type: str = "cuda") -> str:
    """What the page lists for an experiment as a "cpu" or "cuda" machine trains it: its title
    and its model's."""
    version = experiment.version(device_type)
    if version.cells:
        return f"{version.title} (a race of {len(version.cells)} cells)"
    return f"{version.title} ({run_title(version.run)})"


def cpu_note(experiment: Experiment) -> str:
    """What a CPU trains instead of the whole experiment, for the page; "" when the same."""
    if not experiment.shrinks_on_cpu:
        return ""
    run = experiment.for_device("cpu")
    subset = f"{run.data.train_subset:,}" if run.data.train_subset else "all the"
    epochs = f"{run.train.epochs} epoch" + ("s" if run.train.epochs != 1 else "")
    text = f"On this CPU it trains on {subset} training images for {epochs}"
    if experiment.cpu is not None and run.model.order != experiment.run.model.order:
        order = ORDERS[run.model.order]
        text += f", reading {order.how} ({order.steps} steps, not {experiment.run.model.steps})"
    return text + ", so it fits a class period; a GPU runs the whole experiment."
