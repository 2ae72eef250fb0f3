"""A small test image (a "7"-like stroke) and a traced model for the figure tests."""

from __future__ import annotations

import numpy as np
import torch

from rnnviz.analysis.trace import Trace, trace
from rnnviz.models.network import ModelConfig, build_model


def image(rows: int = 28) -> np.ndarray:
    image = np.zeros((28, 28), dtype=np.uint8)
    image[3:25, 12:17] = 255
    image[3:6, 5:23] = 180
    return image[:rows]


def traced(cell: str = "lstm", hidden: int = 6, rows: int = 28, **kw: object) -> Trace:
    torch.manual_seed(1)
    model = build_model(ModelConfig(cell=cell, hidden_size=hidden, **kw))  # type: ignore[arg-type]
    return trace(model, torch.from_numpy(image(rows)))
