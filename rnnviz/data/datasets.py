"""The datasets: MNIST, Fashion-MNIST and an offline digits set, as uint8 tensors on a device.

Every dataset is three `Split`s (train, val, test) of uint8 images (N, 28, 28), row t being the
input at time step t, with int64 labels (N,). MNIST and Fashion-MNIST are read from IDX files
found where `rnnviz.data.sources` looks (torchvision's folder layout first), with torchvision's
download as the fallback; "digits" is scikit-learn's bundled 8x8 set brought to MNIST's look, so
the lab works with no files and no network. `load_dataset` reads each dataset once per process,
moves it to each device once, and is safe to call from several threads at once.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from rnnviz.common.settings import Config, setting
from rnnviz.data.sources import (
    DATASETS,
    IMAGE_SIZE,
    DatasetInfo,
    find_folder,
    read_split,
    unavailable_message,
)
from rnnviz.data.sources import download as download_files

SPLIT_SEED = 0  # fixed, so every process holds out the same validation images
DIGITS_TEST_FRACTION = 0.2  # scikit-learn's digits come unsplit; this much becomes the test set
DEFAULT_DATA_DIR = "./data"  # used when neither data_dir nor $RNNVIZ_DATA_DIR is set


def _dataset_titles() -> dict[str, str]:
    return {key: info.title for key, info in DATASETS.items()}


@dataclass(frozen=True)
class DataConfig(Config):
    """Which dataset to load, from where, how much of its training set to hold out, and how much
    of the rest to train on."""

    # fmt: off
    dataset: str = setting("mnist", label="Dataset", choices=_dataset_titles, url="dataset",
                           flag="dataset", group="Data",
                           help="which images (in the app, ✓: its files are on this machine)")
    data_dir: str | None = None  # None: $RNNVIZ_DATA_DIR, else ./data
    val_fraction: float = setting(0.1, label="Validation fraction", low=0.0, high=0.5, step=0.05,
                                  url="val", flag="val-fraction", group="Data",
                                  help="share of the training images held out for validation")
    download: bool = True  # let torchvision fetch missing files (needs the internet)
    train_subset: int = setting(0, label="Training images", low=0, high=1_000_000, url="subset",
                                flag="train-subset", group="Data",
                                help="train on the first N training images only (0: all of them); "
                                "lets a CPU finish a long-sequence run in a class period")
    # fmt: on

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.data_dir is not None and (not isinstance(self.data_dir, str) or not self.data_dir):
            raise ValueError(f"data_dir={self.data_dir!r} must be a non-empty path string or None")
        if not isinstance(self.download, bool):
            raise ValueError(f"download={self.download!r} must be True or False")


@dataclass(frozen=True)
class Split:
    """Images and their labels; index i of both is one example."""

    images: torch.Tensor  # uint8 (N, 28, 28): rows are time steps
    labels: torch.Tensor  # int64 (N,)

    def __post_init__(self) -> None:
        images, labels = self.images, self.labels
        if images.dtype != torch.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
            raise ValueError(f"images must be uint8 (N, 28, 28), not {images.dtype} {images.shape}")
        if labels.dtype != torch.int64 or labels.shape != images.shape[:1]:
            raise ValueError(f"labels must be int64 (N,), not {labels.dtype} {labels.shape}")

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass(frozen=True)
class Dataset:
    """A loaded dataset: its description, three splits on one device, and where it came from."""

    info: DatasetInfo
    train: Split
    val: Split  # held out from the original training set; empty when val_fraction is 0
    test: Split
    source: str  # the folder read, or "scikit-learn bundled digits"

    @property
    def device(self) -> torch.device:
        return self.train.images.device


class DatasetUnavailableError(RuntimeError):
    """The dataset's files are nowhere to be found and could not be downloaded."""


def data_root(data_dir: str | None = None) -> Path:
    """The data root, absolute: `data_dir`, else $RNNVIZ_DATA_DIR, else ./data."""
    chosen = data_dir or os.environ.get("RNNVIZ_DATA_DIR") or DEFAULT_DATA_DIR
    return Path(chosen).expanduser().resolve()


def dataset_available(key: str, data_dir: str | None = None) -> bool:
    """True when `key` can be loaded without a download (always for "digits")."""
    if key not in DATASETS:
        raise ValueError(f"dataset={key!r} is not one of {sorted(DATASETS)}")
    return key == "digits" or find_folder(key, data_root(data_dir)) is not None


def default_dataset(data_dir: str | None = None) -> str:
    """The key to start with: "mnist" when its files are here, else the offline "digits"."""
    return "mnist" if dataset_available("mnist", data_dir) else "digits"


@dataclass(frozen=True)
class _Loaded:
    """A dataset before the validation split: the full training set and the test set."""

    train: Split
    test: Split
    source: str


def _read_split(folder: Path, split: str, num_classes: int) -> Split:
    images, labels = read_split(folder, split, num_classes)
    return Split(torch.from_numpy(images), torch.from_numpy(labels).long())


def _load_files(key: str, root: Path, download: bool) -> _Loaded:
    folder = find_folder(key, root)
    note = "not tried (download=False)"
    if folder is None and download:
        note = download_files(key, root) or "finished, yet the files are still missing"
        folder = find_folder(key, root)
    if folder is None:
        raise DatasetUnavailableError(unavailable_message(key, root, note))
    n = len(DATASETS[key].class_names)
    return _Loaded(_read_split(folder, "train", n), _read_split(folder, "test", n), str(folder))


