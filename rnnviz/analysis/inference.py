"""Running models: predictions and scores for a tensor of images.

`predict` and `evaluate` run a model over images (N, 28, 28) in batches, in eval mode. The same
for a saved model (a checkpoint, picture files) is `rnnviz.storage.scoring`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from rnnviz.analysis.metrics import Labels, Metrics, as_labels, compute_metrics
from rnnviz.models.network import evaluating


@torch.no_grad()
def predict(
    model: nn.Module, images: torch.Tensor, *, batch_size: int = 2048
) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted classes (N,) and class probabilities (N, C) for `images` (N, 28, 28).

    Runs in eval mode (the model's training flag is restored afterwards); results stay on the
    images' device, which must be the model's.
    """
    logits = _logits(model, images, batch_size=batch_size)  # (N, C)
    return logits.argmax(dim=1), logits.softmax(dim=1)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    images: torch.Tensor,
    labels: Labels,
    class_names: Sequence[str],
    *,
    batch_size: int = 2048,
) -> tuple[Metrics, torch.Tensor]:
    """Metrics (with the mean cross-entropy as `loss`) and class probabilities (N, C)."""
    logits = _logits(model, images, batch_size=batch_size)  # (N, C)
    target = torch.as_tensor(as_labels(labels, "labels"), device=logits.device)
    if target.shape[0] != logits.shape[0]:
        raise ValueError(f"{target.shape[0]} labels for {logits.shape[0]} images")
    if logits.shape[1] != len(class_names):
        raise ValueError(
            f"model gives {logits.shape[1]} classes, class_names has {len(class_names)}"
        )
    loss = F.cross_entropy(logits.float(), target).item()
    metrics = compute_metrics(target, logits.argmax(dim=1), class_names, loss=loss)
    return metrics, logits.softmax(dim=1)


def _logits(model: nn.Module, images: torch.Tensor, *, batch_size: int) -> torch.Tensor:
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} must be at least 1")
    if images.shape[0] == 0:
        raise ValueError(f"images has shape {tuple(images.shape)}: no images to classify")
    with evaluating(model):
        batches = [model(images[i : i + batch_size]) for i in range(0, images.shape[0], batch_size)]
    return torch.cat(batches)
