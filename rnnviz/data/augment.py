"""Canvas-like augmentation: each training batch redrawn the way a student draws on the canvas.

A digit drawn on the Draw page and put through MNIST's recipe (`rnnviz.data.preprocess`) still
differs from MNIST's own: a round pen makes thicker strokes, the digit slants, leans, is wider or
narrower, the hand wobbles, and a 1 may carry a flag or a serif. `augment` gives a training batch
those differences on the batch's own device, with batched tensor ops and no Python loop over
images: a short stray stroke on some images, the stroke width by grey-level dilation or erosion
(3x3 max pooling), then one resampling (`grid_sample`) through a random affine map (shift, scale,
aspect, rotation, slant; a thickened digit shrunk back to the recipe's 20-pixel box) plus a smooth
random displacement field (an elastic warp), sharper edges, and the brightest pixel back at 255 as
the recipe leaves it. `AUGMENTS` is the registry `TrainConfig.augment` chooses from. The randomness
comes from `batch_generator(seed, step)`, so a run's augmentation depends only on its seed and
step: a CPU run is the same every time, and a resumed run draws what the uninterrupted one drew.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F

_MIX = 1_000_003  # a prime: (seed, step) pairs map to distinct generator seeds
DIGIT = 20.0  # MNIST's digit box, pixels (`rnnviz.data.preprocess.DIGIT`)


@dataclass(frozen=True)
class Augmentation:
    """The ranges one augmentation draws from, uniformly and per image; all zeros change nothing."""

    title: str  # what the registry shows
    share: float = 1.0  # fraction of each batch augmented; the rest is left as it is
    shift: float = 0.0  # pixels each way, across and down
    scale: float = 0.0  # log of the size factor each way: 0.1 is x0.90 to x1.11
    aspect: float = 0.0  # log of the width factor over the height factor, each way
    rotate: float = 0.0  # degrees each way
    slant: float = 0.0  # degrees of shear each way (positive: the top leans right)
    thicken: float = 0.0  # most 3x3 dilations (fractions blend with the next one): a wider pen
    thin: float = 0.0  # most 3x3 erosions: a finer pen
    warp: float = 0.0  # elastic displacement, pixels (spread of the smooth field)
    warp_points: int = 4  # the field's control points per side: fewer is smoother
    crisp: float = 0.0  # most extra edge contrast: a gain of 1 to 1 + crisp about mid-grey
    marks: float = 0.0  # chance of a short stray stroke (a serif, a flag, a dot) on an image

    @property
    def identity(self) -> bool:
        """True when every range is zero: the batch comes back as it went in."""
        ranges = (f.name for f in fields(self) if f.name not in ("title", "share", "warp_points"))
        return self.share == 0.0 or all(getattr(self, name) == 0.0 for name in ranges)


AUGMENTS: dict[str, Augmentation] = {
    "none": Augmentation("none: the images as they are"),
    "canvas": Augmentation(
        "canvas: a drawing's pen, slant, size and wobble",
        share=0.85,
        shift=1.5,
        scale=0.12,
        aspect=0.25,
        rotate=12.0,
        slant=18.0,
        thicken=3.0,
        thin=0.5,
        warp=0.8,
        crisp=3.0,
        marks=0.4,
    ),
}


def augment_titles() -> dict[str, str]:
    return {key: a.title for key, a in AUGMENTS.items()}


def batch_generator(seed: int, step: int, device: torch.device | str) -> torch.Generator:
    """The generator that draws step `step`'s augmentation of a run seeded `seed`."""
    return torch.Generator(device=device).manual_seed((seed * _MIX + step) % 2**63)


