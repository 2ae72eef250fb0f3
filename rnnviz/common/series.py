"""Number series for charts: exponential smoothing and thinning to what an eye can see.

Raw mini-batch losses are too noisy to read or to compare; `ema` smooths them the way
TensorBoard does (with its start-up bias correction, so the curve starts at the first value), and
`thin` keeps a long series to a bounded number of evenly spaced points.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def is_number(value: Any) -> bool:
    """A finite int or float, not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def ema(values: Sequence[Any], smooth: float) -> list[float]:
    """Exponential moving average with bias correction; non-numbers pass through as NaN."""
    if not 0.0 <= smooth < 1.0:
        raise ValueError(f"smooth={smooth} must be in [0, 1)")
    out, avg, n = [], 0.0, 0
    for value in values:
        if not is_number(value):
            out.append(math.nan)
            continue
        n += 1
        avg = smooth * avg + (1 - smooth) * float(value)
        out.append(avg / (1 - smooth**n))
    return out


def thin(points: list[tuple[float, float]], limit: int) -> list[tuple[float, float]]:
    """At most `limit` evenly spaced points, always keeping the last."""
    if len(points) <= limit:
        return points
    step = len(points) / limit
    picked = [points[int(i * step)] for i in range(limit - 1)]
    return [*picked, points[-1]]
