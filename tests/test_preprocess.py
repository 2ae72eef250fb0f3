"""Tests for rnnviz.data.preprocess: MNIST's recipe applied to canvas drawings and files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from rnnviz.data import preprocess as pp
from rnnviz.data.preprocess import (
    BlankImageError,
    ImageReadError,
    load_picture,
    naive_resize,
    preprocess,
    to_gray,
)

CANVAS = 280
SEVEN = [(0, 0), (60, 0), (20, 150)]  # a "7" drawn as one polyline, relative to its corner


def drawing(
    at: tuple[int, int] = (40, 30),
    *,
    ink: int = 255,
    paper: int = 0,
    points: list[tuple[int, int]] = SEVEN,
    width: int = 24,
) -> np.ndarray:
    """A (280, 280) uint8 canvas with a thick polyline whose points are offset by `at` (x, y)."""
    im = Image.new("L", (CANVAS, CANVAS), paper)
    shifted = [(x + at[0], y + at[1]) for x, y in points]
    ImageDraw.Draw(im).line(shifted, fill=ink, width=width, joint="curve")
    return np.asarray(im)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    mass = image.astype(np.float64)
    rows, cols = np.indices(image.shape)
    return float((mass * rows).sum() / mass.sum()), float((mass * cols).sum() / mass.sum())


def ink_box(image: np.ndarray) -> tuple[int, int, int, int]:
    rows = np.flatnonzero(image.any(axis=1))
    cols = np.flatnonzero(image.any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


@pytest.mark.parametrize("at", [(14, 14), (200, 14), (14, 112), (200, 112), (100, 60)])
def test_off_centre_drawing_lands_centred(at: tuple[int, int]) -> None:
    out = preprocess(drawing(at))
    row, col = centre_of_mass(out.image)
    assert abs(row - 14) <= 1 and abs(col - 14) <= 1, (row, col)
    # The same drawing anywhere on the canvas reads the same.
    assert np.abs(out.image.astype(int) - preprocess(drawing((100, 60))).image).max() <= 1


def test_output_is_mnist_like() -> None:
    out = preprocess(drawing())
    assert out.image.shape == (28, 28) and out.image.dtype == np.uint8
    assert out.image.max() == 255
    assert out.gray.shape == (CANVAS, CANVAS) and out.gray.dtype == np.float32
    assert out.box == ink_box(drawing())
    top, left, bottom, right = out.box
    assert out.cropped.shape == (bottom - top, right - left)
    assert 0.02 < out.ink_fraction < 0.2
    box = ink_box(out.image)
    assert box[2] - box[0] == 20  # the longer side is 20 px, as in MNIST


def test_tall_thin_bar_keeps_its_aspect_ratio() -> None:
    canvas = np.zeros((CANVAS, CANVAS), np.uint8)
    canvas[30:230, 120:150] = 255  # 200 rows by 30 columns
    top, left, bottom, right = ink_box(preprocess(canvas).image)
    assert bottom - top == 20
    assert right - left == 3


def test_thin_strokes_survive_downscaling() -> None:
    im = Image.new("L", (CANVAS, CANVAS), 0)
    ImageDraw.Draw(im).ellipse((40, 40, 240, 240), outline=255, width=3)
    image = preprocess(np.asarray(im)).image
    top, _, bottom, _ = ink_box(image)
    assert bottom - top == 20
    # A sampling resize would lose most of a 3 px ring shrunk 10x; area averaging keeps it whole.
    for row in range(top + 1, bottom - 1):
        assert (image[row] >= 40).sum() >= 2, f"row {row} of the ring vanished"


def test_polarity_is_detected_and_undone() -> None:
    light = preprocess(drawing(ink=255, paper=0))
    dark = preprocess(drawing(ink=0, paper=255))
    assert not light.inverted and dark.inverted
    assert np.abs(light.image.astype(int) - dark.image).max() <= 1
    assert np.abs(light.gray - dark.gray).max() < 1e-5


def test_grey_paper_becomes_black_background() -> None:
    out = preprocess(drawing(ink=40, paper=200))
    assert out.inverted
    assert out.gray[0, 0] == 0.0
    assert out.gray.max() == pytest.approx((215 - 55) / 200)  # ink contrast kept, paper removed
    assert out.image.max() == 255


def rgba_canvas(stroke: tuple[int, int, int]) -> np.ndarray:
    """Strokes on a fully transparent background, as the drawing canvas returns them."""
    im = Image.new("RGBA", (CANVAS, CANVAS), (0, 0, 0, 0))
    shifted = [(x + 40, y + 30) for x, y in SEVEN]
    ImageDraw.Draw(im).line(shifted, fill=(*stroke, 255), width=24, joint="curve")
    return np.asarray(im)


@pytest.mark.parametrize(("stroke", "inverted"), [((255, 255, 255), False), ((0, 0, 0), True)])
def test_rgba_canvas_with_transparent_background(
    stroke: tuple[int, int, int], inverted: bool
) -> None:
    canvas = rgba_canvas(stroke)
    assert canvas.shape == (CANVAS, CANVAS, 4) and canvas[0, 0, 3] == 0
    out = preprocess(canvas)
    assert out.inverted is inverted
    assert np.abs(out.image.astype(int) - preprocess(drawing()).image).max() <= 1


def test_to_gray_accepts_the_usual_formats() -> None:
    grey = drawing()
    expected = grey / 255.0
    rgb = np.repeat(grey[..., None], 3, axis=2)
    for picture in (grey, grey[..., None], rgb, Image.fromarray(rgb), grey / 255.0):
        np.testing.assert_allclose(to_gray(picture), expected, atol=1e-3)
    assert to_gray(np.array([[True, False]])).tolist() == [[1.0, 0.0]]
    colours = np.array([[[255, 0, 0], [0, 0, 255]]], np.uint8)
    np.testing.assert_allclose(to_gray(colours), [[0.299, 0.114]], atol=1e-6)


@pytest.mark.parametrize(
    ("picture", "message"),
    [
        (np.full((4, 4), 1.5), r"\[0, 1\]"),
        (np.full((4, 4), 300), r"0\.\.255"),
        (np.zeros((4, 4, 5), np.uint8), r"\(4, 4, 5\)"),
        (np.zeros(16, np.uint8), r"\(16,\)"),
    ],
)
def test_to_gray_names_bad_input(picture: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        to_gray(picture)


def test_blank_canvas_is_refused() -> None:
    with pytest.raises(BlankImageError, match="draw a digit"):
        preprocess(np.zeros((CANVAS, CANVAS, 4), np.uint8))
    with pytest.raises(BlankImageError):
        preprocess(np.full((CANVAS, CANVAS), 255, np.uint8))


@pytest.mark.parametrize("radius", [3, 12])
def test_single_dot_is_refused(radius: int) -> None:
    # A 3 px dot fails min_ink; a brush-sized 12 px one has enough ink but no extent.
    im = Image.new("L", (CANVAS, CANVAS), 0)
    ImageDraw.Draw(im).ellipse((140 - radius, 140 - radius, 140 + radius, 140 + radius), fill=255)
    with pytest.raises(BlankImageError, match="draw a digit"):
        preprocess(np.asarray(im))


def test_thresholds_are_validated() -> None:
    with pytest.raises(ValueError, match="min_ink=2"):
        preprocess(drawing(), min_ink=2)
    with pytest.raises(ValueError, match="min_extent=-1"):
        preprocess(drawing(), min_extent=-1)


def test_naive_resize_squashes_the_whole_picture() -> None:
    canvas = np.zeros((140, CANVAS), np.uint8)
    canvas[:, :70] = 255  # the left quarter lit
    naive = naive_resize(canvas)
    assert naive.shape == (28, 28) and naive.dtype == np.uint8
    assert (naive[:, :7] == 255).all() and (naive[:, 7:] == 0).all()
    np.testing.assert_array_equal(naive_resize(255 - canvas), naive)  # light paper is inverted
    assert preprocess(drawing()).naive.shape == (28, 28)


def test_load_picture_reads_png_with_transparency(tmp_path: Path) -> None:
    path = tmp_path / "canvas.png"
    Image.fromarray(rgba_canvas((255, 255, 255))).save(path)
    loaded = load_picture(path)
    assert loaded.shape == (CANVAS, CANVAS, 4)
    assert np.abs(preprocess(loaded).image.astype(int) - preprocess(drawing()).image).max() <= 1


def test_load_picture_reads_16_bit_grey(tmp_path: Path) -> None:
    path = tmp_path / "deep.png"
    Image.fromarray(drawing().astype(np.uint16) * 257).save(path)
    np.testing.assert_allclose(to_gray(load_picture(path)), drawing() / 255.0, atol=1e-4)


def test_load_picture_names_a_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "broken digit.png"
    good = tmp_path / "good.png"
    Image.fromarray(drawing()).save(good)
    path.write_bytes(good.read_bytes()[:200])  # a truncated PNG
    with pytest.raises(ImageReadError, match=r"broken digit\.png"):
        load_picture(path)
    path.write_bytes(b"not an image at all")
    with pytest.raises(ImageReadError, match=r"broken digit\.png"):
        load_picture(path)
    with pytest.raises(ImageReadError, match=r"missing\.png"):
        load_picture(tmp_path / "missing.png")


def test_load_picture_refuses_huge_images(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pp, "MAX_PIXELS", 1000)
    path = tmp_path / "huge.png"
    Image.new("L", (40, 30)).save(path)
    with pytest.raises(ImageReadError, match=r"huge\.png.*40x30"):
        load_picture(path)


@settings(max_examples=60, deadline=None)
@given(
    height=st.integers(5, 260),
    width=st.integers(5, 260),
    top=st.integers(0, 250),
    left=st.integers(0, 250),
    dark_on_light=st.booleans(),
)
def test_any_rectangle_comes_out_framed_and_centred(
    height: int, width: int, top: int, left: int, dark_on_light: bool
) -> None:
    assume(max(height, width) >= 45)  # smaller is a dot, refused by min_extent
    top, left = min(top, CANVAS - height), min(left, CANVAS - width)
    canvas = np.zeros((CANVAS, CANVAS), np.uint8)
    canvas[top : top + height, left : left + width] = 255
    out = preprocess(255 - canvas if dark_on_light else canvas)
    assert out.inverted is dark_on_light
    assert out.box == (top, left, top + height, left + width)
    image = out.image
    assert image.shape == (28, 28) and image.dtype == np.uint8 and image.max() == 255
    box_top, box_left, box_bottom, box_right = ink_box(image)
    assert max(box_bottom - box_top, box_right - box_left) == 20
    assert box_top >= 3 and box_left >= 3 and box_bottom <= 25 and box_right <= 25
    row, col = centre_of_mass(image)
    assert abs(row - 14) <= 1 and abs(col - 14) <= 1


def test_a_decompression_bomb_is_one_refusal_and_no_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import warnings

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 500)  # PIL warns past this, errs past twice
    path = tmp_path / "bomb.png"
    Image.new("L", (30, 30)).save(path)  # 900 pixels: PIL's warning, not yet its error
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning that escapes fails the test
        with pytest.raises(ImageReadError, match=r"bomb\.png' has more than"):
            load_picture(path)
