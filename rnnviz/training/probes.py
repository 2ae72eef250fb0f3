"""Probe images: a few fixed test images a run reads every so often while it learns.

Each dataset has a fixed set (`PROBE_TABLE`): four images its shipped model reads at once and
four it finds hard, chosen once by `choose_probes` and kept as test-split indices, so every run on
that dataset watches the same eight. While a run trains, `read_probes` reads them with the
current weights about `PROBES_PER_RUN` times (`probe_steps`): after each row, the belief in the
true label and the class it would answer, and how much of the loss gradient reaches each input
row. The events (`ProbeSet`, `Probed`) go into the run record, so a page can replay them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from rnnviz.analysis.rows import input_gradients, row_importance
from rnnviz.analysis.trace import step_logits, trace
from rnnviz.data.datasets import Dataset
from rnnviz.models.network import RowReader, as_input
from rnnviz.training.events import Event, Probed, ProbeSet

__all__ = [
    "PROBES_PER_RUN",
    "PROBE_TABLE",
    "Probes",
    "choose_probes",
    "probe_set",
    "probe_steps",
    "read_probes",
]

PROBES_PER_RUN = 20  # readings over a run, besides the one before the first step
EASY, HARD = "easy", "hard"


@dataclass(frozen=True)
class ProbeChoice:
    """A dataset's probe images as test-split indices."""

    easy: tuple[int, ...]
    hard: tuple[int, ...]


# Chosen by `choose_probes` with the shipped model of each dataset (checkpoints/lstm-*): the four
# most confident right answers of four classes, and four of others it is torn on.
PROBE_TABLE: dict[str, ProbeChoice] = {
    "mnist": ProbeChoice(easy=(440, 1657, 6366, 8206), hard=(2224, 740, 1597, 4639)),
    "fashion-mnist": ProbeChoice(easy=(6693, 9234, 5160, 3718), hard=(1921, 5435, 7640, 3961)),
    "digits": ProbeChoice(easy=(145, 217, 41, 205), hard=(23, 167, 147, 325)),
}


def choose_probes(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, per_kind: int = 4
) -> ProbeChoice:
    """Pick probes with a trained model: the `per_kind` surest right answers (one per class) and
    `per_kind` images it is torn on, its belief in the true label nearest one half (one per other
    class); not the very worst, which are often mislabelled or not digits at all."""
    with torch.no_grad():
        probs = torch.cat([model(images[i : i + 1000]).softmax(-1) for i in
                           range(0, len(images), 1000)])  # fmt: skip
    true = probs[torch.arange(len(labels)), labels]  # (N,)
    easy = _one_per_class(true.argsort(descending=True), labels, per_kind, set())
    taken = {int(labels[i]) for i in easy}
    hard = _one_per_class((true - 0.5).abs().argsort(), labels, per_kind, taken)
    return ProbeChoice(easy=tuple(easy), hard=tuple(hard))


def _one_per_class(order: torch.Tensor, labels: torch.Tensor, n: int, taken: set[int]) -> list[int]:
    chosen: list[int] = []
    for index in order.tolist():
        label = int(labels[index])
        if label not in taken:
            taken.add(label)
            chosen.append(index)
            if len(chosen) == n:
                break
    return chosen


def probe_set(data: Dataset) -> ProbeSet:
    """The dataset's probes; a test split without them (a reduced one) gives its first eight."""
    test = data.test
    choice = PROBE_TABLE.get(data.info.key)
    indices: Sequence[int] = ()
    kinds: list[str] = []
    if choice is not None and choice.easy and max(choice.easy + choice.hard) < len(test):
        indices = choice.easy + choice.hard
        kinds = [EASY] * len(choice.easy) + [HARD] * len(choice.hard)
    else:
        indices = tuple(range(min(8, len(test))))
        kinds = ["test"] * len(indices)
    index = torch.tensor(list(indices), dtype=torch.long, device=test.images.device)
    images = test.images[index].cpu()  # (P, 28, 28) uint8
    return ProbeSet(
        dataset=data.info.key,
        indices=tuple(int(i) for i in indices),
        labels=tuple(int(v) for v in test.labels[index].tolist()),
        kinds=tuple(kinds),
        images=tuple(tuple(tuple(int(p) for p in row) for row in im) for im in images.tolist()),
    )


