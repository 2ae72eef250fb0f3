"""What a lesson is: experiments to run, figures to reproduce, steps to look at, questions to ask.

A `Lesson` turns one classroom notebook into a short walk: `Experiment`s (a run, or a race of cells
on one run's settings) that one click queues as jobs, the `Figure`s the notebook (or a paper)
reported beside the ones these runs get, `Step`s that each open a page with its state set, and
questions for students. Everything here is plain data; `rnnviz.lessons.results` reads a lesson's
models back from the checkpoints on disk.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from rnnviz.memory.tasks import RecallConfig
from rnnviz.models.network import ModelConfig
from rnnviz.training.config import RunConfig

PAGES: dict[str, str] = {  # a step's page -> the page file that shows it
    "train": "pages/train.py",
    "evaluate": "pages/evaluate.py",
    "compare": "pages/compare.py",
    "inside": "pages/inside.py",
    "draw": "pages/draw.py",
    "memory": "pages/memory_lab.py",
}
METRICS: dict[str, str] = {  # what a figure reads from a model's record
    "accuracy": "test accuracy",
    "precision": "weighted precision",
    "recall": "weighted recall",
    "f1": "weighted F1",
    "seconds_per_epoch": "seconds per epoch",
    "best_cell": "the race's best cell",
    "memory_recall": "recall accuracy (memory lab)",
}
PERCENT_METRICS = ("accuracy", "memory_recall")  # shown as percentages, the others as numbers


@dataclass(frozen=True)
class Experiment:
    """One thing a lesson trains: `run` alone, or a race of `cells` on `run`'s settings.

    On a CPU, `cpu` (when given) is trained instead: a shorter version of the same experiment,
    with its own run, cells and title (784 pixel steps become 196, say). `cpu_subset` and
    `cpu_epochs` (when not 0) shrink the run a CPU trains so it fits a class period; the page
    says so. Every version counts as this experiment when its models are looked up.
    """

    key: str  # the lesson's name for it: figures and steps refer to it
    title: str
    run: RunConfig
    cells: tuple[str, ...] = ()  # a race of these cells; () trains `run` itself
    cpu_subset: int = 0  # on a CPU: train on the first N training images only (0: all)
    cpu_epochs: int = 0  # on a CPU: this many epochs instead of the run's own (0: the same)
    after: str = ""  # train on from this experiment's newest model, when there is one
    cpu: Experiment | None = None  # on a CPU: this version instead (None: this one, shrunk)

    def __post_init__(self) -> None:
        if self.cells and len(set(self.cells)) != len(self.cells):
            raise ValueError(f"cells={list(self.cells)} names a cell twice")
        if self.cpu_subset < 0 or self.cpu_epochs < 0:
            raise ValueError(f"cpu_subset={self.cpu_subset} and cpu_epochs={self.cpu_epochs} "
                             "must be 0 (no change) or more")  # fmt: skip
        if self.cpu is not None and (self.cpu.key != self.key or self.cpu.cpu is not None):
            raise ValueError(f"the CPU version of {self.key!r} must have the key {self.key!r} "
                             f"(not {self.cpu.key!r}) and no CPU version of its own")  # fmt: skip
        if self.cpu is not None and self.cpu.after != self.after:
            raise ValueError(f"the CPU version of {self.key!r} must train on from the same "
                             f"experiment ({self.after!r}, not {self.cpu.after!r})")  # fmt: skip

    def version(self, device_type: str) -> Experiment:
        """The experiment as a "cpu" or "cuda" machine trains it: `cpu` on a CPU, when given."""
        return self.cpu if device_type == "cpu" and self.cpu is not None else self

    @property
    def versions(self) -> tuple[Experiment, ...]:
        """This experiment, and its CPU version when it has one."""
        return (self,) if self.cpu is None else (self, self.cpu)

    @property
    def shrinks_on_cpu(self) -> bool:
        cpu = self.version("cpu")
        return bool(self.cpu is not None or cpu.cpu_subset or cpu.cpu_epochs)

    def for_device(self, device_type: str) -> RunConfig:
        """The run as it is queued on a "cpu" or "cuda" machine."""
        version = self.version(device_type)
        run = version.run
        if device_type != "cpu":
            return run
        if version.cpu_subset:
            run = replace(run, data=replace(run.data, train_subset=version.cpu_subset))
        if version.cpu_epochs:
            run = replace(run, train=replace(run.train, epochs=version.cpu_epochs))
        return run

    def lanes(self, run: RunConfig | None = None) -> dict[str, RunConfig]:
        """Each model this experiment makes: cell -> its run ("" for a single run)."""
        run = run or self.run
        if not self.cells:
            return {"": run}
        return {c: replace(run, model=_with_cell(run.model, c)) for c in self.cells}

    def lanes_on(self, device_type: str) -> dict[str, RunConfig]:
        """Each model a "cpu" or "cuda" machine makes of this experiment: lane -> its run."""
        return self.version(device_type).lanes(self.for_device(device_type))


def _with_cell(model: ModelConfig, cell: str) -> ModelConfig:
    return replace(model, cell=cell)


@dataclass(frozen=True)
class Figure:
    """A figure someone reported, and where this lesson's runs give theirs."""

    label: str  # "RNN (tanh) 3x256: test accuracy"
    reported: float | str | None  # 0.857 (a fraction), "lstm" (a best cell), None: not reported
    experiment: str  # the Experiment that gives ours
    metric: str = "accuracy"  # one of METRICS
    cell: str = ""  # the race lane it reads ("": the experiment's only model)
    source: str = "notebook"  # who reported it: "notebook", or a paper
    hidden: int = 0  # memory_recall only: the hidden size of the recall spread it reads

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"metric={self.metric!r} is not one of {list(METRICS)}")


