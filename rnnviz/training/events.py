"""Progress events: one frozen dataclass per moment of a run, plain data at process boundaries.

A trainer says what happened by emitting `Started`, `Stepped`, `EpochEnded`, `Tested` or
`Failed`, `LrChanged` when a person changes the learning rate, `Resumed` when it goes on from a
saved run, `EpochState` (what its folder on disk keeps) at the end of each epoch when asked, and
`ProbeSet` / `Probed` for the probe images it reads as it learns; in a race every model's events
carry its `lane`. The memory lab emits `MemoryStepped` and `MemoryEvaluated`. Every event has
`to_dict()` (JSON-ready, with its `kind`) and `event_from_dict` reads one back, so events can
cross threads, processes and machines. A `Stepped` carries every loss of its report window (one
step on a CPU, a few dozen on a GPU, whose device is synced once per window); `History`
(`rnnviz.training.history`) folds the very same events into a run's history.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self


class _Plain:
    """to_dict / from_dict for an event dataclass; tuples travel as lists."""

    kind: ClassVar[str]

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]
        return {"kind": self.kind, **{k: _lists(v) for k, v in data.items()}}

    @classmethod
    def from_plain(cls, data: Mapping[str, Any]) -> Self:
        """`to_dict()` read back as this kind of event; ValueError for anything else."""
        event = event_from_dict(data)
        if not isinstance(event, cls):
            raise ValueError(f"expected a {cls.kind} event, got {data.get('kind')!r}")
        return event


def _lists(value: Any) -> Any:
    return [_lists(v) for v in value] if isinstance(value, tuple | list) else value


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list | tuple) else value


@dataclass(frozen=True)
class Started(_Plain):
    """The model is built and the first step is next."""

    kind: ClassVar[str] = "started"
    device: str  # "CPU" or the GPU's name
    steps_per_epoch: int
    total_steps: int
    parameters: int
    fast_path: str  # "eager" or "cuda-graph"
    lane: int = 0  # which model of a race (0 for a single run)


@dataclass(frozen=True)
class Stepped(_Plain):
    """Steps first_step .. step have run; `losses` holds each one's loss, in order."""

    kind: ClassVar[str] = "stepped"
    first_step: int  # 1-based number of the step whose loss is losses[0]
    losses: tuple[float, ...]  # cross-entropy in nats, one per step of the window
    epoch: int  # 1-based epoch the window belongs to
    steps_per_epoch: int
    total_steps: int
    lr: float  # the learning rate after the window's last step
    samples_per_s: float  # since the run started, pauses excluded
    eta_s: float
    elapsed_s: float  # seconds trained when the window was reported, pauses excluded
    lane: int = 0  # which model of a race (0 for a single run)

    @property
    def step(self) -> int:
        """The last step of the window."""
        return self.first_step + len(self.losses) - 1

    @property
    def loss(self) -> float:
        return self.losses[-1]

    @property
    def progress(self) -> float:
        return self.step / self.total_steps

    def step_epochs(self) -> list[float]:
        """Each step of the window as a fractional epoch: step 30 of 60 in epoch 2 is 1.5."""
        done = (self.epoch - 1) * self.steps_per_epoch
        return [
            self.epoch - 1 + (self.first_step + i - done) / self.steps_per_epoch
            for i in range(len(self.losses))
        ]


@dataclass(frozen=True)
class EpochEnded(_Plain):
    """An epoch is over and the validation split was scored (NaN where there is none)."""

    kind: ClassVar[str] = "epoch_ended"
    epoch: int
    epochs: int
    train_acc: float  # in [0, 1], on the batches as they were trained
    train_loss: float
    val_acc: float
    val_loss: float
    elapsed_s: float
    lane: int = 0  # which model of a race (0 for a single run)


@dataclass(frozen=True)
class Tested(_Plain):
    """The finished or stopped model was scored on the test set."""

    kind: ClassVar[str] = "tested"
    accuracy: float
    loss: float | None
    lane: int = 0  # which model of a race (0 for a single run)


@dataclass(frozen=True)
class Failed(_Plain):
    """The run cannot go on; `message` says what to change."""

    kind: ClassVar[str] = "failed"
    message: str
    lane: int = 0  # which model of a race (0 for a single run)


@dataclass(frozen=True)
class LrChanged(_Plain):
    """The learning rate was changed by hand while the run trained; `step` is the first step
    that used the new rate (1-based). A schedule goes on scaled to the new rate."""

    kind: ClassVar[str] = "lr_changed"
    step: int
    lr: float
    previous: float  # the rate the step before it used
    lane: int = 0


@dataclass(frozen=True)
class Resumed(_Plain):
    """The run goes on from a saved one after its step `step`: `history` is the saved run's,
    which this run's continues, and `note` says how (its optimiser state restored or fresh)."""

    kind: ClassVar[str] = "resumed"
    step: int  # steps the saved run had done; this run's first step is step + 1
    epoch: int  # epochs it had finished
    source: str  # the saved run's folder name
    note: str
    history: Mapping[str, Any] = field(default_factory=dict)
    lane: int = 0


