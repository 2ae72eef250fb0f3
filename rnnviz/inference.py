"""Running models: predictions and scores for a tensor of images, a checkpoint, or picture files.

`predict` and `evaluate` run a model over images (N, 28, 28) in batches, in eval mode;
`evaluate_checkpoint` and `predict_files` are the checkpoint-level operations the CLI (`evaluate`,
`predict`) and the pages share: load the checkpoint safely, load the data it was trained on (on
this machine), and return JSON-ready dicts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rnnviz.checkpoints import Checkpoint, load_checkpoint
from rnnviz.data import Dataset, load_dataset
from rnnviz.devices import resolve_device
from rnnviz.metrics import Labels, Metrics, as_labels, compute_metrics
from rnnviz.models import evaluating
from rnnviz.preprocess import BlankImageError, ImageReadError, load_picture, preprocess


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


def checkpoint_dataset(
    checkpoint: Checkpoint, *, data_dir: str | None = None, device: str | torch.device = "cpu"
) -> Dataset:
    """The dataset a checkpoint was trained on, read from this machine's data folder."""
    config = checkpoint.record.config.data
    # The folder recorded at training time belongs to another machine; use this one's.
    return load_dataset(replace(config, data_dir=data_dir), device=device)


def evaluate_checkpoint(
    path: str | Path, *, data_dir: str | None = None, device: str = "auto"
) -> dict[str, Any]:
    """Test accuracy and per-class precision/recall/F1 of a checkpoint, as a JSON-ready dict."""
    dev = resolve_device(device)
    checkpoint = load_checkpoint(path, device=dev)
    data = checkpoint_dataset(checkpoint, data_dir=data_dir, device=dev)
    metrics, _ = evaluate(
        checkpoint.model, data.test.images, data.test.labels, checkpoint.class_names
    )
    recorded = checkpoint.record.test_accuracy
    return {
        "checkpoint": str(path),
        "dataset": data.info.key,
        "test_size": len(data.test),
        "test_accuracy": metrics.accuracy,
        "recorded_test_accuracy": recorded,
        **{k: v for k, v in metrics.to_dict().items() if k != "accuracy"},
    }


def predict_files(
    path: str | Path, files: Sequence[str | Path], *, device: str = "cpu", naive: bool = False
) -> list[dict[str, Any]]:
    """One dict per file: {file, prediction, label, probabilities} or {file, error}."""
    checkpoint = load_checkpoint(path, device=resolve_device(device))
    rows: list[dict[str, Any]] = []
    images: list[np.ndarray] = []
    for file in files:
        try:
            pre = preprocess(load_picture(file))
        except (ImageReadError, BlankImageError, FileNotFoundError) as exc:
            rows.append({"file": str(file), "error": str(exc)})
            continue
        rows.append({"file": str(file)})
        images.append(pre.naive if naive else pre.image)
    if images:
        batch = torch.from_numpy(np.stack(images)).to(resolve_device(device))  # (N, 28, 28) uint8
        preds, probs = predict(checkpoint.model, batch)
        readable = iter(zip(preds.tolist(), probs.tolist(), strict=True))
        for row in rows:
            if "error" not in row:
                pred, p = next(readable)
                row |= {
                    "prediction": pred,
                    "label": checkpoint.class_names[pred],
                    "probabilities": [round(v, 6) for v in p],
                }
    return rows
