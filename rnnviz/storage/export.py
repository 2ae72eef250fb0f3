"""A run as code: a folder a student can read, run and change without rnnviz.

`export_checkpoint(ckpt, out)` writes the checkpoint's `model.safetensors`, a `model.py` (the
architecture in plain PyTorch and `load(path) -> nn.Module`), a standalone `train.py` (torch and
torchvision only: the same model and hyperparameters, data held as tensors on the device) and a
README. The two scripts are the templates in `rnnviz/exported/` with the run's settings filled in.
"""

from __future__ import annotations

import io
import pprint
import shutil
import tempfile
import zipfile
from pathlib import Path

from rnnviz.storage.checkpoints import WEIGHTS_FILE, load_checkpoint

TEMPLATES = Path(__file__).resolve().parent / "exported"
README = """# {title}

Exported from rnnviz: test accuracy {accuracy} on {dataset} when it was trained.

- `model.safetensors`: the trained weights (plain tensors, safe to open).
- `model.py`: the architecture in plain PyTorch; `load("model.safetensors")` gives the trained
  model, `build()` a fresh one.
- `train.py`: trains the same model from scratch with the same hyperparameters:

```bash
python train.py --epochs {epochs} --data-dir DIR   # DIR holds MNIST/raw or FashionMNIST/raw
```

It prints one line per epoch and, last, one JSON object with `test_accuracy`.
"""


def export_checkpoint(path: Path | str, out: Path | str) -> Path:
    """Write the checkpoint at `path` as code into the folder `out` (new, or empty); returns it."""
    checkpoint = load_checkpoint(path)  # validated completely before anything is written
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"{out}: already exists and is not an empty folder; choose another")
    record, config = checkpoint.record, checkpoint.config.to_dict()  # model.py's CONFIG
    run = {"dataset": record.dataset, "val_fraction": record.config.data.val_fraction,
           "train": record.config.train.to_dict()}  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(path) / WEIGHTS_FILE, out / WEIGHTS_FILE)
    fill = {"model.py": ("__CONFIG__", config), "train.py": ("__RUN__", run)}
    for name, (marker, value) in fill.items():
        text = (TEMPLATES / f"{name}.in").read_text()
        literal = pprint.pformat(value, width=90, sort_dicts=False)
        (out / name).write_text(text.replace(marker, literal))
    accuracy = f"{record.test_accuracy:.2%}" if record.test_accuracy is not None else "unknown"
    (out / "README.md").write_text(README.format(
        title=record.title, accuracy=accuracy, dataset=record.dataset,
        epochs=record.config.train.epochs))  # fmt: skip
    return out


def code_zip(path: Path | str) -> bytes:
    """`export_checkpoint`'s folder as a zip (for a download button), one folder inside."""
    folder_name = Path(path).name or "run"
    with tempfile.TemporaryDirectory() as tmp:
        folder = export_checkpoint(path, Path(tmp) / folder_name)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for file in sorted(folder.iterdir()):
                zf.write(file, arcname=f"{folder_name}/{file.name}")
    return buffer.getvalue()
