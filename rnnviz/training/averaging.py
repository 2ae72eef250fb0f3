"""Weight averaging: the run's model holds a moving average of the weights the optimiser trains.

With `TrainConfig.average` above 0 the optimiser steps a private copy of the model (`live`) and,
after every step, the run's own model moves that share of the way towards it: an exponential moving
average (EMA) of the weights, as in the fast-MNIST and CIFAR speed records. The average is smoother
than the last step's weights, so it scores like an annealed model without waiting for a schedule to
anneal. Everything outside the trainer (validation, probes, the test, the checkpoint, a benchmark
scoring between steps) reads the run's model, so all of it sees the average. A resumed run starts
its live copy from the saved average.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class WeightAverage:
    """`model` as an exponential moving average of `live`, which the optimiser trains.

    `decay` is the share of the average kept each step; 0 makes `live` the model itself (no copy,
    no averaging), so a run without averaging is exactly what it was.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay={decay} must be in [0, 1)")
        self.model, self.decay = model, decay
        self.live = copy.deepcopy(model) if decay > 0 else model
        self._average = [t for t in _state(model) if t.is_floating_point()]
        self._trained = [t for t in _state(self.live) if t.is_floating_point()]

    @property
    def on(self) -> bool:
        return self.live is not self.model

    def train(self, mode: bool = True) -> None:
        self.live.train(mode)
        self.model.train(mode)

    @torch.no_grad()
    def update(self) -> None:
        """Move the average `1 - decay` of the way towards the weights just trained."""
        if self.on:
            torch._foreach_lerp_(self._average, self._trained, 1.0 - self.decay)


def _state(model: nn.Module) -> list[torch.Tensor]:
    return [t.data for t in model.state_dict(keep_vars=True).values()]
