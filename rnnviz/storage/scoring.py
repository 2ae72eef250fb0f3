"""A saved model at work: the data it was trained on, its scores there, its reading of picture
files.

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

from rnnviz.analysis.inference import evaluate, predict
from rnnviz.common.devices import resolve_device
from rnnviz.data.datasets import Dataset, load_dataset
from rnnviz.data.preprocess import BlankImageError, ImageReadError, load_picture, preprocess
from rnnviz.storage.checkpoints import Checkpoint, load_checkpoint


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