def augment(
    images: torch.Tensor, augmentation: Augmentation | str, generator: torch.Generator
) -> torch.Tensor:
    """uint8 images (B, 28, 28) -> uint8 (B, 28, 28), each redrawn by `augmentation` (or its
    `AUGMENTS` key). `generator` lives on the images' device; the same state gives the same batch.
    """
    aug = AUGMENTS[augmentation] if isinstance(augmentation, str) else augmentation
    if images.dtype != torch.uint8 or images.ndim != 3:
        shape = tuple(images.shape)
        raise ValueError(f"images must be uint8 (B, H, W), not {images.dtype} {shape}")
    if aug.identity or len(images) == 0:
        return images
    b, device = len(images), images.device

    def uniform(size: float, *shape: int) -> torch.Tensor:  # (B, *shape) in [-size, size]
        return (torch.rand(b, *shape, generator=generator, device=device) * 2 - 1) * size

    x = images.float().div(255.0)[:, None]  # (B, 1, H, W) in [0, 1]
    if aug.marks > 0:
        x = torch.maximum(x, mark(x, aug.marks, generator))
    width = (
        torch.rand(b, generator=generator, device=device) * (aug.thicken + aug.thin) - aug.thin
    )  # (B,) dilations (< 0: erosions)
    x = pen(x, width, thicken=aug.thicken, thin=aug.thin)
    # Each dilation adds a pixel on every side; the recipe would scale the box back to DIGIT.
    refit = torch.log(DIGIT / (DIGIT + 2.0 * width))  # (B,)
    theta = affine(
        b,
        shift=uniform(aug.shift, 2),
        scale=uniform(aug.scale) + refit,
        aspect=uniform(aug.aspect),
        rotate=uniform(aug.rotate),
        slant=uniform(aug.slant),
        size=images.shape[-1],
    )  # (B, 2, 3): output position -> input position, normalised
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)  # (B, H, W, 2)
    if aug.warp > 0:
        grid = grid + elastic(b, aug, generator, x.shape[-2:], device)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if aug.crisp > 0:  # a pen's edges are sharper than MNIST's scanned, smoothed ones
        gain = 1.0 + torch.rand(b, 1, 1, 1, generator=generator, device=device) * aug.crisp
        x = ((x - 0.5) * gain + 0.5).clamp(0.0, 1.0)
    peak = x.amax(dim=(1, 2, 3), keepdim=True)  # (B, 1, 1, 1)
    x = torch.where(peak > 0, x / peak.clamp_min(1e-6), x)  # the recipe's brightest pixel: 255
    out = (x[:, 0] * 255.0).round_().clamp_(0, 255).to(torch.uint8)  # (B, H, W)
    if aug.share >= 1.0:
        return out
    chosen = torch.rand(b, generator=generator, device=device) < aug.share  # (B,)
    return torch.where(chosen[:, None, None], out, images)


def pen(x: torch.Tensor, width: torch.Tensor, *, thicken: float, thin: float) -> torch.Tensor:
    """Strokes of (B, 1, H, W) floats made `width` (B,) 3x3 dilations thicker (negative: erosions
    thinner); a fraction blends the two nearest whole numbers of them, so widths vary smoothly."""
    below, above = math.ceil(thin), math.ceil(thicken)
    if below + above == 0:
        return x
    levels = [x]
    for _ in range(above):
        levels.append(F.max_pool2d(levels[-1], 3, stride=1, padding=1))
    for _ in range(below):
        levels.insert(0, -F.max_pool2d(-levels[0], 3, stride=1, padding=1))
    stack = torch.cat(levels, dim=1)  # (B, L, H, W): eroded ... x ... dilated
    pos = (width + below).clamp(0, below + above)  # (B,) where x sits, moved by the width
    low = pos.floor().clamp(max=below + above - 1).long()  # (B,)
    frac = (pos - low).view(-1, 1, 1, 1)
    index = low.view(-1, 1, 1, 1).expand(-1, 1, *x.shape[-2:])
    lower = stack.gather(1, index)
    upper = stack.gather(1, index + 1)
    return lower + (upper - lower) * frac


