"""What one refresh of a watched run costs the server, against the run's length: a benchmark.

Every student watching a run reruns the Train page's live fragment once a second; this measures
that fragment's CPU time on the server's own thread (`time.thread_time`, so the training thread
does not count) for a real run after 100, 1,000 and 10,000 steps, probes on, that takes a few
steps between two refreshes a second apart (resumed for 10 ms, then paused), as a tab watching
a run alone sees it: every refresh has new steps to draw. The run is a
small GRU on the offline digits, so the figures are the page's cost, not the model's. The page
runs in-process through Streamlit's AppTest, as the app tests run it.

    python benchmarks/rerun_cost.py --json

It prints `steps` (the history each was measured at), `rerun_ms` (the median CPU ms of the
live fragment's refresh at each), `rerun_ms_p95`, and the ratio of the longest to the shortest.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RUN = {"dataset": "digits", "cell": "gru", "hidden": "8", "batch": "32", "epochs": "400",
       "lr": "0.01", "device": "cpu"}  # fmt: skip


def measure(steps: int, refreshes: int) -> dict[str, Any]:
    owner = f"{steps:016x}"  # a browser per length: an earlier one's departure stops only its own
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from rnnviz.classroom.urlstate import run_from_params
    from rnnviz.common.cputime import CPU_LOG
    from rnnviz.jobs.runs import training_job
    from rnnviz.training.events import Stepped

    for name in [m for m in sys.modules if m == "pages" or m.startswith("pages.")]:
        del sys.modules[name]  # a fresh app: pages/parts/shared.py reads the folders at import
    st.cache_resource.clear()
    from pages.parts import shared

    run, errors = run_from_params(RUN)
    assert not errors, errors
    jobs = shared.job_manager()
    job = jobs.submit(training_job(run, out=shared.RUNS_DIR / owner), owner=owner,
                      title="rerun cost", config=run.to_dict())  # fmt: skip
    while True:
        snap = jobs.snapshot(job)
        last = snap.last(Stepped) if snap else None
        if last is not None and last.step >= steps:
            jobs.pause(job)
            break
        if snap is None or not snap.active:
            raise RuntimeError(f"the run ended before {steps} steps: {snap and snap.message}")
        time.sleep(0.002)
    time.sleep(0.2)  # the step in flight lands
    snap = jobs.snapshot(job)
    assert snap is not None and snap.state == "paused"
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["owner"] = owner
    at.run()
    at.switch_page("pages/train.py")
    at.run()  # the first run builds what later refreshes reuse
    CPU_LOG.clear()
    for _ in range(refreshes):  # a live run: a few new steps before each refresh, a second apart
        jobs.resume(job)
        time.sleep(0.01)
        jobs.pause(job)
        time.sleep(1.0)  # the step in flight lands; the page's own timer ticks once a second
        at.run()
        assert not at.exception, at.exception
    ms = sorted(CPU_LOG.figures("train.live"))
    jobs.cancel(job)
    jobs.wait(job, timeout=120)
    snap = jobs.snapshot(job)
    reached = snap.last(Stepped) if snap else None
    return {"steps": reached.step if reached else 0, "median": statistics.median(ms),
            "p95": ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--steps", default="100,1000,10000")
    parser.add_argument("--refreshes", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    wanted = [int(s) for s in args.steps.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["RNNVIZ_RUNS_DIR"] = str(Path(tmp) / "runs")
        os.environ["RNNVIZ_CHECKPOINTS_DIR"] = str(Path(tmp) / "none")
        results = [measure(n, args.refreshes) for n in wanted]
    report = {
        "steps": [r["steps"] for r in results],
        "rerun_ms": [round(r["median"], 2) for r in results],
        "rerun_ms_p95": [round(r["p95"], 2) for r in results],
        "ratio_longest_to_shortest": round(results[-1]["median"] / results[0]["median"], 2),
        "cpus": os.cpu_count(),
    }
    print(json.dumps(report, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
