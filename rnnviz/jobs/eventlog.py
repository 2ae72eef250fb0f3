"""A job's events of one kind, kept so that a snapshot shares them instead of copying each one.

A page snapshots the job it watches at every refresh, and a long run has tens of thousands of
`Stepped` events. A snapshot that copied them into a new list would hand Python's collector a young
list of that length every time, and each collection of the young generation walks every item of
every young list: milliseconds a refresh at 10,000 steps, growing with the run.

`EventLog` keeps full blocks of `BLOCK` events as tuples that never change, and the newest ones in
a short list; `frozen()` is a view (`Events`) of both that shares the blocks, so a snapshot copies
at most `BLOCK` references whatever the run's length. The oldest events go once there are more
than `most` of the kind: a block is dropped once all its events have gone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, islice
from typing import overload

from rnnviz.training.events import Event

BLOCK = 256  # events per frozen block


class Events(Sequence[Event]):
    """An unchanging view of a log's events, oldest first."""

    __slots__ = ("_blocks", "_len", "_skip", "_tail")

    def __init__(self, blocks: tuple[tuple[Event, ...], ...] = (), tail: tuple[Event, ...] = (),
                 skip: int = 0) -> None:  # fmt: skip
        self._blocks, self._tail, self._skip = blocks, tail, skip  # skip: gone from the first block
        self._len = len(blocks) * BLOCK - skip + len(tail)

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[Event]:
        if not self._blocks:
            return iter(self._tail)
        first, *rest = self._blocks
        return chain(islice(first, self._skip, None), *rest, self._tail)

    @overload
    def __getitem__(self, index: int) -> Event: ...

    @overload
    def __getitem__(self, index: slice) -> list[Event]: ...

    def __getitem__(self, index: int | slice) -> Event | list[Event]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._len))]
        if not -self._len <= index < self._len:
            raise IndexError(f"event {index} of {self._len}")
        at = (index % self._len) + self._skip
        block, place = divmod(at, BLOCK)
        if block < len(self._blocks):
            return self._blocks[block][place]
        return self._tail[at - len(self._blocks) * BLOCK]

    def __repr__(self) -> str:
        return f"Events({list(self)!r})"


class EventLog:
    """The events of one kind a job keeps, at most `most` of them (the newest); changed only with
    the job's lock held."""

    def __init__(self, events: Iterable[Event] = (), most: int | None = None) -> None:
        self._blocks: list[tuple[Event, ...]] = []
        self._tail: list[Event] = []
        self._skip = 0
        for event in events:
            self.append(event, most)

    def __len__(self) -> int:
        return len(self._blocks) * BLOCK - self._skip + len(self._tail)

    def append(self, event: Event, most: int | None = None) -> None:
        self._tail.append(event)
        if len(self._tail) == BLOCK:
            self._blocks.append(tuple(self._tail))
            self._tail = []
        excess = len(self) - most if most is not None else 0
        if excess <= 0:
            return
        self._skip += excess
        while self._blocks and self._skip >= BLOCK:
            del self._blocks[0]
            self._skip -= BLOCK
        if not self._blocks:  # what is left to drop is in the tail, which no snapshot shares
            del self._tail[: self._skip]
            self._skip = 0

    def frozen(self) -> Events:
        return Events(tuple(self._blocks), tuple(self._tail), self._skip)

    def newest(self, n: int) -> list[Event]:
        """The newest `n` events, oldest first."""
        return self.frozen()[-n:] if n > 0 else []
