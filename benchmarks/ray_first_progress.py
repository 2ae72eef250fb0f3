"""How long a job on the Ray backend waits for its first progress: a warm worker against a new one.

Starts a local Ray cluster inside this process (2 CPUs, 1 per job) and submits the same small
training run (an LSTM of 64 on the offline digits, on CPU) to a `JobManager` on a `RayBackend`,
one job at a time, `--repeats` times with warm workers (`warm_workers=1`, the pool warmed before
the first job is submitted, as a server's is by the time a student presses Start) and as many times
with a new worker per job (`warm_workers=0`, what `RNNVIZ_RAY_WARM_WORKERS=0` gives). For each job
it times Start (`submit`) to the first `Stepped` event in the job's snapshot, as a page sees it.

    python benchmarks/ray_first_progress.py --json

It prints, per mode, `first_progress_s` (each job's seconds, in order), their median, and the
seconds the warm pool took to start and warm its worker.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def first_progress(jobs: Any, job: Any, timeout_s: float = 300.0) -> float:
    """Seconds from submitting `job` to its first Stepped event; waits for the job's end."""
    from rnnviz.training.events import Stepped

    started = time.monotonic()
    job_id = jobs.submit(job, owner="0000bec4", title="first progress")
    while True:
        snap = jobs.snapshot(job_id)
        if snap is not None and snap.of(Stepped):
            seconds = time.monotonic() - started
            break
        if time.monotonic() - started > timeout_s or (snap is not None and not snap.active):
            raise RuntimeError(f"no progress: {snap.message if snap else 'no job'}")
        time.sleep(0.01)
    end = jobs.wait(job_id, timeout=timeout_s)
    if end.state != "done":
        raise RuntimeError(f"the job ended {end.state}: {end.message}")
    return seconds


def measure(warm_workers: int, repeats: int, out: Path) -> dict[str, Any]:
    import ray

    from rnnviz.data.datasets import DataConfig
    from rnnviz.jobs.manager import JobManager
    from rnnviz.jobs.ray_backend import RayBackend
    from rnnviz.jobs.runs import training_job
    from rnnviz.models.network import ModelConfig
    from rnnviz.training.config import RunConfig, TrainConfig

    run = RunConfig(
        model=ModelConfig(cell="lstm", hidden_size=64),
        data=DataConfig(dataset="digits"),
        train=TrainConfig(epochs=1, batch_size=64, lr=0.01, device="cpu"),
    )
    backend = RayBackend("auto", warm_workers=warm_workers, poll_s=0.05)
    try:
        started = time.monotonic()
        backend.check()
        pool_s = None
        if warm_workers:
            while backend._pool is None or not backend._pool._idle:
                time.sleep(0.01)
            ray.get([a.where.remote() for a in backend._pool._idle])  # queued after `warm`
            pool_s = round(time.monotonic() - started, 2)
        jobs = JobManager(backend=backend)
        times = [first_progress(jobs, training_job(run, out=out)) for _ in range(repeats)]
    finally:
        backend.close()
    return {
        "warm_workers": warm_workers,
        "first_progress_s": [round(t, 2) for t in times],
        "median_s": round(statistics.median(times), 2),
        "pool_ready_s": pool_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="jobs per mode, one at a time")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args()
    import ray

    ray.init(address="local", num_cpus=2, num_gpus=0, include_dashboard=False,
             log_to_driver=False, object_store_memory=100 * 2**20)  # fmt: skip
    try:
        with tempfile.TemporaryDirectory() as tmp:
            report = {
                "new_worker_per_job": measure(0, args.repeats, Path(tmp)),
                "warm_worker": measure(1, args.repeats, Path(tmp)),
            }
    finally:
        ray.shutdown()
    if args.json:
        print(json.dumps(report))
    else:
        for mode, row in report.items():
            print(f"{mode:20s} median {row['median_s']:.2f} s  {row['first_progress_s']}")


if __name__ == "__main__":
    main()
