"""Scoring the memory lab's networks: accuracies, and their answers as plain data to show.

`recall_accuracy` and `bit_accuracy` score a batch; `recall_examples` and `add_example` run a
trained model on fresh sequences (or on two numbers a student chose) and return what it answered,
step by step, for the page and the CLI to lay out.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from rnnviz.memory.tasks import (
    AddConfig,
    RecallConfig,
    bits_to_int,
    carry_bits,
    int_to_bits,
    recall_batch,
)
from rnnviz.models.network import evaluating

EXAMPLE_SEED = 7  # offset from config.seed for the sample sequences shown to a reader


def recall_accuracy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Share of right digits: logits (B, 10), targets (B,) -> a scalar tensor."""
    return (logits.argmax(-1) == targets).float().mean()


def prob_one(outputs: torch.Tensor) -> torch.Tensor:
    """P(sum bit = 1) per step: (B, T, 2) logits ("ce") or (B, T, 1) logit ("mse") -> (B, T)."""
    if outputs.shape[-1] == 2:
        return outputs.softmax(-1)[..., 1]
    return torch.sigmoid(outputs.squeeze(-1))


def bit_accuracy(outputs: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
    """Share of right sum bits: outputs (B, T, 2 or 1), bits (B, T) -> a scalar tensor."""
    return ((prob_one(outputs) > 0.5).long() == bits).float().mean()


@torch.no_grad()
def recall_examples(
    model: nn.Module, config: RecallConfig, n: int = 8, *, device: torch.device | str
) -> list[dict[str, Any]]:
    """`n` fresh sequences, answered: {"digits", "target", "prediction", "correct"} each."""
    generator = torch.Generator(device=device)
    generator.manual_seed(config.seed + EXAMPLE_SEED)
    inputs, targets = recall_batch(
        n, config.length, config.position, generator=generator, device=device
    )  # (n, L, 10), (n,)
    with evaluating(model):
        predictions = model(inputs).argmax(-1).tolist()
    return [
        {"digits": row, "target": target, "prediction": guess, "correct": guess == target}
        for row, target, guess in zip(
            inputs.argmax(-1).tolist(), targets.tolist(), predictions, strict=True
        )
    ]


@torch.no_grad()
def add_example(
    model: nn.Module, config: AddConfig, a: int, b: int, *, device: torch.device | str
) -> dict[str, Any]:
    """The model adding a + b; every list has one entry per step (N + 1), LSB first.

    The operands get `config.bits` bits, or more if they need them (the weights do not depend on
    the length). "carry_bits" is the true carry into each step; "output_probs" is P(bit = 1);
    "output" is the integer the model's bits spell.
    """
    if not (0 <= a < 2**62 and 0 <= b < 2**62):
        raise ValueError(f"a={a} and b={b} must be between 0 and 2**62 - 1")
    width = max(config.bits, a.bit_length(), b.bit_length())
    operands = int_to_bits(torch.tensor([a, b], device=device), width)  # (2, N)
    inputs = F.pad(operands.T.unsqueeze(0), (0, 0, 0, 1)).float()  # (1, N + 1, 2)
    target = int_to_bits(torch.tensor([a + b], device=device), width + 1)[0]  # (N + 1,)
    with evaluating(model):
        probs = prob_one(model(inputs))[0]  # (N + 1,)
    output = (probs > 0.5).long()
    return {
        "a": a, "b": b, "sum": a + b,
        "a_bits": inputs[0, :, 0].long().tolist(), "b_bits": inputs[0, :, 1].long().tolist(),
        "carry_bits": carry_bits(operands[:1], operands[1:])[0].tolist(),
        "target_bits": target.tolist(), "output_bits": output.tolist(),
        "output_probs": probs.tolist(), "output": int(bits_to_int(output).item()),
        "correct": bool(torch.equal(output, target)),
    }  # fmt: skip
