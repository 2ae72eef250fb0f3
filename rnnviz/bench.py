"""The speed benchmark: the seeds' training loop against rnnviz's trainer, same model, same batch.

The seeds' loop is the notebook classic: a torchvision MNIST dataset with `ToTensor`, a
`DataLoader` that builds every batch sample by sample, and a copy to the device per batch. rnnviz
keeps the dataset as uint8 tensors on the device and slices batches out of them (plus fused Adam
and a captured CUDA graph on a GPU). Both train an LSTM 2x128 with batch 100 and Adam 1e-3; each
is timed over the same number of steps after a short warm-up and scaled to a full epoch, which is
said in the report whenever fewer steps than an epoch were timed. The two loops take turns for a few
rounds and the medians are compared, so a busy spell on a shared machine slows both rather than
one. A third timing, the same eager step on one batch held in memory, is the floor no data path can
go below: where the model's arithmetic is most of a step (an LSTM on a small CPU), it bounds what
any loop can gain over the seeds'.
"""

from __future__ import annotations

import gzip
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from rnnviz.config import RunConfig, TrainConfig
from rnnviz.control import Control
from rnnviz.data import DataConfig, data_root, load_dataset
from rnnviz.devices import device_name, resolve_device
from rnnviz.events import Event, Stepped
from rnnviz.models import ModelConfig, build_model
from rnnviz.stepper import EagerStep
from rnnviz.training import train

BENCH_MODEL = ModelConfig(cell="lstm", hidden_size=128, num_layers=2)
BATCH = 100
WARMUP = 5


def _torchvision_root(data_dir: str | None, tmp: Path) -> Path:
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
            _sync(device)
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
    _sync(device)
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
            _sync(device)
            start = time.perf_counter()
        step.step(images, labels)
    _sync(device)
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


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_bench(
    *,
    device: str = "auto",
    data_dir: str | None = None,
    steps: int | None = None,
    rounds: int = 3,
) -> dict[str, Any]:
    """Time both loops on one machine in one run; `speedup` is seed s/epoch over rnnviz s/epoch."""
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    dev = resolve_device(device)
    steps = steps or (500 if dev.type == "cuda" else 40)
    seed_steps: list[float] = []
    ours_steps: list[float] = []
    bare_steps: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = _torchvision_root(data_dir, Path(tmp))  # once: the seeds' files for every round
        for _ in range(rounds):  # taking turns: a slow spell of the machine hits every loop
            seed_step, epoch_steps = seed_loop(root, dev, steps)
            ours_step, fast_path = rnnviz_loop(data_dir, dev, steps)
            seed_steps.append(seed_step)
            ours_steps.append(ours_step)
            bare_steps.append(bare_step(dev, steps))
    # rnnviz holds out a validation split, so its epoch has fewer steps; compare per-sample cost.
    seed_epoch = statistics.median(seed_steps) * epoch_steps
    ours_epoch = statistics.median(ours_steps) * epoch_steps
    bare_epoch = statistics.median(bare_steps) * epoch_steps
    partial = steps < epoch_steps
    report: dict[str, Any] = {
        "device": device_name(dev),
        "model": "LSTM 2x128, batch 100, Adam 1e-3",
        "timed_steps": steps,
        "rounds": rounds,
        "steps_per_epoch": epoch_steps,
        "scaled_from_partial_epoch": partial,
        "seed_seconds_per_epoch": seed_epoch,
        "rnnviz_seconds_per_epoch": ours_epoch,
        "rnnviz_fast_path": fast_path,
        "bare_step_seconds_per_epoch": bare_epoch,
        "data_path_speedup_limit": seed_epoch / bare_epoch,
        "speedup": seed_epoch / ours_epoch,
        "round_speedups": [s / o for s, o in zip(seed_steps, ours_steps, strict=True)],
        "threads": torch.get_num_threads(),
    }
    report["lines"] = _lines(report)
    return report


def _lines(report: dict[str, Any]) -> list[str]:
    """The report for people, one line per timing."""
    steps, epoch_steps, rounds = report["timed_steps"], report["steps_per_epoch"], report["rounds"]
    seed_epoch, ours_epoch = report["seed_seconds_per_epoch"], report["rnnviz_seconds_per_epoch"]
    bare_epoch, fast_path = report["bare_step_seconds_per_epoch"], report["rnnviz_fast_path"]
    partial = report["scaled_from_partial_epoch"]
    scaled = f" (timed {steps} steps, scaled to {epoch_steps})" if partial else ""
    turns = f", median of {rounds} rounds" if rounds > 1 else ""
    return [
        f"device: {report['device']} · {report['model']} · {report['threads']} threads",
        f"seed loop (torchvision + ToTensor + DataLoader): {seed_epoch:.2f} s/epoch{scaled}{turns}",
        f"rnnviz trainer ({fast_path}): {ours_epoch:.2f} s/epoch{scaled}{turns}",
        f"the same eager step on one batch in memory: {bare_epoch:.2f} s/epoch{scaled}{turns}"
        f" (feeding data faster gains at most {report['data_path_speedup_limit']:.2f}x)",
        "speedup per round: " + ", ".join(f"{r:.2f}x" for r in report["round_speedups"]),
        f"speedup: {report['speedup']:.2f}x",
    ]
