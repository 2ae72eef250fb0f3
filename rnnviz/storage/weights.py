"""The weights file: safetensors headers read without loading, and checked against a model.

Every tensor's name, shape and dtype in a `model.safetensors` is compared with the state dict the
checkpoint's config describes (built on the meta device, so it costs no memory), before a single
weight is loaded, so a file that does not fit is refused with a message naming the first few
tensors that differ; weights that are not finite are refused too. Nothing here unpickles.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import safetensors
import torch

from rnnviz.models.network import ModelConfig, build_model

MAX_WEIGHTS_BYTES = 64 * 2**20  # larger weight files are refused
# torch dtype -> the code a safetensors header uses for it
_DTYPE_CODES = {
    torch.float64: "F64",
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}
SAFETENSORS_ERRORS = (safetensors.SafetensorError, OSError, ValueError, TypeError, RuntimeError)

Header = dict[str, tuple[tuple[int, ...], str]]  # tensor name -> (shape, safetensors dtype code)


class WeightsError(ValueError):
    """A weights file does not fit its model, or is too large; the message says which."""


def header_of(tensors: dict[str, torch.Tensor]) -> Header:
    """The header a state dict would be written with."""
    return {k: (tuple(v.shape), _dtype_code(v.dtype)) for k, v in tensors.items()}


def read_header(file: Path) -> Header:
    """The header of a safetensors file, read without loading any tensor."""
    with safetensors.safe_open(str(file), framework="pt") as f:
        names = f.keys()  # a safe_open handle is not iterable itself
        return {k: _slice_header(f.get_slice(k)) for k in names}


def check_weights_size(weights: Path) -> None:
    if not weights.is_file():
        raise WeightsError(f"{weights}: missing")
    size = weights.stat().st_size
    if size > MAX_WEIGHTS_BYTES:
        raise WeightsError(f"{weights}: {size} bytes, over the {MAX_WEIGHTS_BYTES}-byte limit")


def _dtype_code(dtype: torch.dtype) -> str:
    return _DTYPE_CODES.get(dtype, str(dtype))


def _slice_header(tensor_slice: Any) -> tuple[tuple[int, ...], str]:
    return tuple(tensor_slice.get_shape()), str(tensor_slice.get_dtype())


def expected_header(config: ModelConfig) -> Header:
    """The header the model `config` describes, built on the meta device: nothing is allocated,
    so a meta.json that declares a giant model costs nothing to check."""
    with torch.device("meta"):
        state = build_model(config).state_dict()
    return {k: (tuple(v.shape), _dtype_code(v.dtype)) for k, v in state.items()}


def check_finite(tensors: dict[str, torch.Tensor], source: str) -> None:
    """Refuse weights holding NaN or infinity, naming the first such tensor."""
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise WeightsError(f"{source}: tensor {name!r} holds NaN or infinite values")


def compare_headers(expected: Header, found: Header, source: str) -> None:
    """Raise naming the first few tensors that are missing, unexpected or of the wrong shape."""
    problems: list[str] = []
    for k, (shape, dtype) in expected.items():  # in the model's order, so messages are stable
        if k not in found:
            problems.append(f"missing tensor {k!r}")
        elif found[k][0] != shape:
            problems.append(f"{k!r} has shape {list(found[k][0])}, the model needs {list(shape)}")
        elif found[k][1] != dtype:
            problems.append(f"{k!r} has dtype {found[k][1]}, the model needs {dtype}")
    problems += [f"unexpected tensor {k!r}" for k in found if k not in expected]
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise WeightsError(
            f"{source}: weights do not fit the model in meta.json: {'; '.join(problems[:5])}{more}"
        )