@dataclass(frozen=True)
class Step:
    """One thing to look at: a button that opens `page` with its state set, and what to see."""

    label: str  # the button: "Open Evaluate on the 3x256 RNN"
    text: str  # what to look for there
    page: str  # one of PAGES
    models: tuple[str, ...] = ()  # "experiment" or "experiment:cell": the models it opens
    image: int | None = None  # Inside: the test image to read
    params: Mapping[str, str] = field(default_factory=dict)  # the page's URL settings

    def __post_init__(self) -> None:
        if self.page not in PAGES:
            raise ValueError(f"page={self.page!r} is not one of {list(PAGES)}")


@dataclass(frozen=True)
class Lesson:
    """One notebook, taught: what it shows, what to run, what it reported, where to look."""

    number: int  # ?lesson=N
    title: str
    source: str  # the notebook (or paper) it follows
    teaches: str  # two or three sentences
    experiments: tuple[Experiment, ...]
    figures: tuple[Figure, ...]
    steps: tuple[Step, ...]
    questions: tuple[str, ...]
    spread: RecallConfig | None = None  # a Memory lab recall spread over seeds, queued too
    spread_sizes: tuple[int, ...] = (2, 5, 10)  # its hidden sizes
    spread_seeds: tuple[int, ...] = (0, 1, 2, 3, 4)  # and its seeds

    def __post_init__(self) -> None:
        keys = [e.key for e in self.experiments]
        if len(set(keys)) != len(keys):
            raise ValueError(f"lesson {self.number} names an experiment twice: {keys}")
        for figure in self.figures:
            if figure.metric != "memory_recall" and figure.experiment not in keys:
                raise ValueError(f"figure {figure.label!r} reads unknown {figure.experiment!r}")
        for step in self.steps:
            for model in step.models:
                if model.partition(":")[0] not in keys:
                    raise ValueError(f"step {step.label!r} opens unknown model {model!r}")

    def experiment(self, key: str) -> Experiment:
        for experiment in self.experiments:
            if experiment.key == key:
                return experiment
        raise ValueError(f"lesson {self.number} has no experiment {key!r}")