def affine(
    b: int,
    *,
    shift: torch.Tensor,
    scale: torch.Tensor,
    aspect: torch.Tensor,
    rotate: torch.Tensor,
    slant: torch.Tensor,
    size: int,
) -> torch.Tensor:
    """(B, 2, 3) maps for `affine_grid` from per-image draws: shift (B, 2) pixels, scale and aspect
    (B,) logs, rotate and slant (B,) degrees. The digit is first stretched, then slanted, rotated
    and moved; `affine_grid` wants the inverse (where each output pixel samples the input)."""
    sx, sy = torch.exp(scale + aspect / 2), torch.exp(scale - aspect / 2)  # (B,)
    angle, lean = torch.deg2rad(rotate), torch.tan(torch.deg2rad(slant))
    cos, sin, zero, one = angle.cos(), angle.sin(), torch.zeros_like(sx), torch.ones_like(sx)

    def mat(a: torch.Tensor, b_: torch.Tensor, c: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
        return torch.stack([torch.stack([a, b_], -1), torch.stack([c, d], -1)], -2)  # (B, 2, 2)

    # y grows downwards, so a positive lean moves the top (y < 0) right: x' = x - lean * y.
    forward = mat(cos, -sin, sin, cos) @ mat(one, -lean, zero, one) @ mat(sx, zero, zero, sy)
    inverse = torch.linalg.inv(forward)  # (B, 2, 2)
    move = shift * (2.0 / size)  # (B, 2) pixels -> normalised coordinates
    return torch.cat([inverse, -(inverse @ move[..., None])], dim=2)  # (B, 2, 3)


def elastic(
    b: int,
    aug: Augmentation,
    generator: torch.Generator,
    shape: torch.Size,
    device: torch.device | str,
) -> torch.Tensor:
    """A smooth random displacement (B, H, W, 2) in normalised coordinates: normal draws at
    `warp_points` x `warp_points` control points, `warp` pixels apart on average, interpolated
    bicubically over the image."""
    n = aug.warp_points
    points = torch.randn(b, 2, n, n, generator=generator, device=device) * aug.warp
    field = F.interpolate(points, size=tuple(shape), mode="bicubic", align_corners=True)
    return field.permute(0, 2, 3, 1) * (2.0 / shape[-1])  # (B, H, W, 2)


def mark(x: torch.Tensor, chance: float, generator: torch.Generator) -> torch.Tensor:
    """(B, 1, H, W) ink of one short stroke (2 to 7 px long, 1 to 2 px wide) on a `chance` share
    of the images `x` (B, 1, H, W), none on the rest: half start anywhere in the middle 20x20 (a
    dot, a bar), half at the top of the ink and head downwards (a flag, a hook, a serif)."""
    b, (h, w), device = len(x), x.shape[-2:], x.device

    def draw(*size: int) -> torch.Tensor:
        return torch.rand(b, *size, generator=generator, device=device)

    anywhere = (h - DIGIT) / 2 + draw(2) * DIGIT  # (B, 2) row, column
    ink = x[:, 0] > 0.5  # (B, H, W)
    top = ink.any(dim=2).float().argmax(dim=1)  # (B,) the first row with ink
    left = ink[torch.arange(b, device=device), top].float().argmax(dim=1)  # (B,) its first ink
    attached = torch.stack([top, left], dim=1).float()  # (B, 2)
    at_top = draw() < 0.5  # (B,)
    start = torch.where(at_top[:, None], attached, anywhere)
    # (B,) 0: right, pi/2: down; a stroke from the top heads down-left or down-right
    angle = torch.where(at_top, 0.2 + draw() * 2.7, draw() * math.tau)
    length = 2.0 + draw() * 5.0  # (B,)
    end = start + length[:, None] * torch.stack([angle.sin(), angle.cos()], dim=1)  # (B, 2)
    rows = torch.arange(h, device=device, dtype=torch.float32).view(1, h, 1).expand(b, h, w)
    cols = torch.arange(w, device=device, dtype=torch.float32).view(1, 1, w).expand(b, h, w)
    p = torch.stack([rows, cols], dim=-1)  # (B, H, W, 2)
    a, ab = start[:, None, None], (end - start)[:, None, None]  # (B, 1, 1, 2)
    t = (((p - a) * ab).sum(-1) / (ab * ab).sum(-1).clamp_min(1e-6)).clamp(0.0, 1.0)  # (B, H, W)
    distance = (p - a - t[..., None] * ab).norm(dim=-1)  # (B, H, W) to the segment
    half = 0.5 + draw() * 0.5  # (B,) half the pen's width
    stroke = (half[:, None, None] + 0.5 - distance).clamp(0.0, 1.0)
    present = (draw() < chance).float()[:, None, None]  # (B, 1, 1)
    return (stroke * present)[:, None]  # (B, 1, H, W)
