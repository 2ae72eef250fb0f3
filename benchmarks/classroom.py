"""A classroom of simulated students on one rnnviz server: a benchmark, not a timed test.

Each student is a real Streamlit session driven over Streamlit's own websocket protocol (the
protobuf messages the browser sends and receives, on 127.0.0.1): it opens the Train page with a
small MNIST run in its link (the datasets come from `RNNVIZ_DATA_DIR`), clicks "Start training",
and then reruns what the page's own timer reruns (its live fragment) at the interval the page
asks for, on the timer's own beat as a browser tab's timer fires, until its run has ended and the
page has stopped its timer (a tab shows the end at once; its whole page reruns then, or a few
ticks later where a class watched the run together: `rnnviz.classroom.stagger`). The server runs
with the backend asked for: `thread` (jobs in the server process) or `ray`
(`RNNVIZ_RAY_ADDRESS=local`: a cluster started inside the server, on this machine).

    python benchmarks/classroom.py --backend thread --students 30 --same-run --json

Each student's run has a seed of its own (no two the same), unless `--same-run` (every student
the same settings: the class's runs join one job, and a student whose Start comes after that job
has ended is offered its model and uses it, counted in `used_finished`); `--run quick` starts the
quick-cpu preset (over 1,000 steps, probes on) instead of the small run. It prints what it
measured: whether every run finished, Start to first progress (median, p95), page rerun latency
(p95), the server's CPU time per refresh of the live fragment (`rerun_cpu_ms_median`,
`rerun_cpu_ms_p95`, from the server's own thread clock) and per whole run of the Train page
(`page_cpu_ms_median`, `_p95`), how many jobs actually trained (`jobs_trained`), the server's CPU
and peak memory (and the cluster's, for Ray), and one job's samples/s alone and among the others. It
starts the server itself and stops it by its pid.
"""

from __future__ import annotations

import argparse
import asyncio
import binascii
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets
from appserver import ROOT, start_app  # beside this script
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.typing import Subprotocol

sys.path.insert(0, str(ROOT))  # `--run quick` reads the preset from rnnviz itself
RUN = "dataset=mnist&cell=lstm&hidden=16&layers=1&epochs=1&batch=256&lr=0.01&device=cpu"
DONE = (ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY,
        ForwardMsg.ScriptFinishedStatus.FINISHED_FRAGMENT_RUN_SUCCESSFULLY,
        ForwardMsg.ScriptFinishedStatus.FINISHED_WITH_COMPILE_ERROR)  # fmt: skip
SAMPLES = re.compile(r"([\d,]+) samples/s")
USING = "Using"  # the same run finished before this student's Start: its model, used at once
ENDINGS = ("Done", "Stopped", "The run failed", USING)
# A page's live fragment asks for a refresh every so often (`auto_rerun`: a fragment and an
# interval). A browser's timer (`setInterval`) fires on its own beat from the moment that message
# arrived, whether or not the last refresh has; a request sent while a refresh runs waits for it
# and then runs. A whole-page run clears the browser's timers, and the run sets its own again; the
# same fragment asked again at the same interval keeps its beat (Streamlit's `handleAutoRerun`).


@dataclass
class Student:
    number: int
    reruns: list[float] = field(default_factory=list)
    started: float = 0.0  # when Start was clicked
    first_progress: float | None = None  # seconds from Start to the first step on screen
    finished: float | None = None  # seconds from Start to the run's end on screen
    outcome: str = ""
    samples_per_s: float | None = None
    dropped: int = 0  # fragment reruns the server ignored (then the whole page was rerun)


def xsrf_cookie() -> str:
    """A browser's XSRF cookie, as Streamlit makes them: each student is a browser of its own."""
    mask, token = os.urandom(4), os.urandom(16)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(token))
    hexed = [binascii.b2a_hex(part).decode() for part in (mask, masked)]
    return f"2|{hexed[0]}|{hexed[1]}|{int(time.time())}"