@dataclass(frozen=True)
class EpochState(_Plain):
    """Everything needed to go on from the end of epoch `epoch`, for the run's folder on disk: its
    record so far (status "interrupted"), its weights and state as safetensors files (base64
    text, so the event stays plain JSON) and the state's numbers (`TrainState.plain()`). Emitted
    only by a run asked to keep its state."""

    kind: ClassVar[str] = "epoch_state"
    epoch: int
    epochs: int
    step: int
    record: Mapping[str, Any]
    weights: str  # model.safetensors, base64
    tensors: str  # the state's tensors as safetensors, base64
    state: Mapping[str, Any]
    lane: int = 0

    def files(self) -> tuple[bytes, bytes]:
        """(weights, state tensors) as safetensors bytes."""
        return base64.b64decode(self.weights), base64.b64decode(self.tensors)


@dataclass(frozen=True)
class ProbeSet(_Plain):
    """The fixed test images a run reads every so often while it trains (see `Probed`)."""

    kind: ClassVar[str] = "probe_set"
    dataset: str
    indices: tuple[int, ...]  # (P,) their places in the test split
    labels: tuple[int, ...]  # (P,)
    kinds: tuple[str, ...]  # (P,) "easy" or "hard": how a trained model finds each
    images: tuple[tuple[tuple[int, ...], ...], ...]  # (P, 28, 28) uint8 pixels, rows first


@dataclass(frozen=True)
class Probed(_Plain):
    """The probe images read by the weights of step `step` (0: before the first step)."""

    kind: ClassVar[str] = "probed"
    step: int
    total_steps: int
    true_belief: tuple[tuple[float, ...], ...]  # (P, T) probability of the true label after row t
    guesses: tuple[tuple[int, ...], ...]  # (P, T) the class it would answer after row t
    final: tuple[tuple[float, ...], ...]  # (P, C) class probabilities after the last row
    row_grads: tuple[float, ...]  # (T,) mean over probes of |d loss / d row t|, the gradient
    # that reaches each input row: where it fades to nothing, the model cannot learn from it
    lane: int = 0

    @property
    def progress(self) -> float:
        return self.step / max(self.total_steps, 1)


@dataclass(frozen=True)
class MemoryStepped(_Plain):
    """A memory-lab step: the batch's loss and accuracy. In a sweep, run `run` of `runs`."""

    kind: ClassVar[str] = "memory_stepped"
    step: int
    loss: float
    accuracy: float  # share of right answers in the training batch
    progress: float  # 0..1 through the whole job (a sweep rescales each run's share)
    run: int = 0
    runs: int = 1
    labels: Mapping[str, Any] = field(default_factory=dict)  # a sweep run's settings


@dataclass(frozen=True)
class MemoryEvaluated(_Plain):
    """The held-out set was scored: `scores` maps a name ("test_accuracy", ...) to a share."""

    kind: ClassVar[str] = "memory_evaluated"
    step: int
    scores: Mapping[str, float]
    run: int = 0
    runs: int = 1
    labels: Mapping[str, Any] = field(default_factory=dict)

    @property
    def test_accuracy(self) -> float:
        return self.scores["test_accuracy"]


Event = (
    Started | Stepped | EpochEnded | Tested | Failed | LrChanged | Resumed | EpochState
    | ProbeSet | Probed | MemoryStepped | MemoryEvaluated
)  # fmt: skip
EmitFn = Callable[[Event], None]
_KINDS = (Started, Stepped, EpochEnded, Tested, Failed, LrChanged, Resumed, EpochState,
          ProbeSet, Probed, MemoryStepped, MemoryEvaluated)  # fmt: skip
EVENTS: dict[str, type[Event]] = {cls.kind: cls for cls in _KINDS}


def ignore_event(event: Event) -> None:
    """The default `emit`: drop the report."""


def event_from_dict(data: Mapping[str, Any]) -> Event:
    """Read `Event.to_dict()` back; ValueError naming an unknown kind or a missing/extra field."""
    kind = data.get("kind")
    if kind not in EVENTS:
        raise ValueError(f"event kind={kind!r} is not one of {sorted(EVENTS)}")
    cls = EVENTS[str(kind)]
    names = {f.name for f in dataclasses.fields(cls)}
    fields = {k: v for k, v in data.items() if k != "kind"}
    if set(fields) - names:
        raise ValueError(f"{kind} event has unknown fields {sorted(set(fields) - names)}")
    fields = {k: _tuples(v) for k, v in fields.items()}
    try:
        return cls(**fields)
    except TypeError as exc:
        raise ValueError(f"{kind} event: {exc}") from None
