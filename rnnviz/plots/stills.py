"""One frame of the reading animation (`inside.reading_animation`), standing still.

The Inside page plays the reading with its own buttons and slider (which a keyboard and a finger
reach, where Plotly's own play controls are drawn in SVG and take neither focus nor keys), and
draws the frame they chose: the animation's figure with that frame's layout and without frames.
The figure carries its text alternative (`alt.own`): the step, the best guess there and at the
end, and the belief in each class after every step as its table.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from rnnviz.plots.alt import own


def still(
    animation: dict, frame: int, belief: np.ndarray, class_names: Sequence[str], step: str
) -> go.Figure:
    """`animation` (`reading_animation(...).to_dict()`) standing at its frame `frame`; belief
    (T, C) is the reading's belief after each step, `step` what a step reads ("row")."""
    shown = animation["frames"][frame]
    layout = dict(animation["layout"], **shown["layout"])
    t, last = int(shown["name"]), len(belief)
    now, best = int(belief[t - 1].argmax()), int(belief[-1].argmax())
    said = f"After {step} {t} of {last}: best guess {class_names[now]} ({belief[t - 1][now]:.0%})"
    end = f"after the last {step}: {class_names[best]} ({belief[-1][best]:.0%})"
    names = [str(n) for n in class_names]
    rows = [{step: k + 1, **dict(zip(names, np.round(b.astype(float), 4).tolist(), strict=True))}
            for k, b in enumerate(belief)]  # fmt: skip
    name = f"The network's reading, {said[:1].lower()}{said[1:]}"
    layout["meta"] = own(name, f"{said}; {end}. What {step} {t} read is outlined.", rows)
    return go.Figure({"data": animation["data"], "layout": layout}, _validate=False)