def student_query(number: int, run: str, same: bool) -> str:
    """A student's link: the small run (or the quick preset), with a seed of their own unless
    every student starts the same settings."""
    if run == "quick":
        from rnnviz.classroom.urlstate import run_to_params
        from rnnviz.training.presets import preset_run

        base = "&".join(f"{k}={v}" for k, v in run_to_params(preset_run("quick-cpu")).items())
        base += "&device=cpu"
    else:
        base = RUN
    return base if same else f"{base}&seed={number + 1}"


@dataclass
class Tab:
    """What a browser tab remembers between requests: its page's script hash, once the server
    named it, and the fragment each button was drawn in."""

    page_hash: str = ""
    fragments: dict[str, str] = field(default_factory=dict)  # button id -> fragment id ("" none)
    timer: str = ""  # the fragment the browser's timer reruns ("" none)
    period: float = 0.0  # its interval, seconds
    beat: float = 0.0  # when it next fires (monotonic)


async def rerun(ws: Any, query: str, tab: Tab, press: str = "", fragment: str = "") -> list[Any]:
    """One page run, as a browser asks for it (the whole page, a button's press, or one
    fragment's timed rerun): the elements it drew; the tab's timer follows what the server asked
    (`Tab.timer`). Each request names its page by its script hash, as a browser's do (a
    run the page itself asks for, `st.rerun()` in a fragment, reruns the page its request named;
    without one, Home), and a press of a button drawn in a fragment reruns that fragment."""
    msg = BackMsg()
    msg.rerun_script.query_string = query
    msg.rerun_script.page_name = "train"
    msg.rerun_script.page_script_hash = tab.page_hash
    if fragment:  # the fragment's timer
        msg.rerun_script.fragment_id, msg.rerun_script.is_auto_rerun = fragment, True
    if press:
        msg.rerun_script.fragment_id = tab.fragments.get(press, "")
        state = msg.rerun_script.widget_states.widgets.add()
        state.id, state.trigger_value = press, True
    await ws.send(msg.SerializeToString())
    elements: list[Any] = []
    while True:
        fwd = ForwardMsg()
        fwd.ParseFromString(await ws.recv())
        kind = fwd.WhichOneof("type")
        if kind == "new_session" and not fwd.metadata.run.fragment_ids:
            tab.timer = ""  # a whole-page run: the browser clears its timers
        elif kind == "navigation":
            tab.page_hash = fwd.navigation.page_script_hash
        elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
            elements.append(fwd.delta.new_element)
            if fwd.delta.new_element.WhichOneof("type") == "button":
                tab.fragments[fwd.delta.new_element.button.id] = fwd.delta.fragment_id
        elif kind == "auto_rerun":
            asked = (fwd.auto_rerun.fragment_id, fwd.auto_rerun.interval)
            if asked != (tab.timer, tab.period):  # a new timer, beating from now
                tab.timer, tab.period = asked
                tab.beat = time.monotonic() + tab.period
        elif kind == "stop_auto_rerun" and tab.timer in fwd.stop_auto_rerun.fragment_ids:
            tab.timer = ""
        elif kind == "script_finished" and fwd.script_finished in DONE:
            return elements


def texts(elements: list[Any], kind: str) -> list[str]:
    out = []
    for element in elements:
        if element.WhichOneof("type") == kind:
            out.append(element.progress.text if kind == "progress" else element.alert.body)
    return out