def _mnist_style(small: torch.Tensor) -> torch.Tensor:
    """(N, h, w) floats in [0, 1] -> (N, 28, 28) uint8 white-on-black digits, made as MNIST was.

    Each digit is scaled to 20x20 and placed so its centre of mass, in pixel-index coordinates,
    lands on (row, col) = (14, 14), where real MNIST's average centre of mass lies.
    """
    box = F.interpolate(small[:, None], size=(20, 20), mode="bilinear", align_corners=False)
    box = (box[:, 0].clamp(0.0, 1.0) * 255).round().to(torch.uint8)  # (N, 20, 20)
    mass = box.float()
    total = mass.sum(dim=(1, 2)).clamp_min(1e-6)
    coords = torch.arange(20, dtype=torch.float32)
    top = (14 - mass.sum(dim=2) @ coords / total).round().clamp(0, IMAGE_SIZE - 20)
    left = (14 - mass.sum(dim=1) @ coords / total).round().clamp(0, IMAGE_SIZE - 20)
    canvas = torch.zeros(len(box), IMAGE_SIZE, IMAGE_SIZE, dtype=torch.uint8)
    for i, (t, c) in enumerate(zip(top.int().tolist(), left.int().tolist(), strict=True)):
        canvas[i, t : t + 20, c : c + 20] = box[i]
    return canvas


def _partition(split: Split, fraction: float) -> tuple[Split, Split]:
    """A seeded split into (the rest, `fraction` of it); both keep the original order."""
    order = torch.randperm(len(split), generator=torch.Generator().manual_seed(SPLIT_SEED))
    cut = int(len(split) * fraction)
    parts = order[cut:].sort().values, order[:cut].sort().values
    rest, held = (idx.to(split.images.device) for idx in parts)
    return (
        Split(split.images[rest].contiguous(), split.labels[rest]),
        Split(split.images[held].contiguous(), split.labels[held]),
    )


def _load_digits() -> _Loaded:
    from sklearn.datasets import load_digits

    bunch = load_digits()  # images (1797, 8, 8) in 0..16
    small = torch.as_tensor(bunch.images, dtype=torch.float32) / 16.0
    every = Split(_mnist_style(small), torch.as_tensor(bunch.target, dtype=torch.int64))
    train, test = _partition(every, DIGITS_TEST_FRACTION)
    return _Loaded(train, test, "scikit-learn bundled digits")


def _to(split: Split, device: torch.device) -> Split:
    return Split(split.images.to(device), split.labels.to(device))


_GUARD = threading.Lock()
_LOCKS: dict[tuple[str, str], threading.Lock] = {}  # (dataset, root) -> lock around its loading
_LOADED: dict[tuple[str, str, str], _Loaded] = {}  # (dataset, root, device) -> unsplit data
# (dataset, root, val_fraction, train_subset, device) -> the dataset as loaded
_CACHE: dict[tuple[str, str, float, int, str], Dataset] = {}


def _lock_for(dataset: str, root: str) -> threading.Lock:
    with _GUARD:
        return _LOCKS.setdefault((dataset, root), threading.Lock())


def _loaded_on(config: DataConfig, root: str, device: torch.device) -> _Loaded:
    """The unsplit data on `device`: read once to the CPU, copied once per device."""
    cpu_key, key = (config.dataset, root, "cpu"), (config.dataset, root, str(device))
    if cpu_key not in _LOADED:
        if config.dataset == "digits":
            _LOADED[cpu_key] = _load_digits()
        else:
            _LOADED[cpu_key] = _load_files(config.dataset, Path(root), config.download)
    if key not in _LOADED:
        cpu = _LOADED[cpu_key]
        _LOADED[key] = _Loaded(_to(cpu.train, device), _to(cpu.test, device), cpu.source)
    return _LOADED[key]


def load_dataset(config: DataConfig, *, device: str | torch.device = "cpu") -> Dataset:
    """The dataset `config` names, on `device`, cached for the life of the process.

    A second call with the same dataset, root, val_fraction, train_subset and device returns the
    same object; concurrent calls wait for one read. `train_subset` keeps the first N images of the
    training split (after the validation images are held out); validation and test stay whole.
    Raises DatasetUnavailableError when the files are nowhere to be found and cannot be
    downloaded.
    """
    device = torch.device(device)
    # The digits ship with scikit-learn, so every data root shares one copy.
    root = "" if config.dataset == "digits" else str(data_root(config.data_dir))
    key = (config.dataset, root, float(config.val_fraction), config.train_subset, str(device))
    with _lock_for(config.dataset, root):
        if key not in _CACHE:
            loaded = _loaded_on(config, root, device)
            train, val = _partition(loaded.train, config.val_fraction)
            if 0 < config.train_subset < len(train):
                n = config.train_subset  # a view of the first n: no copy on the device
                train = Split(train.images[:n], train.labels[:n])
            info = DATASETS[config.dataset]
            _CACHE[key] = Dataset(info, train, val, loaded.test, loaded.source)
        return _CACHE[key]
