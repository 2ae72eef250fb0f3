"""Every time step of a recurrent model, recomputed from its own weights.

`trace` unrolls a `RowReader`'s RNN/LSTM/GRU one time step at a time with the cell equations
PyTorch documents, so the hidden state, the LSTM cell state and every gate activation can be shown
for each step, together with the class probabilities the readout would give after that step. A
step is what the model's reading order says: a row (the default), a column or one pixel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from rnnviz.models.network import IMAGE_SIZE, ModelConfig, RowReader, as_input, evaluating

__all__ = ["Trace", "locks_in_at", "step_logits", "trace"]


# eq=False: tensors compare elementwise, so a generated __eq__ would have no single truth value.
@dataclass(frozen=True, eq=False)
class Trace:
    """What a recurrent model computed at every step; H per direction, T steps, C classes."""

    cell: str  # the model's ModelConfig.cell
    order: str  # the model's ModelConfig.order: what one step read
    inputs: torch.Tensor  # (B, T, F): the sequence the recurrent layers read (after model.features)
    hidden: torch.Tensor  # (layers, dirs, B, T, H): h_t; index t is the step, also for dir 1
    cell_state: torch.Tensor | None  # (layers, dirs, B, T, H): LSTM c_t; None for RNN and GRU
    gates: dict[str, torch.Tensor]  # LSTM i, f, g, o; GRU r, z, n; RNN none; each like hidden
    probs: torch.Tensor  # (B, T, C): class probabilities after reading steps 0..t
    logits: torch.Tensor  # (B, C): the model's output for the whole input

    @property
    def predictions(self) -> torch.Tensor:
        """(B,) the predicted class of each image."""
        return self.logits.argmax(dim=-1)


# One time step: (x-part, h-part of the pre-activations, h, c) -> (h, c, gate activations).
StepOut = tuple[torch.Tensor, torch.Tensor | None, dict[str, torch.Tensor]]
Step = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None], StepOut]


def _lstm_step(
    xp: torch.Tensor, hp: torch.Tensor, h: torch.Tensor, c: torch.Tensor | None
) -> StepOut:
    i, f, g, o = (xp + hp).chunk(4, dim=-1)  # PyTorch's gate order
    i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
    assert c is not None
    c = f * c + i * g
    return o * c.tanh(), c, {"i": i, "f": f, "g": g, "o": o}


def _gru_step(
    xp: torch.Tensor, hp: torch.Tensor, h: torch.Tensor, c: torch.Tensor | None
) -> StepOut:
    x_r, x_z, x_n = xp.chunk(3, dim=-1)
    h_r, h_z, h_n = hp.chunk(3, dim=-1)
    r, z = (x_r + h_r).sigmoid(), (x_z + h_z).sigmoid()
    n = (x_n + r * h_n).tanh()  # the reset gate scales W_hn h + b_hn, bias included
    return (1 - z) * n + z * h, None, {"r": r, "z": z, "n": n}


def _tanh_step(
    xp: torch.Tensor, hp: torch.Tensor, h: torch.Tensor, c: torch.Tensor | None
) -> StepOut:
    return (xp + hp).tanh(), None, {}


def _relu_step(
    xp: torch.Tensor, hp: torch.Tensor, h: torch.Tensor, c: torch.Tensor | None
) -> StepOut:
    return (xp + hp).relu(), None, {}


STEPS: dict[str, Step] = {  # keyed by nn.RNNBase.mode
    "LSTM": _lstm_step,
    "GRU": _gru_step,
    "RNN_TANH": _tanh_step,
    "RNN_RELU": _relu_step,
}


def _run_direction(
    rnn: nn.RNNBase, layer: int, reverse: bool, seq: torch.Tensor
) -> dict[str, torch.Tensor]:
    """One layer in one direction over seq (B, T, F) -> {"h", ["c"], gates...}, each (B, T, H)."""
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    w_hh = getattr(rnn, "weight_hh" + suffix)
    b_hh = getattr(rnn, "bias_hh" + suffix, None)  # absent when the RNN has bias=False
    # The input half of every pre-activation does not depend on h: one matmul for all rows.
    x_proj = F.linear(
        seq, getattr(rnn, "weight_ih" + suffix), getattr(rnn, "bias_ih" + suffix, None)
    )
    h = seq.new_zeros(seq.shape[0], rnn.hidden_size)  # (B, H)
    c = torch.zeros_like(h) if rnn.mode == "LSTM" else None
    step = STEPS[rnn.mode]
    rows = range(seq.shape[1] - 1, -1, -1) if reverse else range(seq.shape[1])
    record: dict[str, list[torch.Tensor]] = {}
    for t in rows:
        h, c, gates = step(x_proj[:, t], F.linear(h, w_hh, b_hh), h, c)
        for name, value in {"h": h, **({"c": c} if c is not None else {}), **gates}.items():
            record.setdefault(name, []).append(value)
    if reverse:  # recorded from the last row up; store by row index
        record = {name: values[::-1] for name, values in record.items()}
    return {name: torch.stack(values, dim=1) for name, values in record.items()}


def _unroll(rnn: nn.RNNBase, seq: torch.Tensor) -> dict[str, torch.Tensor]:
    """All layers and directions over seq (B, T, F) -> {"h", ["c"], gates...}, each (L, D, B, T, H).

    Layer k > 0 reads [forward h, backward h] of layer k - 1; eval mode, so no dropout between.
    """
    if getattr(rnn, "proj_size", 0):
        raise ValueError("trace does not support LSTMs with proj_size > 0")
    layers = []
    for layer in range(rnn.num_layers):
        dirs = [
            _run_direction(rnn, layer, rev, seq) for rev in (False, True)[: 1 + rnn.bidirectional]
        ]
        seq = torch.cat([d["h"] for d in dirs], dim=-1)  # (B, T, D * H): the next layer's input
        layers.append({name: torch.stack([d[name] for d in dirs]) for name in dirs[0]})
    return {name: torch.stack([lay[name] for lay in layers]) for name in layers[0]}


def _final_logits(model: RowReader, hidden: torch.Tensor) -> torch.Tensor:
    """hidden (L, D, B, T, H) -> logits (B, C) from each direction's final state, like forward()."""
    last = hidden[-1]  # (D, B, T, H)
    finals = [last[0, :, -1]] + (
        [last[1, :, 0]] if last.shape[0] == 2 else []
    )  # backward ends at row 0
    return model.readout(torch.stack(finals))


