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

What a student waits for, though, is a good model, so the bench also times training until the test
accuracy first reaches 97 % (`time_to_97`): the seeds' recipe in the seeds' loop against the quick
CPU preset through rnnviz's trainer. Both score the test set after the same number of training
images (a tenth of MNIST's 60,000 by default); the scoring, and the trainer's validation at each
epoch's end, are not counted as training time.
"""

from __future__ import annotations

import gzip
import math
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from rnnviz.config import OPTIMIZERS, RunConfig, TrainConfig
from rnnviz.control import Control
from rnnviz.data import DataConfig, Dataset, data_root, load_dataset
from rnnviz.devices import device_name, resolve_device
from rnnviz.events import EpochEnded, Event, Stepped
from rnnviz.inference import evaluate
from rnnviz.models import ModelConfig, build_model
from rnnviz.presets import preset_run
from rnnviz.stepper import EagerStep
from rnnviz.training import init_model, train

BENCH_MODEL = ModelConfig(cell="lstm", hidden_size=128, num_layers=2)
BATCH = 100
WARMUP = 5
TARGET = 0.97  # the test accuracy `time_to_97` waits for
SCORE_EVERY = 6000  # training images between two scorings of the test set, for both loops
QUICK = "quick-cpu"


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


def _accuracy(model: torch.nn.Module, data: Dataset) -> float:
    metrics, _ = evaluate(model, data.test.images, data.test.labels, data.info.class_names)
    return metrics.accuracy


def _outcome(
    *, seconds: float | None, images: int, epoch_images: int, accuracy: float, scored: int
) -> dict[str, Any]:
    """One loop's answer; `seconds` None means the cap came first (`reached` False)."""
    return {
        "reached": seconds is not None,
        "seconds": seconds,  # of training until the first scoring at or above the target
        "images": images,  # training images seen by then (or by the cap)
        "epochs": images / epoch_images,
        "accuracy": accuracy,  # the test accuracy at that scoring (the last one if not reached)
        "scorings": scored,
    }


def seed_time_to(
    root: Path, data: Dataset, device: torch.device, *, target: float, every: int, cap: int
) -> dict[str, Any]:
    """The seeds' recipe and loop until the test accuracy reaches `target`, or `cap` images."""
    from torchvision import datasets, transforms

    train_set = datasets.MNIST(root, train=True, transform=transforms.ToTensor())
    loader = torch.utils.data.DataLoader(train_set, batch_size=BATCH, shuffle=True)
    torch.manual_seed(0)
    model = build_model(BENCH_MODEL).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    seconds, seen, scored, accuracy = 0.0, 0, 0, 0.0
    while seen < cap:
        start = time.perf_counter()
        for i, (images, labels) in enumerate(loader):
            loss = F.cross_entropy(model(images.reshape(-1, 28, 28).to(device)), labels.to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if (i + 1) % 100 == 0:
                loss.item()  # the seeds print the loss every 100 steps
            seen += len(labels)
            if seen // every > scored or seen >= cap:
                _sync(device)
                seconds += time.perf_counter() - start
                accuracy, scored = _accuracy(model, data), scored + 1
                if accuracy >= target or seen >= cap:
                    done = seconds if accuracy >= target else None
                    return _outcome(seconds=done, images=seen, epoch_images=len(train_set),
                                    accuracy=accuracy, scored=scored)  # fmt: skip
                start = time.perf_counter()
        seconds += time.perf_counter() - start
    raise AssertionError("unreachable: the cap is checked after every step")


def quick_time_to(
    run: RunConfig, data: Dataset, device: torch.device, *, target: float, every: int, cap: int
) -> dict[str, Any]:
    """`run` through rnnviz's trainer until the test accuracy reaches `target`, or `cap` images.

    The trainer's clock (`elapsed_s`) runs on through `emit` and each epoch's validation, so the
    time spent in both is summed and taken off.
    """
    model = init_model(run, device)  # the trainer fits this one, so emit can score it between steps
    control, batch = Control(), min(run.train.batch_size, len(data.train))
    epochs_cap = max(1, min(run.train.epochs, math.ceil(cap / (len(data.train) // batch * batch))))
    run = replace(run, train=replace(run.train, epochs=epochs_cap))
    clock = {"excluded": 0.0, "last": 0.0}  # trainer seconds not training; when emit last returned
    found: dict[str, Any] = {}

    def emit(event: Event) -> None:
        if isinstance(event, EpochEnded):  # since the last Stepped: this epoch's validation
            clock["excluded"] += event.elapsed_s - clock["last"]
            clock["last"] = event.elapsed_s
        if not isinstance(event, Stepped) or found.get("reached"):
            return
        seen, scored = event.step * batch, found.get("scorings", 0)
        clock["last"] = event.elapsed_s
        if seen // every <= scored and seen < cap and event.step < event.total_steps:
            return
        start = time.perf_counter()
        accuracy = _accuracy(model, data)
        reached = accuracy >= target
        found.update(_outcome(seconds=event.elapsed_s - clock["excluded"] if reached else None,
                              images=seen, epoch_images=len(data.train), accuracy=accuracy,
                              scored=scored + 1))  # fmt: skip
        spent = time.perf_counter() - start
        clock["excluded"] += spent
        clock["last"] += spent
        if reached or seen >= cap:
            control.stop()

    result = train(run, control=control, emit=emit, dataset=data, model=model)
    if not found:  # it failed (a NaN loss) before the first scoring
        raise ValueError(f"{describe_run(run)}: {result.record.message}")
    return found


def time_to_accuracy(
    *,
    device: str = "auto",
    data_dir: str | None = None,
    target: float = TARGET,
    every: int = SCORE_EVERY,
    max_epochs: float = 3.0,
    preset: str = QUICK,
) -> dict[str, Any]:
    """Training seconds until the test accuracy first reaches `target`: the seeds' against ours.

    Both loops score the test set after every `every` training images and stop at `target` or
    after `max_epochs` epochs of MNIST's 60,000 training images; `ratio` is seeds' s / ours.
    """
    if not 0.0 < target <= 1.0 or every < 1 or max_epochs <= 0:
        raise ValueError(
            f"target={target} must be in (0, 1], every={every} at least 1 and "
            f"max_epochs={max_epochs} above 0"
        )
    dev = resolve_device(device)
    run = preset_run(preset, data_dir=data_dir, device=dev.type)
    run = replace(run, data=replace(run.data, download=False))
    data = load_dataset(run.data, device=dev)  # loading is not a training cost
    cap = max(1, round(max_epochs * 60_000))
    with tempfile.TemporaryDirectory() as tmp:
        root = _torchvision_root(data_dir, Path(tmp))
        seed = seed_time_to(root, data, dev, target=target, every=every, cap=cap)
    ours = quick_time_to(run, data, dev, target=target, every=every, cap=cap)
    both = seed["reached"] and ours["reached"]
    return {
        "target": target,
        "scored_every_images": every,
        "max_epochs": max_epochs,
        "timing": "training only: scoring the test set and per-epoch validation excluded",
        "seed": {"recipe": "LSTM 2x128, Adam 1e-3 constant, batch 100", **seed},
        "quick": {"preset": preset, "recipe": describe_run(run), **ours},
        "ratio": seed["seconds"] / ours["seconds"] if both else None,
    }


def describe_run(run: RunConfig) -> str:
    """'GRU 1x64, Adam 3e-3 one_cycle, batch 128, 1 epoch': a recipe in one line."""
    m, t = run.model, run.train
    epochs = f"{t.epochs} epoch" + ("s" if t.epochs != 1 else "")
    return (f"{m.cell.upper()} {m.num_layers}x{m.hidden_size}, {OPTIMIZERS[t.optimizer].split()[0]}"
            f" {t.lr:g} {t.schedule}, batch {t.batch_size}, {epochs}")  # fmt: skip


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_bench(
    *,
    device: str = "auto",
    data_dir: str | None = None,
    steps: int | None = None,
    rounds: int = 3,
    time_to_97: bool = True,
    per_epoch: bool = True,
    max_epochs: float = 3.0,
) -> dict[str, Any]:
    """Time both loops on one machine in one run; `speedup` is seed s/epoch over rnnviz s/epoch.

    `time_to_97` adds the training seconds until 97 % test accuracy (`time_to_accuracy`, capped
    at `max_epochs`); `per_epoch` False leaves out the per-epoch timings and keeps only that.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    if not (time_to_97 or per_epoch):
        raise ValueError("nothing to time: both time_to_97 and per_epoch are off")
    dev = resolve_device(device)
    reach = (
        time_to_accuracy(device=dev.type, data_dir=data_dir, max_epochs=max_epochs)
        if time_to_97
        else None
    )
    if not per_epoch:
        only: dict[str, Any] = {"device": device_name(dev), "time_to_97": reach,
                                "threads": torch.get_num_threads()}  # fmt: skip
        return {**only, "lines": _lines_97(only)}
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
        "time_to_97": reach,  # None when not asked for
    }
    report["lines"] = _lines(report) + _lines_97(report)
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


def _lines_97(report: dict[str, Any]) -> list[str]:
    """time_to_97 for people: each loop's training seconds to the target, and the ratio."""
    reach = report["time_to_97"]
    if reach is None:
        return []
    target, every = reach["target"], reach["scored_every_images"]
    lines = [f"time to {target:.0%} test accuracy (scored every {every:,} training images; "
             "scoring and validation not counted):"]  # fmt: skip
    for name, loop in (("seed loop", reach["seed"]), (reach["quick"]["preset"], reach["quick"])):
        at = f"after {loop['epochs']:.2f} epochs, {loop['accuracy']:.2%}"
        if loop["reached"]:
            lines.append(f"  {name} ({loop['recipe']}): {loop['seconds']:.1f} s, {at}")
        else:
            lines.append(f"  {name} ({loop['recipe']}): not reached by the cap ({at})")
    ratio = reach["ratio"]
    lines.append(f"  time-to-{target:.0%} speedup: " + (f"{ratio:.1f}x" if ratio else "n/a"))
    return lines
