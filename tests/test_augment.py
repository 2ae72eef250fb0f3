"""Canvas-like augmentation: shapes, identity settings, real changes, seeding, a training run."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from rnnviz.data.augment import (
    AUGMENTS,
    Augmentation,
    affine,
    augment,
    batch_generator,
    elastic,
    mark,
    pen,
)
from rnnviz.data.datasets import DATASETS, DataConfig, Dataset, Split
from rnnviz.models.network import ModelConfig
from rnnviz.training.config import RunConfig, TrainConfig
from rnnviz.training.trainer import train

pytestmark = pytest.mark.usefixtures("one_thread")


def digits(n: int = 16) -> torch.Tensor:
    """(n, 28, 28) uint8: a bright vertical bar and a bar across, at places that vary by image."""
    images = torch.zeros(n, 28, 28, dtype=torch.uint8)
    for i in range(n):
        images[i, 6 : 22, 10 + i % 6] = 255  # fmt: skip
        images[i, 8 + i % 5, 8:20] = 200
    return images


def test_augment_keeps_shape_and_dtype_and_changes_every_image() -> None:
    images = digits()
    out = augment(images, "canvas", batch_generator(0, 1, "cpu"))
    assert out.shape == images.shape and out.dtype == torch.uint8
    changed = (out != images).flatten(1).any(dim=1)  # (B,)
    # "canvas" leaves 15 % of a batch as it is; the rest is redrawn.
    assert 0.6 <= changed.float().mean().item() < 1.0
    assert out.flatten(1).amax(dim=1)[changed].eq(255).all()  # brightest pixel back at 255


def test_none_and_all_zero_ranges_return_the_batch_unchanged() -> None:
    images = digits()
    assert AUGMENTS["none"].identity and not AUGMENTS["canvas"].identity
    assert torch.equal(augment(images, "none", batch_generator(0, 1, "cpu")), images)
    still = Augmentation("still", share=1.0, warp_points=9)
    assert still.identity and torch.equal(augment(images, still, torch.Generator()), images)
    assert Augmentation("off", share=0.0, rotate=30.0).identity


def test_each_stage_at_zero_is_the_identity() -> None:
    x = digits(4).float().div(255.0)[:, None]  # (4, 1, 28, 28)
    zero = torch.zeros(4)
    assert torch.equal(pen(x, zero, thicken=2.0, thin=1.0), x)
    theta = affine(4, shift=torch.zeros(4, 2), scale=zero, aspect=zero, rotate=zero,
                   slant=zero, size=28)  # fmt: skip
    assert torch.allclose(theta, torch.tensor([[1.0, 0, 0], [0, 1.0, 0]]).expand(4, 2, 3))
    grid = F.affine_grid(theta, [4, 1, 28, 28], align_corners=False)
    resampled = F.grid_sample(x, grid, mode="bilinear", align_corners=False)
    assert torch.allclose(resampled, x, atol=1e-5)


def test_pen_thickens_and_thins_strokes_by_whole_and_fractional_steps() -> None:
    x = torch.zeros(3, 1, 28, 28)
    x[:, :, 5:23, 13:15] = 1.0  # a bar 2 px wide
    out = pen(x, torch.tensor([1.0, -1.0, 0.5]), thicken=2.0, thin=1.0)
    ink = (out > 0.99).sum(dim=(1, 2, 3))  # (3,) fully inked pixels
    assert ink[0] == 20 * 4  # one dilation: 1 px more on every side
    assert ink[1] == 0  # one erosion wipes out a 2 px bar
    assert torch.allclose(out[2, 0, 14, 12], torch.tensor(0.5))  # halfway to one dilation


def test_a_thicker_pen_keeps_the_digit_in_the_recipes_box() -> None:
    images = torch.zeros(32, 28, 28, dtype=torch.uint8)
    images[:, 4:24, 13:15] = 255  # a 1: 20 px tall, 2 px wide
    out = augment(images, Augmentation("pen", thicken=2.0), torch.Generator().manual_seed(0))
    ink = out > 100  # (B, 28, 28)
    tall = ink.any(dim=2).sum(dim=1).float()  # (B,) rows with ink
    wide = ink.any(dim=1).sum(dim=1).float()  # (B,) columns with ink
    assert (tall - 20).abs().max() <= 1.5  # shrunk back, not 20 + 2 per dilation
    assert wide.max() >= 4 and wide.min() >= 2  # and the strokes are wider


def test_crisp_edges_have_fewer_mid_greys() -> None:
    images = (digits().float() * 0.8).to(torch.uint8)  # (16, 28, 28)
    soft = Augmentation("soft", rotate=20.0)
    crisp = Augmentation("crisp", rotate=20.0, crisp=4.0)
    greys = [
        ((x > 40) & (x < 215)).sum().item()
        for x in (augment(images, a, torch.Generator().manual_seed(1)) for a in (soft, crisp))
    ]
    assert greys[1] < 0.7 * greys[0]


def test_affine_shift_moves_the_ink_by_that_many_pixels() -> None:
    x = torch.zeros(1, 1, 28, 28)
    x[0, 0, 10, 10] = 1.0
    zero = torch.zeros(1)
    theta = affine(1, shift=torch.tensor([[3.0, -2.0]]), scale=zero, aspect=zero, rotate=zero,
                   slant=zero, size=28)  # fmt: skip
    grid = F.affine_grid(theta, [1, 1, 28, 28], align_corners=False)
    moved = F.grid_sample(x, grid, align_corners=False)
    assert moved[0, 0, 8, 13].item() == pytest.approx(1.0, abs=1e-5)  # 3 right, 2 up


def test_elastic_field_is_smooth_and_about_warp_pixels() -> None:
    aug = Augmentation("warp", warp=2.0, warp_points=4)
    field = elastic(64, aug, torch.Generator().manual_seed(0), torch.Size([28, 28]), "cpu")
    pixels = field * 14.0  # normalised -> pixels
    assert field.shape == (64, 28, 28, 2)
    assert 1.0 < pixels.std().item() < 3.0
    neighbours = (pixels[:, 1:] - pixels[:, :-1]).abs().mean().item()
    assert neighbours < 0.4  # smooth: neighbours move alike (white noise would differ by ~2.3)


def test_a_mark_is_one_short_stroke_on_its_share_of_images_half_from_the_top() -> None:
    g = torch.Generator().manual_seed(0)
    one = torch.zeros(200, 1, 28, 28)
    one[:, :, 4:24, 13:15] = 1.0  # a 1, its top at row 4, column 13
    ink = mark(one, 0.5, g)[:, 0] > 0.5  # (200, 28, 28)
    area = ink.sum(dim=(1, 2))  # (200,)
    marked = area > 0
    assert 0.35 < marked.float().mean().item() < 0.65
    assert area[marked].min() >= 2 and area[marked].max() <= 8 * 3  # 2-7 px long, 1-2 px wide
    from_top = ink[:, 4, 13] & ink[:, 5:8].any(dim=(1, 2))  # starts there and heads down
    assert 0.3 < from_top[marked].float().mean().item() < 0.75
    assert torch.equal(ink[:, 3:25, 3:25].flatten(1).any(dim=1), marked)  # from the digit's box
    assert mark(one[:8], 0.0, g).eq(0).all()


def test_the_same_seed_and_step_give_the_same_batch() -> None:
    images = digits()
    first = augment(images, "canvas", batch_generator(3, 7, "cpu"))
    again = augment(images, "canvas", batch_generator(3, 7, "cpu"))
    other = augment(images, "canvas", batch_generator(3, 8, "cpu"))
    assert torch.equal(first, again) and not torch.equal(first, other)


def test_bad_images_and_names_are_refused() -> None:
    with pytest.raises(ValueError, match="uint8"):
        augment(torch.zeros(2, 28, 28), "canvas", torch.Generator())
    with pytest.raises(ValueError, match=r"augment='wobble' is not one of \['none', 'canvas'\]"):
        TrainConfig(augment="wobble")


def toy(n: int, seed: int) -> Split:
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 10, (n,), generator=g)
    return Split(digits(n), labels)


def test_a_two_batch_run_with_augmentation_trains_and_repeats() -> None:
    data = Dataset(DATASETS["digits"], toy(64, 0), toy(16, 1), toy(16, 2), "synthetic")
    run = RunConfig(
        model=ModelConfig(cell="gru", hidden_size=16),
        data=DataConfig(dataset="digits"),
        train=TrainConfig(epochs=1, batch_size=32, lr=1e-2, device="cpu", augment="canvas"),
    )
    first, again = (train(run, dataset=data).record for _ in range(2))
    plain = train(RunConfig(run.model, run.data, TrainConfig(**{**run.train.to_dict(),
                                                               "augment": "none"})),
                  dataset=data).record  # fmt: skip
    assert first.status == "done" and first.history["step"] == [1, 2]
    assert first.history["loss"] == again.history["loss"]  # seeded: bit for bit on CPU
    assert first.history["loss"][1] != plain.history["loss"][1]  # it trained on other images
    assert first.config.train.augment == "canvas"
    assert RunConfig.from_dict(first.config.to_dict()).train.augment == "canvas"
