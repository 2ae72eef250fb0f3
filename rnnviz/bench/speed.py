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

import statistics
import tempfile
from pathlib import Path
from typing import Any

import torch

from rnnviz.bench.loops import (
    bare_step,
    rnnviz_loop,
    seed_loop,
    torchvision_root,
)
from rnnviz.bench.time_to import (
    time_to_accuracy,
)
from rnnviz.common.devices import device_name, resolve_device


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
        root = torchvision_root(data_dir, Path(tmp))  # once: the seeds' files for every round
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
