"""The bench's time to 97 %: training until the test accuracy first reaches a target, the seeds'
recipe in the seeds' loop against the quick preset through rnnviz's trainer."""

from __future__ import annotations

import math
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from rnnviz.analysis.inference import evaluate
from rnnviz.bench.loops import BATCH, BENCH_MODEL, sync, torchvision_root
from rnnviz.common.devices import resolve_device
from rnnviz.data.datasets import Dataset, load_dataset
from rnnviz.models.network import build_model
from rnnviz.training.config import OPTIMIZERS, RunConfig
from rnnviz.training.control import Control
from rnnviz.training.events import EpochEnded, Event, Stepped
from rnnviz.training.presets import preset_run
from rnnviz.training.trainer import init_model, train

TARGET = 0.97  # the test accuracy `time_to_97` waits for
SCORE_EVERY = 6000  # training images between two scorings of the test set, for both loops
QUICK = "quick-cpu"


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
                sync(device)
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
        root = torchvision_root(data_dir, Path(tmp))
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
    """'GRU 1x64, Adam 3e-3 one_cycle, batch 128, 1 epoch': a recipe in one line, naming the
    betas, label smoothing, weight averaging and forget-gate bias only where they are not the
    defaults."""
    m, t = run.model, run.train
    epochs = f"{t.epochs} epoch" + ("s" if t.epochs != 1 else "")
    betas = f" betas ({t.beta1:g}, {t.beta2:g})" if (t.beta1, t.beta2) != (0.9, 0.999) else ""
    extras = [f"label smoothing {t.label_smoothing:g}"] if t.label_smoothing else []
    extras += [f"weight average {t.average:g}"] if t.average else []
    extras += [f"forget bias {m.forget_bias:g}"] if m.forget_bias else []
    return (f"{m.cell.upper()} {m.num_layers}x{m.hidden_size}, {OPTIMIZERS[t.optimizer].split()[0]}"
            f" {t.lr:g}{betas} {t.schedule}, " + "".join(f"{e}, " for e in extras)
            + f"batch {t.batch_size}, {epochs}")  # fmt: skip
