"""Watching a model read one picture: the helpers the Inside and Draw pages call.

`read_image` runs a model over one 28x28 image and keeps what the pages show (final
probabilities, the step-by-step `Trace` for recurrent models); `read_drawing` first applies MNIST's
preprocessing to a canvas picture. The small helpers around them pick images and models and check
what one page hands to another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np
import torch
from torch import nn

from rnnviz.analysis.trace import Trace, locks_in_at
from rnnviz.analysis.trace import trace as trace_model
from rnnviz.data.preprocess import Preprocessed, preprocess
from rnnviz.models.cells import CELLS
from rnnviz.models.network import IMAGE_SIZE, ModelConfig, evaluating

__all__ = [
    "Drawing",
    "Handover",
    "Reading",
    "drawing_handover",
    "importance_pair",
    "is_recurrent",
    "misclassified_indices",
    "parse_handover",
    "read_drawing",
    "read_image",
]


@dataclass(frozen=True, eq=False)  # eq=False: arrays have no single truth value
class Reading:
    """What a model made of one image; T rows read, C classes."""

    image: np.ndarray  # (T, 28) uint8: the rows the model read, top first
    probs: np.ndarray  # (C,) float: class probabilities after the last row
    trace: Trace | None  # batch of one; None for a CNN, which has no time steps

    @property
    def prediction(self) -> int:
        return int(self.probs.argmax())

    @property
    def confidence(self) -> float:
        return float(self.probs.max())

    @property
    def belief(self) -> np.ndarray | None:
        """(T, C) class probabilities after each row, or None for a CNN."""
        return None if self.trace is None else self.trace.probs[0].cpu().numpy()

    @property
    def locks_in(self) -> int | None:
        """0-based row from which the guess stays the final one, or None for a CNN."""
        return None if self.trace is None else locks_in_at(self.trace.probs[0])


@dataclass(frozen=True, eq=False)
class Drawing:
    """A canvas picture, its preprocessing stages, and the model's reading of the 28x28 result."""

    pre: Preprocessed
    reading: Reading
    naive: Reading | None  # the reading of the naive resize, when asked for


@dataclass(frozen=True, eq=False)
class Handover:
    """An image one page hands to Inside the RNN: a test-set index, or a drawn 28x28 image."""

    source: str  # "test" or "drawing"
    index: int | None = None  # test-set index when source == "test"
    image: np.ndarray | None = None  # (28, 28) uint8 when source == "drawing"


class _Described(Protocol):
    @property
    def cell(self) -> str: ...

    @property
    def dataset(self) -> str: ...


D = TypeVar("D", bound=_Described)


def is_recurrent(model: nn.Module) -> bool:
    """True for the models `trace` can unroll (everything but the CNN)."""
    config = getattr(model, "config", None)
    return isinstance(config, ModelConfig) and config.recurrent


def _as_rows(image: Any) -> np.ndarray:
    """An image as (T, 28) uint8, from a tensor, an array or nested lists; 1 <= T <= 28."""
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu().numpy()
    rows = np.asarray(image)
    if rows.ndim != 2 or rows.shape[1] != IMAGE_SIZE or not 1 <= rows.shape[0] <= IMAGE_SIZE:
        raise ValueError(
            f"image must be (T, {IMAGE_SIZE}) with 1 <= T <= {IMAGE_SIZE}, got {rows.shape}"
        )
    if rows.dtype != np.uint8:
        if np.issubdtype(rows.dtype, np.floating) and rows.size and float(rows.max()) <= 1.0:
            rows = rows * 255.0  # floats in [0, 1]
        rows = np.clip(np.round(rows), 0, 255).astype(np.uint8)
    return rows