async def student(s: Student, port: int, deadline: float, query: str) -> None:
    url = f"ws://127.0.0.1:{port}/_stcore/stream"
    headers = {"Cookie": f"_streamlit_xsrf={xsrf_cookie()}", "Origin": f"http://127.0.0.1:{port}"}
    async with websockets.connect(url, subprotocols=[Subprotocol("streamlit")],
                                  additional_headers=headers,
                                  max_size=2**26, open_timeout=120) as ws:  # fmt: skip
        tab = Tab()
        first = await rerun(ws, query, tab)
        start = next(e.button.id for e in first if e.WhichOneof("type") == "button"
                     and e.button.label == "Start training")  # fmt: skip
        s.started = time.monotonic()
        elements = await rerun(ws, query, tab, start)
        while time.monotonic() < deadline:
            progress, alerts = texts(elements, "progress"), texts(elements, "alert")
            if any(t.startswith("This exact run already finished") for t in alerts):
                use = next(e.button.id for e in elements if e.WhichOneof("type") == "button"
                           and e.button.label == "Use this model")  # fmt: skip
                elements = await rerun(ws, query, tab, use)  # as a student would: use it
                continue
            ended = [t for t in alerts if t.startswith(ENDINGS)]
            if s.first_progress is None and (any(" step " in t for t in progress) or ended):
                s.first_progress = time.monotonic() - s.started
            for text in progress:
                if match := SAMPLES.search(text):
                    s.samples_per_s = float(match.group(1).replace(",", ""))
            if ended and s.finished is None:
                s.finished, s.outcome = time.monotonic() - s.started, ended[0][:160]
                print(f"student {s.number}: {s.outcome[:50]} after {s.finished:.1f} s",
                      file=sys.stderr, flush=True)  # fmt: skip
            if ended and not tab.timer:  # the page has stopped refreshing: no more to do
                return
            if not tab.timer:  # a page that stopped ticking before its run ended: reload it
                await asyncio.sleep(1.0)
                elements = await rerun(ws, query, tab)
                continue
            await asyncio.sleep(max(0.0, tab.beat - time.monotonic()))  # at once if it fired
            began, timer = time.monotonic(), tab.timer
            tab.beat += tab.period
            try:
                elements = await asyncio.wait_for(rerun(ws, query, tab, fragment=timer), 5)
            except TimeoutError:  # the server dropped a timer of a fragment it no longer has
                s.dropped += 1
                elements = await asyncio.wait_for(rerun(ws, query, tab), 120)
            now = time.monotonic()
            s.reruns.append(now - began)
            while tab.timer == timer and tab.beat <= now - tab.period:  # fired meanwhile: the
                tab.beat += tab.period  # browser sends one request, which waits; the beat holds
        s.outcome = "did not end in time" if s.finished is None else "kept refreshing"


def tree(pid: int) -> list[int]:
    """`pid` and every process below it (a local Ray cluster's daemons and workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        out.append(todo.pop())
        todo.extend(children.get(out[-1], []))
    return out


def usage(pid: int) -> tuple[float, float]:
    """(CPU seconds so far, resident MiB) of one process; zeros once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0.0, 0.0
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK"), rss / 2**20