def probe_steps(total_steps: int, readings: int = PROBES_PER_RUN) -> list[int]:
    """The steps after which a run reads its probes: 0 (before training), then `readings`
    evenly spaced ones ending at the last step."""
    if total_steps <= 0:
        return [0]
    n = min(readings, total_steps)
    return [0, *sorted({round(total_steps * (k + 1) / n) for k in range(n)})]


def read_probes(
    model: nn.Module, probes: ProbeSet, *, step: int, total_steps: int, lane: int = 0
) -> Probed | None:
    """What the model makes of the probes now; None for a model without time steps (a CNN).

    Runs in eval mode and takes gradients only with respect to the inputs, so the weights, their
    gradients and the optimiser are left exactly as they were.
    """
    if not isinstance(model, RowReader) or not probes.indices:
        return None
    device = next(model.parameters()).device
    images = torch.tensor(probes.images, dtype=torch.uint8, device=device)  # (P, 28, 28)
    labels = torch.tensor(probes.labels, dtype=torch.long, device=device)  # (P,)
    if model.config.bidirectional:  # a backward pass over rows 0..t is a run of its own per t
        probs = trace(model, images).probs  # (P, T, C)
        grads = row_importance(model, images, labels).mean(dim=0)  # (T,)
    else:
        probs, grads = _one_pass(model, images, labels)
    true = probs[torch.arange(len(labels), device=device), :, labels]  # (P, T)
    return Probed(
        step=step,
        total_steps=total_steps,
        true_belief=_rounded(true),
        guesses=tuple(tuple(row) for row in probs.argmax(-1).tolist()),
        final=_rounded(probs[:, -1]),
        row_grads=tuple(float(g) for g in grads.tolist()),
        lane=lane,
    )


def _one_pass(
    model: RowReader, images: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(P, T, C) probabilities after each step and (28,) the mean gradient per image row, from
    one forward and one backward pass: a one-way model's readout applies to its state after any
    step. The same numbers `trace` and `row_importance` give, at a fraction of the cost."""
    x = as_input(images).detach().requires_grad_(True)  # (P, 28, 28)
    with input_gradients(model, x):
        logits = step_logits(model, x)  # (P, T, C): T steps of the model's order
        loss = F.cross_entropy(logits[:, -1], labels, reduction="sum")
        (grad,) = torch.autograd.grad(loss, x)
    return logits.detach().softmax(-1), grad.norm(dim=-1).mean(dim=0)


def _rounded(values: torch.Tensor) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(round(v, 4) for v in row) for row in values.tolist())


@dataclass(frozen=True)
class Probes:
    """A run's probes: the images and every reading of one lane, oldest first."""

    images: ProbeSet | None
    readings: tuple[Probed, ...]

    @classmethod
    def of(cls, events: Iterable[Event], lane: int = 0) -> Probes:
        images, readings = None, []
        for event in events:
            if isinstance(event, ProbeSet):
                images = event
            elif isinstance(event, Probed) and event.lane == lane:
                readings.append(event)
        return cls(images, tuple(readings))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Probes:
        """Read `to_dict()` back; anything unreadable gives no probes rather than an error."""
        if not data:
            return cls(None, ())
        try:
            images = ProbeSet.from_plain(data["images"]) if data.get("images") else None
            readings = tuple(Probed.from_plain(r) for r in data.get("readings") or ())
        except (KeyError, TypeError, ValueError):
            return cls(None, ())
        return cls(images, readings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "images": None if self.images is None else self.images.to_dict(),
            "readings": [r.to_dict() for r in self.readings],
        }

    def __bool__(self) -> bool:
        return self.images is not None and bool(self.readings)
