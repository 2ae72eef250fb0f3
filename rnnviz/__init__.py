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
    "data.datasets": [
        "DATASETS",
        "DataConfig",
        "Dataset",
        "DatasetUnavailableError",
        "load_dataset",
    ],
    "models.cells": ["CELLS", "Cell", "recurrent_layer"],
    "models.network": ["ModelConfig", "build_model", "count_parameters"],
    "training.config": ["OPTIMIZERS", "SCHEDULES", "RunConfig", "TrainConfig"],
    "training.trainer": ["TrainResult", "train"],
    "training.events": ["Event", "event_from_dict"],
    "training.record": ["RunRecord"],
    "training.control": ["Control"],
    "jobs.manager": ["JobManager"],
    "jobs.mirror": ["ClusterJobs", "jobs_from_env"],
    "jobs.snapshots": ["JobRefused", "JobSnapshot", "OwnerLimits"],
    "jobs.runs": ["train_and_save", "training_job"],
    "training.presets": ["PRESETS", "Preset", "first_run", "preset_run"],
    "analysis.trace": ["Trace", "trace"],
    "analysis.rows": ["row_importance"],
    "analysis.metrics": ["Metrics", "compute_metrics"],
    "analysis.inference": ["evaluate", "predict"],
    "storage.scoring": ["evaluate_checkpoint", "predict_files"],
    "storage.folders": ["best_checkpoint", "draw_checkpoint"],
    "storage.checkpoints": [
        "Checkpoint",
        "CheckpointError",
        "load_checkpoint",
        "save_checkpoint",
    ],
    "data.preprocess": ["Preprocessed", "preprocess"],
    "data.augment": ["AUGMENTS", "augment"],
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'rnnviz' has no attribute {name!r}")
    return getattr(importlib.import_module(f"rnnviz.{_WHERE[name]}"), name)


def __dir__() -> list[str]:
    return [*__all__, "__version__"]
