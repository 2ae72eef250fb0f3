"""Job functions for the Ray tests: shipped to workers by value, so a worker needs only rnnviz."""

from __future__ import annotations

import time
from dataclasses import dataclass

from rnnviz.training.control import Control
from rnnviz.training.events import EmitFn, MemoryStepped


@dataclass(frozen=True)
class Ended:
    status: str = "done"
    message: str = ""


@dataclass(frozen=True)
class Hold:
    """Emits a step every `every_s` seconds until stopped, or until `steps` have been emitted."""

    steps: int = 100_000
    every_s: float = 0.02

    def __call__(self, control: Control, emit: EmitFn) -> Ended:
        for step in range(1, self.steps + 1):
            if control.should_stop():
                return Ended("stopped", f"stopped at step {step}")
            emit(MemoryStepped(step=step, loss=1.0, accuracy=0.5, progress=step / self.steps))
            time.sleep(self.every_s)
        return Ended("done", f"all {self.steps} steps")


@dataclass(frozen=True)
class Boom:
    def __call__(self, control: Control, emit: EmitFn) -> Ended:
        raise RuntimeError("the job's own bug")
