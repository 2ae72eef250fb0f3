"""Turn any picture of a digit into the 28x28 image MNIST would have made of it.

MNIST digits are white ink on black, cropped to their ink, scaled so the longer side is 20 pixels
(aspect ratio kept, anti-aliased), placed in a 28x28 field with their intensity centre of mass
at (14, 14), and as bright as uint8 allows. A canvas drawing or a photo looks nothing like that
until it goes through the same recipe, which `preprocess` applies and returns stage by stage so
the app can show each one. `naive_resize` is the shortcut (squash the whole picture to 28x28) that
the stages are compared against.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from rnnviz.data.sources import IMAGE_SIZE

SIZE = IMAGE_SIZE  # MNIST's field, pixels per side
DIGIT = 20  # the longer side of the digit inside the field
CENTRE = 14.0  # where MNIST puts the centre of mass, in (row, column) index coordinates
MAX_PIXELS = 50_000_000  # bigger files are refused before they are decoded
CLEAR_CONTRAST = 0.2  # a pixel this far from the background (on a 0..1 scale) is clearly ink
INK_LEVEL = 0.3  # a pixel is ink when it reaches this fraction of the brightest ink
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601, as PIL's "L" mode


class BlankImageError(ValueError):
    """The picture has no ink, or too little to be a digit: draw a digit."""


class ImageReadError(ValueError):
    """A file that is missing, unreadable, corrupt, too large or not an image."""


@dataclass(frozen=True)
class Preprocessed:
    """Every stage of `preprocess`, for showing the recipe as well as for feeding a model."""

    gray: np.ndarray  # (H, W) float32 in [0, 1], ink = 1, background = 0
    inverted: bool  # the input was dark ink on a light background
    box: tuple[int, int, int, int]  # (top, left, bottom, right) of the ink in `gray`, exclusive end
    cropped: np.ndarray  # gray[top:bottom, left:right]
    image: np.ndarray  # (28, 28) uint8, white ink on black: what the model reads
    naive: np.ndarray  # (28, 28) uint8, the whole of `gray` squashed to 28x28
    ink_fraction: float  # share of the picture's pixels that are ink


def to_gray(picture: np.ndarray | Image.Image) -> np.ndarray:
    """Any picture -> (H, W) float32 luminance in [0, 1].

    Accepts a PIL image or an array shaped (H, W), (H, W, 1), (H, W, 2) grey + alpha, (H, W, 3) RGB
    or (H, W, 4) RGBA, of uint8 (or other integers) in 0..255, bool, or floats in [0, 1].
    Transparent pixels count as background: they are composited onto the colour opposite to the
    visible strokes, so white-on-transparent and black-on-transparent canvases both keep their ink.
    """
    if isinstance(picture, Image.Image):
        picture = _pil_to_array(picture)
    arr = np.asarray(picture)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (2, 3, 4)):
        raise ValueError(f"picture shape {arr.shape} is not (H, W) or (H, W, C) with C in 1..4")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"picture shape {arr.shape} has no pixels")
    values = _unit_float(arr)
    if values.ndim == 2:
        return values
    lum = values[..., :3] @ _LUMA if values.shape[2] >= 3 else values[..., 0]
    if values.shape[2] in (2, 4):
        alpha = values[..., -1]
        seen = alpha.sum()
        stroke = float((lum * alpha).sum() / seen) if seen > 0 else 1.0
        background = 0.0 if stroke >= 0.5 else 1.0
        lum = alpha * lum + (1.0 - alpha) * background
    return np.ascontiguousarray(lum, dtype=np.float32)


def preprocess(
    picture: np.ndarray | Image.Image, *, min_ink: float = 0.002, min_extent: float = 0.15
) -> Preprocessed:
    """Apply MNIST's recipe to a picture of one digit; see `Preprocessed` for the stages.

    Raises BlankImageError when no pixel clearly differs from the background, when less than
    `min_ink` of the pixels are ink, or when the ink's longer side spans less than `min_extent` of
    the picture's shorter side (a dot or a speck, not a digit).
    """
    if not 0.0 <= min_ink < 1.0:
        raise ValueError(f"min_ink={min_ink} must be in [0, 1)")
    if not 0.0 <= min_extent <= 1.0:
        raise ValueError(f"min_extent={min_extent} must be in [0, 1]")
    gray, inverted = _fix_polarity(to_gray(picture))
    peak = float(gray.max())
    if peak < CLEAR_CONTRAST:
        raise BlankImageError("no ink found: draw a digit")
    ink = gray >= INK_LEVEL * peak
    ink_fraction = float(ink.mean())
    if ink_fraction < min_ink:
        raise BlankImageError(
            f"only {ink_fraction:.3%} of the picture is ink (min_ink={min_ink:.3%}): draw a digit"
        )
    top, left, bottom, right = _bounding_box(ink)
    extent = max(bottom - top, right - left) / min(gray.shape)
    if extent < min_extent:
        raise BlankImageError(
            f"the ink spans {extent:.0%} of the picture (min_extent={min_extent:.0%}): "
            "draw a digit, not a dot"
        )
    cropped = gray[top:bottom, left:right]
    return Preprocessed(
        gray=gray,
        inverted=inverted,
        box=(top, left, bottom, right),
        cropped=cropped,
        image=_stretch(_centre(_fit(cropped))),
        naive=_squash(gray),
        ink_fraction=ink_fraction,
    )


def naive_resize(picture: np.ndarray | Image.Image) -> np.ndarray:
    """The whole picture, polarity fixed, resized to (28, 28) uint8 with no crop or centring."""
    gray, _ = _fix_polarity(to_gray(picture))
    return _squash(gray)


def load_picture(path: str | Path) -> np.ndarray:
    """Read an image file (PNG, JPEG, GIF, BMP, WebP, TIFF...) -> (H, W) or (H, W, 3|4) array.

    The array is uint8 (grey, RGB or RGBA, keeping transparency) or float32 in [0, 1] for 16-bit
    greyscale files; `to_gray` accepts all of them. Camera rotation (EXIF) is applied. Raises
    ImageReadError naming the file when it cannot be read or has more than MAX_PIXELS pixels.
    """
    path = Path(path)
    try:
        with warnings.catch_warnings():
            # PIL warns (to stderr) of a huge image before anything here could refuse it.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return _read_picture(path)
    except Image.DecompressionBombWarning as err:
        raise ImageReadError(f"{str(path)!r} has more than {MAX_PIXELS:,} pixels") from err


def _read_picture(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as im:
            width, height = im.size
            if width * height > MAX_PIXELS:
                raise ImageReadError(
                    f"{str(path)!r} is {width}x{height} pixels, more than {MAX_PIXELS:,}"
                )
            im.load()
            return _pil_to_array(ImageOps.exif_transpose(im))
    except ImageReadError:
        raise
    except FileNotFoundError as err:
        raise ImageReadError(f"{str(path)!r} does not exist") from err
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as err:
        raise ImageReadError(f"{str(path)!r} is not a readable image: {err}") from err


def _pil_to_array(im: Image.Image) -> np.ndarray:
    """A PIL image in any mode -> uint8 L/RGB/RGBA array, or float32 [0, 1] for 16/32-bit grey."""
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        return np.clip(np.asarray(im, dtype=np.float32) / 65535.0, 0.0, 1.0)
    if im.mode == "F":
        return np.clip(np.asarray(im, dtype=np.float32), 0.0, 1.0)
    if im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in im.info:
        return np.asarray(im.convert("RGBA"))
    if im.mode in ("L", "1"):
        return np.asarray(im.convert("L"))
    return np.asarray(im.convert("RGB"))


def _unit_float(arr: np.ndarray) -> np.ndarray:
    """Pixels of any supported dtype -> float32 in [0, 1], refusing values outside the range."""
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) * np.float32(1.0 / 255.0)
    if arr.dtype == np.bool_:
        return arr.astype(np.float32)
    if np.issubdtype(arr.dtype, np.integer):
        low, high = int(arr.min()), int(arr.max())
        if low < 0 or high > 255:
            raise ValueError(f"integer pixels must be in 0..255, got {low}..{high} ({arr.dtype})")
        return arr.astype(np.float32) * np.float32(1.0 / 255.0)
    if np.issubdtype(arr.dtype, np.floating):
        values = arr.astype(np.float32)
        least, most = float(values.min()), float(values.max())
        if not (least >= -1e-3 and most <= 1.0 + 1e-3):  # also refuses NaN
            raise ValueError(f"float pixels must be in [0, 1], got {least}..{most} ({arr.dtype})")
        return np.clip(values, 0.0, 1.0)
    raise ValueError(f"picture dtype {arr.dtype} is not uint8, bool, integer or float")


def _fix_polarity(gray: np.ndarray) -> tuple[np.ndarray, bool]:
    """Make the background 0 and the ink positive: invert a light background, then subtract it."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    background = float(np.median(border))
    inverted = background > 0.5
    if inverted:
        gray = 1.0 - gray
        background = 1.0 - background
    if background > 0.0:
        # A photographed page is grey, not black, once inverted; MNIST's background is exactly 0.
        gray = np.clip((gray - background) / (1.0 - background), 0.0, 1.0)
    return gray.astype(np.float32, copy=False), inverted


