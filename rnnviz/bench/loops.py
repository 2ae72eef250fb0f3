"""The bench's timed loops: the seeds' DataLoader loop, rnnviz's trainer, and a bare step on one
batch held in memory (the floor no data path goes below), same model and batch."""

from __future__ import annotations

import gzip
import shutil
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from rnnviz.data.datasets import DataConfig, data_root, load_dataset
from rnnviz.models.network import ModelConfig, build_model
from rnnviz.training.config import RunConfig, TrainConfig
from rnnviz.training.control import Control
from rnnviz.training.events import Event, Stepped
from rnnviz.training.stepper import EagerStep
from rnnviz.training.trainer import train

BENCH_MODEL = ModelConfig(cell="lstm", hidden_size=128, num_layers=2)
BATCH = 100
WARMUP = 5


def torchvision_root(data_dir: str | None, tmp: Path) -> Path:
    """torchvision's MNIST reads uncompressed files from <root>/MNIST/raw; make them if needed."""
    load_dataset(DataConfig(dataset="mnist", data_dir=data_dir, download=False))  # clear error
    raw = data_root(data_dir) / "MNIST" / "raw"
    out = tmp / "MNIST" / "raw"
    out.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):  # fmt: skip
        if (raw / name).exists():
            shutil.copy(raw / name, out / name)
        else:
            with gzip.open(raw / f"{name}.gz") as src, open(out / name, "wb") as dst:
                shutil.copyfileobj(src, dst)
    return tmp


def seed_loop(root: Path, device: torch.device, steps: int) -> tuple[float, int]:
    """Seconds per step of the seeds' loop on torchvision's files under root; steps per epoch."""
    from torchvision import datasets, transforms

    train_set = datasets.MNIST(root, train=True, transform=transforms.ToTensor())
    loader = torch.utils.data.DataLoader(train_set, batch_size=BATCH, shuffle=True)
    torch.manual_seed(0)
    model = build_model(BENCH_MODEL).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = 0.0
    for i, (images, labels) in enumerate(loader):
        if i == WARMUP:
            sync(device)
            start = time.perf_counter()
        if i == WARMUP + steps:
            break
        images = images.reshape(-1, 28, 28).to(device)  # (B, 1, 28, 28) -> (B, 28, 28)
        labels = labels.to(device)
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if (i + 1) % 100 == 0:
            loss.item()  # the seeds print the loss every 100 steps
    sync(device)
    return (time.perf_counter() - start) / steps, len(loader)


def bare_step(device: torch.device, steps: int) -> float:
    """Seconds per step of the same eager step on one batch held in memory: no data path at all.

    No loop that feeds this step can be faster than this, so the seed loop's time over it is the
    most any data path alone can gain; a captured CUDA graph and fused Adam speed up the step
    itself.
    """
    torch.manual_seed(0)
    model = build_model(BENCH_MODEL).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    step = EagerStep(model, optimizer, schedule=None, grad_clip=0.0)
    images = torch.randint(0, 256, (BATCH, 28, 28), dtype=torch.uint8, device=device)
    labels = torch.randint(0, 10, (BATCH,), device=device)
    start = 0.0
    for i in range(WARMUP + steps):
        if i == WARMUP:
            sync(device)
            start = time.perf_counter()
        step.step(images, labels)
    sync(device)
    return (time.perf_counter() - start) / steps


def rnnviz_loop(data_dir: str | None, device: torch.device, steps: int) -> tuple[float, str]:
    """Seconds per step of rnnviz's trainer on the same model and batch, and its fast path."""
    run = RunConfig(
        model=BENCH_MODEL,
        data=DataConfig(dataset="mnist", data_dir=data_dir, download=False),
        train=TrainConfig(batch_size=BATCH, epochs=1, lr=1e-3, device=device.type),
    )
    control = Control()
    marks: dict[str, float] = {}

    def emit(event: Event) -> None:
        if not isinstance(event, Stepped):
            return
        if "t0" not in marks and event.step >= WARMUP:
            marks["t0"], marks["s0"] = event.elapsed_s, event.step
        elif "t0" in marks and event.step >= marks["s0"] + steps:
            marks["t1"], marks["s1"] = event.elapsed_s, event.step
            control.stop()

    load_dataset(run.data, device=device)  # loading once per process is not a training cost
    result = train(run, control=control, emit=emit)
    if "t1" not in marks:  # the epoch ended before enough steps: time what there was
        raise ValueError(f"{steps} timed steps do not fit in one epoch; use fewer --steps")
    return (marks["t1"] - marks["t0"]) / (marks["s1"] - marks["s0"]), result.record.fast_path


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