def _features(model: RowReader, seq: torch.Tensor) -> torch.Tensor:
    """The order's steps (B, T, 28 or 1) -> (B, T, F), the sequence model.rnn reads."""
    return model.features(seq)


def _logits_per_row(model: RowReader, seq: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
    """(B, T, C): the logits after reading steps 0..t of seq (B, T, 28 or 1), for every t."""
    if not model.config.bidirectional:
        return model.readout(hidden[-1])  # (1, B, T, H) -> (B, T, C): the head on every h_t
    # A backward direction that has read only steps 0..t starts at step t, not at the last one,
    # so every prefix is its own run (ModelConfig keeps bidirectional models to 28 steps).
    prefixes = [
        _final_logits(model, _unroll(model.rnn, _features(model, seq[:, :k]))["h"])
        for k in range(1, seq.shape[1])
    ]
    return torch.stack([*prefixes, _final_logits(model, hidden)], dim=1)


def step_logits(model: RowReader, x: torch.Tensor) -> torch.Tensor:
    """Float images (B, R, 28) -> (B, T, C): the logits after every step of a one-way model.

    One pass of the model's own (fast) layers: its readout applies to the state after any step.
    The same numbers as `trace(model, x).probs` before the softmax; gradients flow through.
    """
    if model.config.bidirectional:
        raise ValueError("step_logits needs a one-way model; trace a bidirectional one")
    out, _ = model.rnn(model.features(model.sequence(x)))  # (B, T, H): the last layer, each step
    return model.readout(out.unsqueeze(0))  # (1, B, T, H) -> (B, T, C)


def _recurrent(model: nn.Module) -> RowReader:
    config = getattr(model, "config", None)
    if isinstance(config, ModelConfig) and not config.recurrent:
        raise ValueError(
            f"trace needs a recurrent model; cell={config.cell!r} reads the whole image at once"
        )
    if not isinstance(model, RowReader):
        raise TypeError(f"trace needs an rnnviz RowReader, got {type(model).__name__}")
    return model


def _as_batch(images: torch.Tensor) -> torch.Tensor:
    """(T, 28) or (B, T, 28) -> (B, T, 28), rejecting anything that is not rows of an image."""
    if images.ndim == 2:
        images = images.unsqueeze(0)
    if images.ndim != 3 or images.shape[-1] != IMAGE_SIZE or not 1 <= images.shape[1] <= IMAGE_SIZE:
        raise ValueError(
            f"images must be (B, T, {IMAGE_SIZE}) or (T, {IMAGE_SIZE}) with 1 <= T <= "
            f"{IMAGE_SIZE}, got shape {tuple(images.shape)}"
        )
    return images


def _model_input(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Images as the float (B, T, 28) the model's parameters can read, on their device."""
    param = next(model.parameters())
    return as_input(_as_batch(images).to(param.device)).to(param.dtype)


def trace(model: nn.Module, images: torch.Tensor) -> Trace:
    """Unroll a recurrent model over images (B, R, 28) or (R, 28), uint8 or float, R <= 28 rows.

    The model's reading order makes the steps: a row model reads the R rows it is given (T = R);
    the other orders read whole images (R = 28) in T = 28 or 784 steps. Runs in eval mode without
    gradients; every tensor is detached and on the model's device.
    """
    reader = _recurrent(model)
    with evaluating(reader), torch.no_grad():
        x = _model_input(reader, images)  # (B, R, 28) floats in [0, 1]
        seq = reader.sequence(x)  # (B, T, 28 or 1): the order's steps
        inputs = _features(reader, seq)  # (B, T, F)
        states = _unroll(reader.rnn, inputs)
        per_row = _logits_per_row(reader, seq, states["h"])  # (B, T, C)
    return Trace(
        cell=reader.config.cell,
        order=reader.config.order,
        inputs=inputs,
        hidden=states["h"],
        cell_state=states.get("c"),
        gates={name: value for name, value in states.items() if name not in ("h", "c")},
        probs=per_row.softmax(dim=-1),
        logits=per_row[:, -1],  # the same numbers as probs[:, -1], so the two always agree
    )


def locks_in_at(probs: torch.Tensor) -> int:
    """probs (T, C) of one image -> the first step (0-based) from which the guess is the final one
    for good."""
    if probs.ndim != 2 or probs.shape[0] == 0:
        raise ValueError(f"probs must be (T, C) with T >= 1, got shape {tuple(probs.shape)}")
    guesses = probs.argmax(dim=-1)  # (T,)
    changed = (guesses != guesses[-1]).nonzero()
    return int(changed[-1]) + 1 if len(changed) else 0