async def sample(pid: int, peaks: dict[str, float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        server = usage(pid)[1]
        cluster = sum(usage(p)[1] for p in tree(pid)[1:])
        peaks["server_mib"] = max(peaks.get("server_mib", 0.0), server)
        peaks["cluster_mib"] = max(peaks.get("cluster_mib", 0.0), cluster)
        await asyncio.sleep(0.5)


async def classroom(
    port: int, pid: int, students: int, timeout_s: float, queries: list[str], log: Path
) -> dict[str, Any]:
    peaks: dict[str, float] = {}
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample(pid, peaks, stop))
    cpu0, wall0 = usage(pid)[0], time.monotonic()
    group = [Student(i) for i in range(students)]
    deadline = time.monotonic() + timeout_s
    log.write_text("")
    tasks = [student(s, port, deadline, q) for s, q in zip(group, queries, strict=True)]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    cpu, wall = usage(pid)[0] - cpu0, time.monotonic() - wall0
    stop.set()
    await sampler
    errors = [repr(r) for r in results if isinstance(r, BaseException)]
    reruns = sorted(t for s in group for t in s.reruns)
    firsts = sorted(s.first_progress for s in group if s.first_progress is not None)
    rates = [s.samples_per_s for s in group if s.samples_per_s]
    logged = [line.split() for line in log.read_text().splitlines()]
    cpu_ms = sorted(float(ms) for name, ms in logged if name == "train.live")
    page_ms = sorted(float(ms) for name, ms in logged if name == "page.train")
    return {
        "students": students,
        "finished": sum(s.outcome.startswith(("Done", USING)) for s in group),
        "used_finished": sum(s.outcome.startswith(USING) for s in group),
        "outcomes": sorted({s.outcome[:60] for s in group}),
        "errors": errors[:3],
        "first_progress_median_s": statistics.median(firsts) if firsts else None,
        "first_progress_p95_s": percentile(firsts, 0.95),
        "rerun_p95_s": percentile(reruns, 0.95),
        "rerun_median_s": statistics.median(reruns) if reruns else None,
        "reruns": len(reruns),
        "dropped_fragment_reruns": sum(s.dropped for s in group),
        "wall_s": wall,
        "server_cpu_percent": 100 * cpu / wall,
        "server_peak_mib": peaks.get("server_mib"),
        "cluster_peak_mib": peaks.get("cluster_mib"),
        "samples_per_s_median": statistics.median(rates) if rates else None,
        "rerun_cpu_ms_median": statistics.median(cpu_ms) if cpu_ms else None,
        "rerun_cpu_ms_p95": percentile(cpu_ms, 0.95),
        "page_cpu_ms_median": statistics.median(page_ms) if page_ms else None,
        "page_cpu_ms_p95": percentile(page_ms, 0.95),
    }


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return sorted(values)[min(len(values) - 1, round(q * (len(values) - 1)))]


def serve(
    backend: str, runs: Path, log: Path, cpu_log: Path
) -> tuple[subprocess.Popen[bytes], int]:
    address = "local" if backend == "ray" else ""  # a cluster started inside the server
    return start_app({"RNNVIZ_RUNS_DIR": str(runs), "RNNVIZ_RAY_ADDRESS": address,
                      "RNNVIZ_RERUN_LOG": str(cpu_log)}, log)  # fmt: skip


def jobs_trained(runs: Path) -> int:
    """Runs that actually trained: a joined run's copies share their meta.json's `created`."""
    created = set()
    for meta in runs.glob("*/*/meta.json"):
        try:
            created.add(json.loads(meta.read_text()).get("created"))
        except (OSError, ValueError):
            continue
    return len(created)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--backend", choices=["thread", "ray"], default="thread")
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds for the class")
    parser.add_argument(
        "--same-run",
        action="store_true",
        help="every student starts the same settings (else a seed each)",
    )
    parser.add_argument(
        "--run",
        choices=["small", "quick"],
        default="small",
        help="small: a 1-epoch LSTM 1x16; quick: the quick-cpu preset",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs, cpu_log = Path(tmp) / "runs", Path(tmp) / "cpu.log"
        queries = [student_query(i, args.run, args.same_run) for i in range(args.students)]
        server, port = serve(args.backend, runs, Path(tmp) / "server.log", cpu_log)
        try:  # the lone student warms up with a run of its own, none of the class's
            warm_up = [student_query(999, args.run, False)]
            alone = asyncio.run(classroom(port, server.pid, 1, args.timeout, warm_up, cpu_log))
            before = jobs_trained(runs)
            crowd = asyncio.run(classroom(port, server.pid, args.students, args.timeout, queries,
                                          cpu_log))  # fmt: skip
            crowd["jobs_trained"] = jobs_trained(runs) - before
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
    report = {"backend": args.backend, "cpus": os.cpu_count(), "same_run": args.same_run,
              "run": args.run, "jobs_trained": crowd["jobs_trained"],
              "rerun_cpu_ms_median": crowd["rerun_cpu_ms_median"],
              "rerun_cpu_ms_p95": crowd["rerun_cpu_ms_p95"],
              "samples_per_s_alone": alone["samples_per_s_median"],
              "alone": alone, "class": crowd}  # fmt: skip
    print(json.dumps(report, indent=None if args.json else 2))
    return 0 if crowd["finished"] == args.students else 1


if __name__ == "__main__":
    sys.exit(main())
