"""Drawn digits: a canvas-like test set that no training image came from, and its scores.

`make` draws digits 0-9 the way students do on the Draw page's 280x280 canvas: thick round strokes,
anywhere on the canvas, at any size and slant, mostly white on black (some black on white, some RGBA
on a transparent background). Half come from hand-made polylines of each digit, half from system
fonts rendered with a thick outline. `score` reads the set through one or more checkpoints, with
MNIST's preprocessing and with a naive resize; `latency` times canvas -> preprocess -> forward.

    python benchmarks/drawn_digits.py make OUT_DIR [--count-per-digit 50] [--seed 0]
    python benchmarks/drawn_digits.py score CKPT... --dir OUT_DIR [--json]
    python benchmarks/drawn_digits.py latency [CKPT...] [--runs 200] [--cell lstm]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # so the script runs from a checkout without installing rnnviz

from rnnviz.data.preprocess import BlankImageError, load_picture, naive_resize, preprocess  # noqa: E402

CANVAS = 280  # the Draw page's canvas, pixels per side
FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts")
# Debian's fonts-dejavu-core, fonts-dejavu-extra and fonts-liberation; missing ones are skipped.
FONT_FILES = [
    *("DejaVuSans", "DejaVuSans-Bold", "DejaVuSansCondensed", "DejaVuSansMono"),
    *("DejaVuSerif", "DejaVuSerif-Italic", "LiberationSans-Regular", "LiberationSans-Italic"),
    *("LiberationSerif-Regular", "LiberationSerif-Italic", "LiberationSansNarrow-Regular"),
    "LiberationMono-Regular",
]
STYLES = {"rgba_canvas": 0.4, "white_on_black": 0.4, "black_on_white": 0.2}  # style -> share

Stroke = list[tuple[float, float]]  # points (x, y) in a box 0.6 wide and 1 tall, y down


def arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float) -> Stroke:
    """Points along an elliptic arc; angles in degrees, 0 = right, 90 = down."""
    angles = np.radians(np.linspace(start, end, max(2, int(abs(end - start) / 15)) + 1))
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


# digit -> variants, each a list of strokes (one pen-down each)
DIGIT_STROKES: dict[int, list[list[Stroke]]] = {
    0: [[arc(0.3, 0.5, 0.3, 0.5, -80, 290)], [arc(0.3, 0.5, 0.26, 0.5, -100, 265)]],
    1: [[[(0.3, 0.0), (0.3, 1.0)]], [[(0.1, 0.2), (0.35, 0.0), (0.35, 1.0)]]],
    2: [
        [[*arc(0.3, 0.27, 0.27, 0.27, 190, 400), (0.0, 1.0), (0.6, 1.0)]],
        [[*arc(0.3, 0.3, 0.3, 0.3, 200, 380), (0.05, 0.95), (0.15, 0.92), (0.6, 1.0)]],
    ],
    3: [
        [arc(0.3, 0.25, 0.26, 0.25, 200, 450) + arc(0.3, 0.73, 0.3, 0.27, 270, 520)],
        [[(0.0, 0.0), (0.55, 0.0), (0.25, 0.42), *arc(0.3, 0.7, 0.3, 0.3, 260, 510)]],
    ],
    4: [
        [[(0.42, 0.0), (0.0, 0.68), (0.6, 0.68)], [(0.45, 0.35), (0.45, 1.0)]],
        [[(0.1, 0.0), (0.05, 0.55), (0.6, 0.55)], [(0.5, 0.0), (0.5, 1.0)]],
    ],
    5: [
        [[(0.55, 0.0), (0.1, 0.0), (0.05, 0.45), *arc(0.3, 0.7, 0.3, 0.3, 215, 520)]],
        [[(0.08, 0.0), (0.05, 0.45), *arc(0.3, 0.7, 0.3, 0.3, 215, 500)], [(0.08, 0), (0.6, 0)]],
    ],
    6: [
        [[(0.5, 0.0), (0.2, 0.3), (0.05, 0.68), *arc(0.3, 0.75, 0.25, 0.25, 180, 530)]],
        [arc(0.6, 0.6, 0.55, 0.6, 250, 180) + arc(0.32, 0.75, 0.27, 0.25, 180, 520)],
    ],
    7: [
        [[(0.0, 0.0), (0.6, 0.0), (0.2, 1.0)]],
        [[(0.0, 0.1), (0.6, 0.0), (0.3, 1.0)], [(0.2, 0.5), (0.55, 0.5)]],
    ],
    8: [
        [arc(0.3, 0.25, 0.22, 0.25, 90, 450), arc(0.3, 0.74, 0.28, 0.26, -90, 270)],
        [arc(0.3, 0.24, 0.24, 0.24, 0, -180) + arc(0.3, 0.75, 0.3, 0.25, -130, 230) + [(0.6, 0.2)]],
    ],
    9: [
        [[*arc(0.3, 0.28, 0.28, 0.28, 0, 360), (0.58, 0.28), (0.5, 1.0)]],
        [arc(0.3, 0.28, 0.28, 0.28, 10, 370) + arc(0.0, 0.3, 0.58, 0.7, 0, 90)],
    ],
}


def find_fonts() -> list[Path]:
    """The fonts of FONT_FILES installed on this machine, in FONT_FILES order."""
    found: dict[str, Path] = {}
    for folder in FONT_DIRS:
        for path in sorted(folder.rglob("*.ttf")) if folder.is_dir() else []:
            found.setdefault(path.stem, path)
    return [found[name] for name in FONT_FILES if name in found]


def stroke_digit(
    digit: int, rng: np.random.Generator, height: float, shear: float, pen: int
) -> Image.Image:
    """A hand-made polyline digit `height` px tall, pen included: an "L" mask with round caps."""
    strokes = DIGIT_STROKES[digit][rng.integers(len(DIGIT_STROKES[digit]))]
    aspect, slant = rng.uniform(0.8, 1.25), math.tan(math.radians(shear))
    lines = []
    for stroke in strokes:
        pts = np.array(stroke) + rng.normal(0.0, 0.012, (len(stroke), 2))  # a less steady hand
        x = pts[:, 0] * aspect + slant * (1.0 - pts[:, 1])  # shear: the top moves right
        lines.append(np.stack([x, pts[:, 1]], axis=1) * (height - pen))  # (points, 2)
    low = np.concatenate(lines).min(axis=0) - pen / 2 - 1
    width, tall = np.ceil(np.concatenate(lines).max(axis=0) - low + pen / 2 + 1).astype(int)
    scale, r = 2, pen  # drawn twice as big, then shrunk: anti-aliased edges, as a browser draws
    im = Image.new("L", (int(width) * scale, int(tall) * scale), 0)
    draw = ImageDraw.Draw(im)
    for line in lines:
        xy = [(float(x), float(y)) for x, y in (line - low) * scale]
        draw.line(xy, fill=255, width=pen * scale, joint="curve")
        for cx, cy in (xy[0], xy[-1]):  # round caps
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
    return im.resize((int(width), int(tall)), Image.Resampling.BOX)


def stem_width(mask: np.ndarray) -> float:
    """Typical stroke width of a binary mask: twice its area over its boundary length."""
    inner = mask[1:-1, 1:-1] & mask[:-2, 1:-1] & mask[2:, 1:-1] & mask[1:-1, :-2] & mask[1:-1, 2:]
    return 2.0 * float(mask.sum()) / max(int(mask.sum()) - int(inner.sum()), 1)


def font_digit(digit: int, font: Path, height: float, shear: float, pen: int) -> Image.Image:
    """A font's digit `height` px tall, outlined so its strokes are about `pen` px wide, slanted."""
    face = ImageFont.truetype(str(font), 200)

    def render(outline: int) -> Image.Image:
        left, top, right, bottom = (
            round(v) for v in face.getbbox(str(digit), stroke_width=outline)
        )
        im = Image.new("L", (right - left + 2, bottom - top + 2), 0)
        draw = ImageDraw.Draw(im)
        draw.text((1 - left, 1 - top), str(digit), 255, face, stroke_width=outline, stroke_fill=255)
        return im

    plain = render(0)
    stem, tall = stem_width(np.asarray(plain) > 127), plain.height
    # An outline o adds 2o to stem and height; pick o so (stem + 2o) / (tall + 2o) = pen / height.
    glyph = render(max(0, round((pen * tall - stem * height) / (2 * (height - pen)))))
    slant, (w, h) = math.tan(math.radians(shear)), glyph.size
    shift = -slant * h if slant > 0 else 0.0  # the top moves right for a positive shear
    sheared = (w + math.ceil(abs(slant) * h), h)
    glyph = glyph.transform(
        sheared, Image.Transform.AFFINE, (1, slant, shift, 0, 1, 0), Image.Resampling.BILINEAR
    )
    glyph = glyph.crop(glyph.getbbox())
    size = (max(1, round(glyph.width * height / glyph.height)), round(height))
    return glyph.resize(size, Image.Resampling.LANCZOS)


