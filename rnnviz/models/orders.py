"""Reading orders: how a 28x28 image becomes the sequence a recurrent model reads.

`ORDERS` names every order: `rows` (28 steps of one 28-pixel row, top to bottom), `columns` (28
steps of one column, left to right), `pixels` (784 steps of one pixel, row by row: "sequential
MNIST"), `permuted` (784 steps of one pixel in a fixed random order: "permuted MNIST", Le,
Jaitly & Hinton 2015), and `pixels14` and `permuted14`, the same two read from the image averaged
over 2x2 blocks to 14x14 (196 steps: long enough to defeat a plain RNN, short enough for a CPU).
Each order is a table of flat pixel indices (T, F) into its grid, `reading_index`, so turning
images (B, 28, 28) into the sequence (B, T, F) is at most one average pooling and one gather on the
images' device (`to_sequence`). The permutations are made from `PERMUTATION_SEED` by a CPU
`torch.Generator`, so they are the same in every process and on every device, for ever.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import torch
import torch.nn.functional as F

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
    pool: int = 1  # image pixels per side averaged into one read pixel: 2 reads a 14x14 image

    @property
    def side(self) -> int:
        """Pixels per side of the grid the order reads: 28, or 14 for a pooled order."""
        return IMAGE_SIZE // self.pool

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
        Order("pixels14", "Pixel by pixel at 14x14 (196 x 1, 2x2 blocks averaged)", PIXELS // 4,
              1, "pixel", "pixel by pixel at 14x14", pool=2),
        Order("permuted14", "Pixels at 14x14 in a fixed shuffle (196 x 1)", PIXELS // 4, 1,
              "pixel", "pixel by pixel at 14x14 in a fixed shuffle", pool=2),
    )
}  # fmt: skip


def order_titles() -> dict[str, str]:
    return {key: order.title for key, order in ORDERS.items()}


@cache
def permutation(pixels: int = PIXELS) -> torch.Tensor:
    """(pixels,) int64 on the CPU: the fixed order of `permuted` (784 pixels) or `permuted14`
    (196); step t reads pixel perm[t]."""
    generator = torch.Generator(device="cpu").manual_seed(PERMUTATION_SEED)
    # The device is named: under `with torch.device("meta")` (admission sizes a model so) the
    # cached permutation would otherwise be a meta tensor for the rest of the process.
    return torch.randperm(pixels, generator=generator, device="cpu")


def _order(order: str) -> Order:
    if order not in ORDERS:
        raise ValueError(f"order={order!r} is not one of {list(ORDERS)}")
    return ORDERS[order]


def reading_index(order: str) -> torch.Tensor:
    """(T, F) int64 on the CPU: the flat index (row * side + column) of the pixel read at step t,
    input f, in the order's grid (side 28, or 14 for a pooled order)."""
    steps = _order(order)
    side = steps.side
    flat = torch.arange(side * side, device="cpu")
    if steps.key == "rows":
        return flat.view(side, side)
    if steps.key == "columns":
        return flat.view(side, side).t().contiguous()
    if steps.key.startswith("permuted"):
        return permutation(side * side).clone().view(-1, 1)
    return flat.view(-1, 1)


def to_sequence(
    images: torch.Tensor, order: str, index: torch.Tensor | None = None
) -> torch.Tensor:
    """images (B, 28, 28) -> the sequence (B, T, F) the order reads, on the images' device.

    `index` is `reading_index(order)` already on that device (a model keeps it as a buffer);
    rows pass through untouched. A pooled order averages each pool x pool block first, so its
    sequence is float (of the images' scale) whatever the images' dtype.
    """
    steps = _order(order)
    if steps.key == "rows":
        return images
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(
            f"order={order!r} reads whole {IMAGE_SIZE}x{IMAGE_SIZE} images (B, 28, 28), got shape "
            f"{tuple(images.shape)}"
        )
    if index is None:
        index = reading_index(order).to(images.device)
    if steps.pool > 1:
        images = F.avg_pool2d(images[:, None].float(), steps.pool)[:, 0]  # (B, side, side)
    return images.flatten(1)[:, index]  # (B, side * side) -> (B, T, F): one gather


def seen_masks(order: str, steps: list[int]) -> torch.Tensor:
    """(len(steps), 28, 28) bool: the image pixels read once step t (0-based) is done, for each t;
    a pooled order reads a whole block of them at once."""
    index, pool = reading_index(order), _order(order).pool  # (T, F)
    first = torch.empty(index.numel(), dtype=torch.long)
    first[index.flatten()] = torch.arange(index.shape[0]).repeat_interleave(index.shape[1])
    side = IMAGE_SIZE // pool
    read_at = first.view(side, side).repeat_interleave(pool, 0).repeat_interleave(pool, 1)
    return torch.stack([read_at <= t for t in steps])  # read_at: (28, 28), each pixel's step
