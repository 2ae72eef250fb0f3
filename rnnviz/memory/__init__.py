"""The memory lab: small recurrent nets on tasks that need memory, and what they keep.

`tasks` holds the two tasks (recall the digit at position K; add two binary numbers), their
configs and the network; `scoring` scores it and reads its answers back; `training` trains one
run or a sweep of them as a background-friendly function. The names below are the lab's whole
API, so a page or the CLI imports from one place.
"""

from rnnviz.memory.scoring import add_example, recall_examples
from rnnviz.memory.tasks import (
    ADD_LOSSES,
    MAX_BITS,
    MAX_LENGTH,
    MEMORY_CELLS,
    AddConfig,
    RecallConfig,
    SequenceModel,
    add_batch,
    bits_to_int,
    recall_batch,
)
from rnnviz.memory.training import (
    MemoryRun,
    Sweep,
    sweep_distance,
    sweep_hidden,
    train_add,
    train_recall,
)

__all__ = [
    "ADD_LOSSES", "MAX_BITS", "MAX_LENGTH", "MEMORY_CELLS", "AddConfig", "MemoryRun",
    "RecallConfig", "SequenceModel", "Sweep", "add_batch", "add_example", "bits_to_int",
    "recall_batch", "recall_examples", "sweep_distance", "sweep_hidden", "train_add",
    "train_recall",
]  # fmt: skip
