"""The memory lab: small recurrent nets on tasks that need memory, and what they keep.

`tasks` holds the two tasks (recall the digit at position K; add two binary numbers), their
configs, the network and the classroom notebook's recall setting with the figures it reported;
`scoring` scores it and reads its answers back; `training` trains one run or a sweep of them as a
background-friendly function; `links` writes and reads the query parameters that open the lab.
The names below are the lab's whole API, so a page or the CLI imports from one place.
"""

from dataclasses import dataclass
from typing import Any

from rnnviz.common.devices import resolve_device
from rnnviz.memory.links import LAB_KEY, LAB_PAGE, LABS, lab_from_params, lab_params
from rnnviz.memory.scoring import add_example, recall_examples
from rnnviz.memory.sweeps import Sweep, spread, sweep_distance, sweep_hidden, sweep_seeds
from rnnviz.memory.tasks import (
    ADD_LOSSES,
    MAX_BITS,
    MAX_LENGTH,
    MEMORY_CELLS,
    NOTEBOOK_RECALL,
    NOTEBOOK_RECALL_FIGURES,
    AddConfig,
    RecallConfig,
    SequenceModel,
    add_batch,
    bits_to_int,
    recall_batch,
)
from rnnviz.memory.training import MemoryRun, train_add, train_recall
from rnnviz.training.control import Control
from rnnviz.training.events import EmitFn


@dataclass(frozen=True)
class MemoryJob:
    """A lab function as a job for the `JobManager`: `fn(*args, device=, control=, emit=)`,
    ending with a `MemoryRun` or a `Sweep`. Plain data, so a Ray worker can run it too."""

    fn: Any  # train_recall, train_add, sweep_hidden, sweep_distance or sweep_seeds
    args: tuple[Any, ...]
    device: str = "auto"  # resolved where the job runs: a worker's GPU, if it has one

    def __call__(self, control: Control, emit: EmitFn) -> Any:
        device = resolve_device(self.device)
        return self.fn(*self.args, device=device, control=control, emit=emit)


__all__ = [
    "ADD_LOSSES",
    "LABS",
    "LAB_KEY",
    "LAB_PAGE",
    "MAX_BITS",
    "MAX_LENGTH",
    "MEMORY_CELLS",
    "NOTEBOOK_RECALL",
    "NOTEBOOK_RECALL_FIGURES",
    "AddConfig",
    "MemoryJob",
    "MemoryRun",
    "RecallConfig",
    "SequenceModel",
    "Sweep",
    "add_batch",
    "add_example",
    "bits_to_int",
    "lab_from_params",
    "lab_params",
    "recall_batch",
    "recall_examples",
    "spread",
    "sweep_distance",
    "sweep_hidden",
    "sweep_seeds",
    "train_add",
    "train_recall",
]  # fmt: skip