def read_image(model: nn.Module, image: Any) -> Reading:
    """Read one image (T, 28) (uint8, or floats in [0, 1]) with `model`, on the model's device.

    Recurrent models are traced step by step (the final probabilities are the trace's last row);
    a CNN needs all 28 rows and gives probabilities only.
    """
    rows = _as_rows(image)
    batch = torch.from_numpy(rows).unsqueeze(0)  # (1, T, 28): rows are time steps
    if is_recurrent(model):
        steps = trace_model(model, batch)
        return Reading(image=rows, probs=steps.probs[0, -1].cpu().numpy(), trace=steps)
    if rows.shape[0] != IMAGE_SIZE:
        raise ValueError(
            f"a CNN reads whole {IMAGE_SIZE}x{IMAGE_SIZE} images, got {rows.shape[0]} rows"
        )
    param = next(model.parameters())
    with evaluating(model), torch.no_grad():
        logits = model(batch.to(param.device))  # (1, C)
    return Reading(image=rows, probs=logits.softmax(-1)[0].cpu().numpy(), trace=None)


def read_drawing(model: nn.Module, picture: Any, *, naive: bool = False) -> Drawing:
    """Preprocess a canvas picture (H, W[, C]) the MNIST way and read the 28x28 result.

    Raises `BlankImageError` when there is nothing (or too little) drawn. With `naive=True` the
    naive resize of the whole canvas is read too, for comparison.
    """
    pre = preprocess(picture)
    return Drawing(
        pre=pre,
        reading=read_image(model, pre.image),
        naive=read_image(model, pre.naive) if naive else None,
    )


def misclassified_indices(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, limit: int = 2000
) -> list[int]:
    """Indices among the first `limit` images (N, 28, 28) that `model` gets wrong."""
    head, truth = images[:limit], labels[:limit]
    param = next(model.parameters())
    with evaluating(model), torch.no_grad():
        preds = torch.cat(
            [
                model(head[i : i + 500].to(param.device)).argmax(-1).cpu()
                for i in range(0, len(head), 500)
            ]
        )
    return (preds != truth.cpu()).nonzero().flatten().tolist()


def _plain_gated(cell: str) -> bool:
    """An LSTM or GRU reading raw rows (not conv features): the fair partner of a vanilla RNN."""
    row = CELLS[cell]
    return row.family in ("lstm", "gru") and not row.convolutional


def importance_pair(infos: Sequence[D], dataset: str | None = None) -> tuple[D, D] | None:
    """The first vanilla RNN and the first LSTM/GRU trained on the same dataset, or None.

    `infos` are CheckpointInfo-like (`.cell`, `.dataset`). With `dataset`, only that dataset's
    models count (their row importance is measured on its images); without, the first dataset
    that has both kinds.
    """
    datasets = [dataset] if dataset else list(dict.fromkeys(i.dataset for i in infos))
    for name in datasets:
        same = [i for i in infos if i.dataset == name]
        rnn = next((i for i in same if CELLS[i.cell].family == "rnn"), None)
        gated = next((i for i in same if _plain_gated(i.cell)), None)
        if rnn is not None and gated is not None:
            return rnn, gated
    return None


def parse_handover(value: Any) -> Handover | None:
    """Check what another page put in st.session_state["inside_image"]; None if unusable.

    Accepted: {"source": "test", "index": i >= 0} and {"source": "drawing", "image": 28x28 values
    in 0..255 (nested lists or an array)}.
    """
    if not isinstance(value, dict):
        return None
    source = value.get("source")
    if source == "test":
        index = value.get("index")
        if isinstance(index, int | np.integer) and not isinstance(index, bool) and index >= 0:
            return Handover(source="test", index=int(index))
        return None
    if source == "drawing":
        try:
            image = np.asarray(value.get("image"), dtype=np.float64)
        except (TypeError, ValueError):
            return None
        if image.shape != (IMAGE_SIZE, IMAGE_SIZE) or not np.isfinite(image).all():
            return None
        if image.min() < 0 or image.max() > 255:
            return None
        return Handover(source="drawing", image=np.round(image).astype(np.uint8))
    return None


def drawing_handover(image: np.ndarray) -> dict[str, Any]:
    """What Draw puts in st.session_state["inside_image"] for a preprocessed 28x28 drawing."""
    return {"source": "drawing", "image": np.asarray(image, dtype=np.uint8).tolist()}
