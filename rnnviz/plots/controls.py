"""The controls of an animated figure: Play and Pause buttons and a slider over its frames."""

from __future__ import annotations


def play_buttons(play: dict) -> dict:
    """Play and Pause for an animated figure; `play` is the animation's frame settings."""
    pause = {
        "frame": {"duration": 0, "redraw": False},
        "mode": "immediate",
        "transition": {"duration": 0},
    }
    return {
        "type": "buttons",
        "direction": "left",
        "x": 0.0,
        "y": 0.0,
        "xanchor": "left",
        "yanchor": "top",
        "pad": {"t": 40, "r": 10},
        "showactive": False,
        "buttons": [
            {
                "label": "▶ Play",
                "method": "animate",
                "args": [None, {**play, "fromcurrent": True, "mode": "immediate"}],
            },
            {"label": "❚❚ Pause", "method": "animate", "args": [[None], pause]},
        ],
    }


def frame_slider(names: list[str], play: dict, step: str) -> dict:
    """A slider over the frames `names`, its current value shown as `step` and the frame's name."""
    return {
        "active": 0,
        "x": 0.2,
        "y": 0.0,
        "len": 0.8,
        "xanchor": "left",
        "yanchor": "top",
        "pad": {"t": 30},
        "currentvalue": {"prefix": f"{step.capitalize()} ", "visible": True, "xanchor": "right"},
        "steps": [
            {"label": n, "method": "animate", "args": [[n], {**play, "mode": "immediate"}]}
            for n in names
        ],
    }