def on_canvas(glyph: Image.Image, rng: np.random.Generator, style: str) -> Image.Image:
    """Paste a glyph mask anywhere it fits on a 280x280 canvas, in one of STYLES."""
    if max(glyph.size) > CANVAS:  # a wide, slanted digit: shrink it to fit, never cut it
        fit = CANVAS / max(glyph.size)
        glyph = glyph.resize(
            (round(glyph.width * fit), round(glyph.height * fit)), Image.Resampling.BOX
        )
    mask = Image.new("L", (CANVAS, CANVAS), 0)
    x = int(rng.integers(0, CANVAS - glyph.width + 1))
    y = int(rng.integers(0, CANVAS - glyph.height + 1))
    mask.paste(glyph, (x, y))
    if style == "rgba_canvas":  # white strokes on a transparent background, as the canvas returns
        return Image.merge("RGBA", (*[Image.new("L", mask.size, 255)] * 3, mask))
    ink = mask if style == "white_on_black" else mask.point(lambda v: 255 - v)
    return Image.merge("RGB", (ink, ink, ink))


def make(out_dir: Path, count_per_digit: int, seed: int) -> list[dict[str, Any]]:
    """Write `<digit>_<n>.png` and manifest.json into out_dir; return the manifest's entries."""
    if count_per_digit < 1:
        raise ValueError(f"count_per_digit={count_per_digit} must be at least 1")
    fonts = find_fonts()
    out_dir.mkdir(parents=True, exist_ok=True)
    entries: list[dict[str, Any]] = []
    for digit in range(10):
        for n in range(count_per_digit):
            rng = np.random.default_rng([seed, digit, n])  # each image stands alone: reproducible
            height = rng.uniform(0.4, 0.9) * CANVAS
            shear = rng.uniform(-15.0, 15.0)
            pen = round(rng.uniform(0.08, 0.12) * CANVAS)
            style = str(rng.choice(list(STYLES), p=list(STYLES.values())))
            if fonts and rng.random() < 0.5:
                font = fonts[int(rng.integers(len(fonts)))]
                glyph, source = font_digit(digit, font, height, shear, pen), font.name
            else:
                glyph, source = stroke_digit(digit, rng, height, shear, pen), "strokes"
            on_canvas(glyph, rng, style).save(out_dir / f"{digit}_{n}.png")
            entries.append({"file": f"{digit}_{n}.png", "source": source, "style": style})
    manifest = {"seed": seed, "fonts": [f.name for f in fonts], "images": entries}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return entries


