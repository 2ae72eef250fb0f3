"""rnnviz.common.devices: one meaning of "auto", and a clear error for a GPU that is not there."""

from __future__ import annotations

import pytest
import torch

from rnnviz.common.devices import DEVICES, device_name, resolve_device


def test_auto_means_the_gpu_when_there_is_one() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert (
        resolve_device("cpu") == torch.device("cpu") and device_name(torch.device("cpu")) == "CPU"
    )
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    assert list(DEVICES) == ["auto", "cpu", "cuda"]


def test_unknown_devices_are_named_with_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match=r"device='tpu' is not one of \['auto', 'cpu', 'cuda'\]"):
        resolve_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_says_so() -> None:
    with pytest.raises(ValueError, match="no CUDA GPU is available here"):
        resolve_device("cuda")
