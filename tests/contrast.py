"""Colour checks for the chart tests: WCAG 2.1 contrast against the themes' chart backgrounds, and
how far apart colours stay with normal vision and with deuteranopia and protanopia.

Streamlit's plotly theme paints a chart's paper and plot with the theme's `backgroundColor`, so
the backgrounds are read from `.streamlit/config.toml`. Dichromacy is simulated with Machado,
Oliveira and Fernandes (2009) at severity 1.0, applied in linear RGB; distances are in OKLab.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Sequence
from itertools import combinations

import numpy as np

from .conftest import ROOT

_THEMES = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["theme"]
BACKGROUNDS = {name: _THEMES[name]["backgroundColor"] for name in ("light", "dark")}
VISIONS = {
    "normal": np.eye(3),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
}  # fmt: skip
_LMS = np.array([[0.4122214708, 0.5363325363, 0.0514459929],
                 [0.2119034982, 0.6806995451, 0.1073969566],
                 [0.0883024619, 0.2817188376, 0.6299787005]])  # fmt: skip
_LAB = np.array([[0.2104542553, 0.7936177850, -0.0040720468],
                 [1.9779984951, -2.4285922050, 0.4505937099],
                 [0.0259040371, 0.7827717662, -0.8086757660]])  # fmt: skip


def linear(color: str) -> np.ndarray:
    """'#rrggbb' as linear-light RGB (3,), each 0..1."""
    srgb = np.array([int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def contrast(color: str, background: str) -> float:
    """WCAG 2.1 contrast ratio, 1 to 21."""
    weights = np.array([0.2126, 0.7152, 0.0722])
    light, dark = sorted((float(weights @ linear(c)) for c in (color, background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def closest(colors: Sequence[str], vision: str) -> float:
    """The smallest OKLab distance between two of `colors` as seen with `vision`."""
    seen = [np.clip(VISIONS[vision] @ linear(c), 0, 1) for c in colors]
    lab = [_LAB @ np.cbrt(_LMS @ rgb) for rgb in seen]
    return min(math.dist(a, b) for a, b in combinations(lab, 2))


def faint(colors: Sequence[str]) -> list[str]:
    """Those of `colors` under 3:1 against either theme's chart background (WCAG 1.4.11)."""
    return [c for c in colors if min(contrast(c, bg) for bg in BACKGROUNDS.values()) < 3.0]
