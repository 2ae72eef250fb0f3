"""rnnviz.data.sources: MNIST's IDX files read exactly, and refused with the path when they are
bad."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from rnnviz.data.sources import read_idx

from .test_data import numbered_images, write_idx


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("shape", [(7,), (3, 28, 28), (2, 5, 4)])
def test_read_idx_round_trips(tmp_path: Path, gz: bool, shape: tuple[int, ...]) -> None:
    array = np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)
    result = read_idx(write_idx(tmp_path / "x-ubyte", array, gz=gz))
    assert result.dtype == np.uint8
    np.testing.assert_array_equal(result, array)
    result[0] = 1  # writable, so torch.from_numpy takes it without a warning


def test_read_idx_rejects_bad_magic(tmp_path: Path) -> None:
    path = tmp_path / "bad-ubyte"
    path.write_bytes(bytes([0, 0, 0x0D, 1]) + (3).to_bytes(4, "big") + b"\0" * 12)  # float32
    with pytest.raises(ValueError, match=r"bad-ubyte.*00000d01"):
        read_idx(path)
    path.write_bytes(b"PK\x03\x04 not idx at all")
    with pytest.raises(ValueError, match="bad-ubyte"):
        read_idx(path)


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_rejects_truncated_and_padded(tmp_path: Path, gz: bool) -> None:
    good = write_idx(tmp_path / "x-ubyte", numbered_images(4), gz=False).read_bytes()
    for name, payload in [("short", good[:-5]), ("long", good + b"\0"), ("head", good[:9])]:
        path = tmp_path / f"{name}-ubyte"
        path.write_bytes(gzip.compress(payload) if gz else payload)
        with pytest.raises(ValueError, match=f"{name}-ubyte"):
            read_idx(path)


def test_read_idx_rejects_cut_gzip_stream(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "x-ubyte", numbered_images(50), gz=True)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(ValueError, match=r"x-ubyte\.gz"):
        read_idx(path)
