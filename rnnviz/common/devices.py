"""Where a computation runs: "auto", "cpu" or "cuda" as a `torch.device`, and its name for people.

The one place that turns a device setting into a device, so the trainer, the memory lab, the CLI
and the pages agree on what "auto" means and say the same thing when a GPU is asked for and absent.
"""

from __future__ import annotations

import torch

# setting -> what a menu calls it
DEVICES: dict[str, str] = {
    "auto": "auto (GPU when there is one)",
    "cpu": "CPU",
    "cuda": "CUDA GPU",
}


def resolve_device(device: str | torch.device) -> torch.device:
    """'auto' -> CUDA when available; 'cuda' without a GPU is an error that says so."""
    if isinstance(device, torch.device):
        return device
    if device not in DEVICES:
        raise ValueError(f"device={device!r} is not one of {list(DEVICES)}")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' but no CUDA GPU is available here; use 'auto' or 'cpu'")
    return torch.device(device)


def device_name(device: torch.device) -> str:
    """'NVIDIA H200' or 'CPU': what a person reads in a status line."""
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
