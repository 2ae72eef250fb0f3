"""rnnviz: train recurrent networks on images read row by row, and look inside them.

The library behind the Streamlit app and the `python -m rnnviz` command line. Everything here
runs without a browser; `import rnnviz` is cheap and never imports streamlit: the names below are
loaded from their modules on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "data": ["DATASETS", "DataConfig", "Dataset", "DatasetUnavailableError", "load_dataset"],
    "cells": ["CELLS", "Cell", "recurrent_layer"],
    "models": ["ModelConfig", "build_model", "count_parameters"],
    "config": ["OPTIMIZERS", "SCHEDULES", "RunConfig", "TrainConfig"],
    "training": ["TrainResult", "train"],
    "events": ["Event", "event_from_dict"],
    "record": ["RunRecord"],
    "control": ["Control"],
    "jobs": ["JobManager"],
    "snapshots": ["JobRefused", "JobSnapshot", "OwnerLimits"],
    "runs": ["train_and_save", "training_job"],
    "presets": ["PRESETS", "Preset", "first_run", "preset_run"],
    "trace": ["Trace", "trace"],
    "rows": ["row_importance"],
    "metrics": ["Metrics", "compute_metrics"],
    "inference": ["evaluate", "evaluate_checkpoint", "predict", "predict_files"],
    "checkpoints": [
        "Checkpoint",
        "CheckpointError",
        "best_checkpoint",
        "load_checkpoint",
        "save_checkpoint",
    ],
    "preprocess": ["Preprocessed", "preprocess"],
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'rnnviz' has no attribute {name!r}")
    return getattr(importlib.import_module(f"rnnviz.{_WHERE[name]}"), name)


def __dir__() -> list[str]:
    return [*__all__, "__version__"]
