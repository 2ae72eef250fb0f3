"""Admission before allocation: a run's memory, estimated from its config alone, against a budget.

A classroom server must not let one link or one flag build a model that takes the whole machine.
`estimate_bytes` adds up what training a `RunConfig` holds at once (weights, gradients, optimiser
state and the activations of one batch) from shapes alone, the model built on the meta device; a
job whose estimate is over `budget_bytes` (`RNNVIZ_MAX_JOB_MEMORY_MB`, else a share of the free
memory of the device it would run on) is refused by `admit` with both figures, before anything
is allocated.
"""

from __future__ import annotations

import functools
import os

import torch

from rnnviz.data.sources import IMAGE_SIZE
from rnnviz.models.cells import CELLS
from rnnviz.models.network import ModelConfig, build_model
from rnnviz.training.config import RunConfig

BUDGET_ENV = "RNNVIZ_MAX_JOB_MEMORY_MB"
FREE_SHARE = 0.5  # of the device's free memory, when no budget is set: other jobs need room too
FLOAT = 4  # bytes per float32
# Optimiser state per parameter, in floats (Adam's two moments; SGD's and RMSprop's one buffer).
OPTIMIZER_SLOTS = {"adam": 2, "adamw": 2, "sgd": 1, "rmsprop": 2}
# Activations kept per unit, time step and sample for the backward pass (the gates, h, c and the
# kernels' workspace), as measured on a CPU: an LSTM 2x1024 at batch 512 took 1,725 MiB.
GATE_FLOATS = {"rnn": 4, "gru": 7, "lstm": 8, "cnn": 0}
# Convolutional features per sample, in floats: the CNN's two conv, ReLU and pool stages (per unit
# of width), and the CNN-LSTM's fixed 16- and 32-channel stages over the rows.
CNN_FLOATS_PER_WIDTH = 2646
CNN_LSTM_FEATURE_FLOATS = 62_720


def parameter_count(run: RunConfig) -> int:
    """The model's parameters, counted on the meta device (nothing is allocated)."""
    return _parameters(run.model)


@functools.lru_cache(maxsize=256)
def _parameters(model: ModelConfig) -> int:
    """Counted once per model config: the Train page asks on every run of the page."""
    with torch.device("meta"):
        return sum(p.numel() for p in build_model(model).parameters())


def estimate_bytes(run: RunConfig) -> int:
    """Bytes training `run` holds at once: weights, gradients, optimiser state, one batch's
    activations (forward and backward); the dataset is shared and not counted."""
    params = parameter_count(run)
    state = (
        params * FLOAT * (2 + OPTIMIZER_SLOTS[run.train.optimizer])
    )  # weights, gradients, optimiser state
    m, cell = run.model, CELLS[run.model.cell]
    units = m.hidden_size * m.num_layers * m.num_directions
    steps = m.steps if cell.recurrent else IMAGE_SIZE  # a CNN has no time steps
    per_sample = steps * units * GATE_FLOATS[cell.family]
    if not cell.recurrent:
        per_sample += max(8, m.hidden_size // 4) * CNN_FLOATS_PER_WIDTH  # the CNN's width
    elif cell.convolutional:
        per_sample += CNN_LSTM_FEATURE_FLOATS
    activations = 2 * run.train.batch_size * per_sample * FLOAT  # values and their gradients
    return state + activations


def budget_bytes(device: torch.device) -> int:
    """The most one job may take: $RNNVIZ_MAX_JOB_MEMORY_MB, else half the device's free memory."""
    given = os.environ.get(BUDGET_ENV)
    if given:
        try:
            megabytes = float(given)
        except ValueError:
            raise ValueError(f"{BUDGET_ENV}={given!r} must be a number of megabytes") from None
        return int(megabytes * 2**20)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free * FREE_SHARE)
    return int(_available_ram() * FREE_SHARE)


def admit(run: RunConfig, device: torch.device) -> int:
    """The run's estimate in bytes; ValueError naming the estimate and the budget if over it."""
    need, allowed = estimate_bytes(run), budget_bytes(device)
    if need > allowed:
        raise ValueError(
            f"this run needs about {_mib(need)} of memory to train, more than the {_mib(allowed)} "
            f"one job may take on this server ({BUDGET_ENV}); lower the hidden size, the layers "
            "or the batch size"
        )
    return need


def _available_ram() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def _mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB"
