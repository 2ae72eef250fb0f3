"""Reading orders: how a 28x28 image becomes the sequence a recurrent model reads.

`ORDERS` names every order: `rows` (28 steps of one 28-pixel row, top to bottom), `columns` (28
steps of one column, left to right), `pixels` (784 steps of one pixel, row by row: "sequential
MNIST") and `permuted` (784 steps of one pixel in a fixed random order: "permuted MNIST", Le,
Jaitly & Hinton 2015). Each order is a table of flat pixel indices (T, F), `reading_index`, so
turning images (B, 28, 28) into the sequence (B, T, F) is one gather on the images' device
(`to_sequence`). The permutation is made from `PERMUTATION_SEED` by a CPU `torch.Generator`, so it
is the same in every process and on every device, for ever.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import torch

from rnnviz.data.sources import IMAGE_SIZE

__all__ = [
    "ORDERS",
    "PERMUTATION_SEED",
    "Order",
    "order_titles",
    "permutation",
    "reading_index",
    "seen_masks",
    "to_sequence",
]

PIXELS = IMAGE_SIZE * IMAGE_SIZE  # 784
PERMUTATION_SEED = 1234  # fixed for ever: checkpoints of permuted models depend on it


@dataclass(frozen=True)
class Order:
    """One reading order: its name, and the shape of the sequence it makes."""

    key: str  # what configs, URLs and the CLI call it
    title: str  # what a menu calls it
    steps: int  # T: time steps per image
    inputs: int  # F: pixels per step
    unit: str  # what one step reads, for captions: "row", "column", "pixel"
    how: str  # how it reads, for captions: "row by row"

    @property
    def step_name(self) -> str:
        """What captions call one step: "row" for the rows order, "step" for the others."""
        return "row" if self.key == "rows" else "step"

    @property
    def whole_image(self) -> bool:
        """True when a step is not a row, so the model needs all 28 rows before it can read."""
        return self.key != "rows"


ORDERS: dict[str, Order] = {
    o.key: o
    for o in (
        Order("rows", "Rows, top to bottom (28 x 28)", IMAGE_SIZE, IMAGE_SIZE, "row",
              "row by row"),
        Order("columns", "Columns, left to right (28 x 28)", IMAGE_SIZE, IMAGE_SIZE, "column",
              "column by column"),
        Order("pixels", "Pixel by pixel (784 x 1, sequential MNIST)", PIXELS, 1, "pixel",
              "pixel by pixel"),
        Order("permuted", "Pixels in a fixed shuffle (784 x 1, permuted MNIST)", PIXELS, 1,
              "pixel", "pixel by pixel in a fixed shuffle"),
    )
}  # fmt: skip


def order_titles() -> dict[str, str]:
    return {key: order.title for key, order in ORDERS.items()}


@cache
def permutation() -> torch.Tensor:
    """(784,) int64 on the CPU: the fixed pixel order of `permuted`; step t reads pixel perm[t]."""
    generator = torch.Generator(device="cpu").manual_seed(PERMUTATION_SEED)
    # The device is named: under `with torch.device("meta")` (admission sizes a model so) the
    # cached permutation would otherwise be a meta tensor for the rest of the process.
    return torch.randperm(PIXELS, generator=generator, device="cpu")


def _order(order: str) -> Order:
    if order not in ORDERS:
        raise ValueError(f"order={order!r} is not one of {list(ORDERS)}")
    return ORDERS[order]


def reading_index(order: str) -> torch.Tensor:
    """(T, F) int64 on the CPU: the flat pixel index (row * 28 + column) read at step t, input f."""
    steps = _order(order)
    flat = torch.arange(PIXELS, device="cpu")
    if steps.key == "rows":
        return flat.view(IMAGE_SIZE, IMAGE_SIZE)
    if steps.key == "columns":
        return flat.view(IMAGE_SIZE, IMAGE_SIZE).t().contiguous()
    if steps.key == "pixels":
        return flat.view(PIXELS, 1)
    return permutation().clone().view(PIXELS, 1)


def to_sequence(
    images: torch.Tensor, order: str, index: torch.Tensor | None = None
) -> torch.Tensor:
    """images (B, 28, 28) -> the sequence (B, T, F) the order reads, on the images' device.

    `index` is `reading_index(order)` already on that device (a model keeps it as a buffer);
    rows pass through untouched.
    """
    if _order(order).key == "rows":
        return images
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(
            f"order={order!r} reads whole {IMAGE_SIZE}x{IMAGE_SIZE} images (B, 28, 28), got shape "
            f"{tuple(images.shape)}"
        )
    if index is None:
        index = reading_index(order).to(images.device)
    return images.flatten(1)[:, index]  # (B, 784) -> (B, T, F): one gather


def seen_masks(order: str, steps: list[int]) -> torch.Tensor:
    """(len(steps), 28, 28) bool: the pixels read once step t (0-based) is done, for each t."""
    index = reading_index(order)  # (T, F)
    first = torch.empty(PIXELS, dtype=torch.long)
    first[index.flatten()] = torch.arange(index.shape[0]).repeat_interleave(index.shape[1])
    read_at = first.view(IMAGE_SIZE, IMAGE_SIZE)  # the step at which each pixel is read
    return torch.stack([read_at <= t for t in steps])