def load_set(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """`<digit>_<n>.png` files -> (preprocessed (N, 28, 28) uint8, naive, labels (N,), blanks).

    A drawing that preprocess refuses as blank stays in the set as an all-black image, scored as
    whatever the model says about nothing, and is counted in `blanks`.
    """
    files = sorted(folder.glob("[0-9]_*.png"), key=lambda p: [int(n) for n in p.stem.split("_")])
    if not files:
        raise SystemExit(f"no <digit>_<n>.png files in {folder}: run `make {folder}` first")
    fitted, naive, blanks = [], [], 0
    for path in files:
        picture = load_picture(path)
        try:
            fitted.append(preprocess(picture).image)
        except BlankImageError:
            fitted.append(np.zeros((28, 28), np.uint8))
            blanks += 1
        naive.append(naive_resize(picture))
    labels = np.array([int(path.stem.split("_")[0]) for path in files])
    return np.stack(fitted), np.stack(naive), labels, blanks


def digit_columns(class_names: list[str]) -> list[int]:
    """The model output index of each digit 0-9, from class names like "3" or "3 - three"."""
    index = {}
    for i, name in enumerate(class_names):
        head = (str(name).split() or [""])[0]
        if head.isdigit() and int(head) <= 9:
            index[int(head)] = i
    if sorted(index) != list(range(10)):
        raise ValueError(f"class names {class_names} do not name the digits 0-9")
    return [index[d] for d in range(10)]


@torch.inference_mode()
def score(model: torch.nn.Module, class_names: list[str], folder: Path) -> dict[str, Any]:
    """Accuracy on the set with preprocessing and with a naive resize, overall and per digit."""
    fitted, naive, labels, blanks = load_set(folder)
    columns = digit_columns(class_names)
    result: dict[str, Any] = {"images": len(labels), "refused_as_blank": blanks}
    for key, images in (("preprocessed", fitted), ("naive", naive)):
        logits = torch.cat(
            [model(torch.from_numpy(b)) for b in np.split(images, range(256, len(images), 256))]
        )
        right = logits[:, columns].argmax(dim=1).numpy() == labels  # (N,)
        result[key] = round(float(right.mean()), 4)
        result[f"{key}_per_digit"] = {
            str(d): round(float(right[labels == d].mean()), 4) for d in np.unique(labels)
        }
    return result


def print_score(path: str, result: dict[str, Any]) -> None:
    print(f"{path}: {result['images']} drawn digits, {result['refused_as_blank']} refused as blank")
    print(
        f"  accuracy      preprocessed {result['preprocessed']:.1%}   naive {result['naive']:.1%}"
    )
    print("  digit        " + "".join(f"{d:>6}" for d in result["preprocessed_per_digit"]))
    for key in ("preprocessed", "naive"):
        print(f"  {key:<12} " + "".join(f"{v:>6.0%}" for v in result[f"{key}_per_digit"].values()))


def latency(model: torch.nn.Module, runs: int) -> tuple[float, float]:
    """Median ms of (preprocess, preprocess + forward) for one 280x280 RGBA canvas drawing."""
    rng = np.random.default_rng(0)
    canvas = np.asarray(on_canvas(stroke_digit(5, rng, 200.0, 8.0, 26), rng, "rgba_canvas"))
    prep, total = [], []
    with torch.inference_mode():
        for i in range(runs + 10):  # the first 10 warm up caches and allocators
            start = time.perf_counter()
            image = preprocess(canvas).image
            mid = time.perf_counter()
            model(torch.from_numpy(image)[None])  # (1, 28, 28)
            if i >= 10:
                prep.append(mid - start)
                total.append(time.perf_counter() - start)
    return 1000 * float(np.median(prep)), 1000 * float(np.median(total))


def load(path: str) -> tuple[torch.nn.Module, list[str]]:
    from rnnviz.storage.checkpoints import (
        load_checkpoint,  # only score and latency need checkpoints
    )

    loaded = load_checkpoint(path, device="cpu")
    return loaded.model.eval(), list(loaded.class_names)


def run(args: argparse.Namespace) -> None:
    if args.command == "make":
        entries = make(args.out_dir, args.count_per_digit, args.seed)
        fonts = sorted({e["source"] for e in entries} - {"strokes"})
        print(
            f"wrote {len(entries)} drawings to {args.out_dir}; fonts: {', '.join(fonts) or 'none'}"
        )
    elif args.command == "score":
        for path in args.checkpoints:
            result = score(*load(path), args.dir)
            if args.json:
                print(json.dumps({"checkpoint": path, **result}))
            else:
                print_score(path, result)
    else:
        from rnnviz.models.network import ModelConfig, build_model

        untrained = (f"untrained {args.cell}", build_model(ModelConfig(cell=args.cell)).eval())
        for name, model in [(p, load(p)[0]) for p in args.checkpoints] or [untrained]:
            prep, total = latency(model, args.runs)
            print(
                f"{name}: preprocess {prep:.2f} ms, preprocess + forward {total:.2f} ms "
                f"(median of {args.runs}, CPU, {torch.get_num_threads()} threads)"
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Drawn digits: make the set, score, time.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("make", help="draw the set into OUT_DIR")
    p.add_argument("out_dir", type=Path)
    p.add_argument("--count-per-digit", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("score", help="accuracy of checkpoints on the set")
    p.add_argument("checkpoints", nargs="+")
    p.add_argument("--dir", type=Path, required=True)
    p.add_argument("--json", action="store_true", help="one JSON object per checkpoint")
    p = sub.add_parser("latency", help="median ms of canvas -> preprocess -> forward")
    p.add_argument("checkpoints", nargs="*", help="none: an untrained model of --cell")
    p.add_argument("--cell", default="lstm")
    p.add_argument("--runs", type=int, default=200)
    try:
        run(parser.parse_args(argv))
    except ValueError as err:  # bad counts, unreadable checkpoints, non-digit class names
        parser.exit(2, f"error: {err}\n")


if __name__ == "__main__":
    main()
