"""What the rows do: edit them, ask which mattered, see when the guess locks in.

The row edits (`erase_rows`, `reverse_rows`, `first_rows`) make the inputs for "what if"
experiments; `run_experiment` reads an image as it is and after one of the `EXPERIMENTS`.
`row_importance` asks which rows moved the loss, and `row_share` turns that into each row's share,
comparable across models; both are about image rows, whatever order the model reads in.
`locks_in_at` finds the step from which a model's guess stops changing (a row for a row model, a
pixel for the 784-step orders).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rnnviz.analysis.reading import Reading, _as_rows, read_image
from rnnviz.analysis.trace import _model_input, locks_in_at, step_logits
from rnnviz.models.network import IMAGE_SIZE, RowReader, evaluating

__all__ = [
    "EXPERIMENTS",
    "Experiment",
    "edit_rows",
    "erase_rows",
    "first_rows",
    "input_gradients",
    "locks_in_at",
    "mean_lock_in_row",
    "reverse_rows",
    "row_importance",
    "row_share",
    "run_experiment",
]

# experiment key -> what the page calls it
EXPERIMENTS: dict[str, str] = {
    "none": "None: the image as it is",
    "erase_top": "Erase the top half",
    "erase_bottom": "Erase the bottom half",
    "first_k": "Feed only the first k rows",
    "reverse": "Reverse the row order",
}


@dataclass(frozen=True, eq=False)
class Experiment:
    """The same image read twice: as it is and after an edit of its rows."""

    name: str  # a key of EXPERIMENTS
    original: Reading
    edited: Reading

    @property
    def changed(self) -> bool:
        return self.original.prediction != self.edited.prediction


def erase_rows(images: torch.Tensor, rows: Sequence[int] | slice) -> torch.Tensor:
    """A copy of images (..., T, 28) with the given rows set to 0 (black)."""
    out = images.clone()
    # A tuple inside an index means "more dimensions"; a list means "these rows".
    out[..., rows if isinstance(rows, slice) else list(rows), :] = 0
    return out


def reverse_rows(images: torch.Tensor) -> torch.Tensor:
    """A copy of images (..., T, 28) with the rows in reverse order: the digit upside down."""
    return images.flip(-2)


def first_rows(images: torch.Tensor, k: int) -> torch.Tensor:
    """A copy of the first k rows of images (..., T, 28) -> (..., k, 28)."""
    rows = images.shape[-2]
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= rows:
        raise ValueError(f"k={k!r} must be an int between 1 and {rows}")
    return images[..., :k, :].clone()


def edit_rows(image: Any, experiment: str, *, k: int = IMAGE_SIZE // 2) -> np.ndarray:
    """The rows a row experiment feeds: (T', 28) uint8. `k` is used by "first_k" only."""
    if experiment not in EXPERIMENTS:
        raise ValueError(f"experiment={experiment!r} is not one of {sorted(EXPERIMENTS)}")
    rows = torch.from_numpy(_as_rows(image))  # (T, 28)
    half = rows.shape[0] // 2
    if experiment == "erase_top":
        rows = erase_rows(rows, slice(0, half))
    elif experiment == "erase_bottom":
        rows = erase_rows(rows, slice(half, None))
    elif experiment == "first_k":
        rows = first_rows(rows, k)
    elif experiment == "reverse":
        rows = reverse_rows(rows)
    return rows.numpy().copy()


def run_experiment(
    model: nn.Module, image: Any, experiment: str, *, k: int = IMAGE_SIZE // 2
) -> Experiment:
    """Read `image` as it is and after `edit_rows(image, experiment, k=k)`; "first_k" feeds fewer
    than 28 rows to a row model, and black rows after the k-th to a model that reads whole images
    (another order, or a CNN)."""
    original = read_image(model, image)
    edited = original
    if experiment == "first_k" and _whole_images(model):
        rows = torch.from_numpy(_as_rows(image))
        edited = read_image(model, erase_rows(first_rows(rows, rows.shape[0]), slice(k, None)))
    elif experiment != "none":
        edited = read_image(model, edit_rows(image, experiment, k=k))
    return Experiment(name=experiment, original=original, edited=edited)


def _whole_images(model: nn.Module) -> bool:
    """True for a model that cannot read part of an image: a CNN, or an order other than rows."""
    return not isinstance(model, RowReader) or model.config.order != "rows"


@contextmanager
def input_gradients(model: nn.Module, x: torch.Tensor) -> Iterator[None]:
    """Eval mode with gradients on, for gradients with respect to the input `x`; cuDNN's RNN
    backward refuses to run in eval mode, so on CUDA the native kernels are used instead."""
    no_cudnn: AbstractContextManager[Any] = (
        torch.backends.cudnn.flags(enabled=False) if x.is_cuda else nullcontext()
    )
    with evaluating(model), torch.enable_grad(), no_cudnn:
        yield


def row_importance(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(B, T): the L2 norm over pixels of d(cross-entropy)/d(row t) for each image.

    Pixels are in [0, 1] units. Works for any model that maps (B, T, 28) to logits, the CNN too.
    """
    x = _model_input(model, images).detach().clone().requires_grad_(True)  # (B, T, 28)
    labels = labels.to(x.device).reshape(-1)
    with input_gradients(model, x):
        # Summed, not averaged: image i's gradient is then exactly that of its own loss.
        loss = F.cross_entropy(model(x), labels, reduction="sum")
        (grad,) = torch.autograd.grad(loss, x)
    return grad.norm(dim=-1)


def row_share(model: nn.Module, images: Any, labels: Any) -> np.ndarray:
    """(T,) each row's share of the loss gradient, averaged over images (B, T, 28); sums to 1.

    A row's gradient is its `row_importance`; dividing by the total per image makes models with
    very different gradient scales comparable.
    """
    batch = torch.as_tensor(np.asarray(images))
    if batch.ndim == 2:
        batch = batch.unsqueeze(0)
    target = torch.as_tensor(np.asarray(labels), dtype=torch.long).reshape(-1)
    grads = row_importance(model, batch, target).cpu()  # (B, T)
    totals = grads.sum(dim=1, keepdim=True)
    shares = torch.where(totals > 0, grads / totals.clamp_min(1e-30), torch.zeros_like(grads))
    mean = shares.mean(dim=0)
    total = float(mean.sum())
    return (mean / total).numpy() if total > 0 else mean.numpy()


def mean_lock_in_row(model: nn.Module, images: torch.Tensor, *, batch: int = 250) -> float | None:
    """The mean 1-based step from which a recurrent model's guess stays its final one, over images
    (N, 28, 28); None for a model without time steps (a CNN). A step is a row for a row model, a
    pixel of its order for the 784-step ones. Read in batches, so the per-step answers of a whole
    test set never sit in memory at once; a one-way model in one fast pass per batch."""
    from rnnviz.analysis.trace import trace  # trace needs a RowReader; checked here, not at import

    if not isinstance(model, RowReader) or len(images) == 0:
        return None
    total = 0
    with evaluating(model), torch.no_grad():
        for start in range(0, len(images), batch):
            chunk = images[start : start + batch]
            if model.config.bidirectional:
                guesses = trace(model, chunk).probs.argmax(dim=-1)  # (B, T)
            else:
                guesses = step_logits(model, _model_input(model, chunk)).argmax(dim=-1)
            changed = guesses != guesses[:, -1:]  # (B, T): steps whose guess is not the final one
            steps = torch.arange(1, guesses.shape[1] + 1, device=guesses.device)
            total += int((changed * steps).amax(dim=1).sum())  # last changed; locks in one later
    return total / len(images) + 1