def _bounding_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of the True pixels of a non-empty mask, ends exclusive."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def _resize(gray: np.ndarray, height: int, width: int) -> np.ndarray:
    """Anti-aliased resize of a float image: area averaging when shrinking, so thin strokes fade
    instead of vanishing between samples; bilinear when enlarging."""
    shrinking = height <= gray.shape[0] and width <= gray.shape[1]
    resample = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    out = Image.fromarray(np.ascontiguousarray(gray, dtype=np.float32)).resize(
        (width, height), resample=resample
    )
    return np.clip(np.asarray(out, dtype=np.float32), 0.0, 1.0)


def _fit(cropped: np.ndarray) -> np.ndarray:
    """Scale the ink so its longer side is 20 px, keeping the aspect ratio."""
    height, width = cropped.shape
    scale = DIGIT / max(height, width)
    return _resize(cropped, max(1, round(height * scale)), max(1, round(width * scale)))


def _centre(patch: np.ndarray) -> np.ndarray:
    """Paste a patch into a black 28x28 field with its centre of mass at (14, 14), integer shift."""
    height, width = patch.shape
    mass = float(patch.sum())
    rows, cols = np.arange(height), np.arange(width)
    com_row = float(patch.sum(axis=1) @ rows) / mass if mass > 0 else (height - 1) / 2
    com_col = float(patch.sum(axis=0) @ cols) / mass if mass > 0 else (width - 1) / 2
    top = min(max(round(CENTRE - com_row), 0), SIZE - height)
    left = min(max(round(CENTRE - com_col), 0), SIZE - width)
    field = np.zeros((SIZE, SIZE), dtype=np.float32)  # (28, 28)
    field[top : top + height, left : left + width] = patch
    return field


def _stretch(field: np.ndarray) -> np.ndarray:
    """Float field -> uint8 with its brightest pixel at 255."""
    peak = float(field.max())
    scale = 255.0 / peak if peak > 0 else 0.0
    return np.round(field * scale).clip(0, 255).astype(np.uint8)


def _squash(gray: np.ndarray) -> np.ndarray:
    """The whole picture resized to (28, 28) uint8, aspect ratio and position ignored."""
    return np.round(_resize(gray, SIZE, SIZE) * 255.0).astype(np.uint8)
