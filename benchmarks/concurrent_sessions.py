"""N browser sessions click Start training at the same moment: who runs, who queues, who finishes.

Starts `streamlit run app.py` on a free loopback port (or uses --url), opens N separate browser
contexts (N Streamlit sessions) on one shared Train link, clicks **Start training** in all of them
together, then watches every tab once a second until each shows its finished run. Prints, per tab,
the queue positions it showed, the seconds to its first loss point and to its finished message.

    python benchmarks/concurrent_sessions.py --sessions 6
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from appserver import start_app  # beside this script
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
# A small run on the offline dataset: digits, LSTM 1x32, 3 epochs.
LINK = "train?dataset=digits&cell=lstm&hidden=32&epochs=3&batch=64&lr=0.005"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--no-first-run"]  # fmt: skip


def start_server(runs: Path) -> tuple[subprocess.Popen[bytes], str]:
    proc, port = start_app({"RNNVIZ_RUNS_DIR": str(runs)})
    return proc, f"http://127.0.0.1:{port}"


def loss_points(tab: Page) -> int:
    return int(
        tab.evaluate(
            """() => Math.max(0, ...[...document.querySelectorAll('.js-plotly-plot')]
                 .filter(p => (p.data || []).some(t => t.name === 'loss'))
                 .map(p => p.data.find(t => t.name === 'loss').x.length))"""
        )
    )


def watch(tabs: list[Page], started: float, limit_s: float) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = [{"positions": set()} for _ in tabs]
    while time.monotonic() - started < limit_s and not all("done_s" in r for r in rows):
        for tab, row in zip(tabs, rows, strict=True):
            if "done_s" in row:
                continue
            text = tab.inner_text("body")
            for n in range(1, 20):
                if f"queued, position {n}" in text:
                    row["positions"].add(n)  # type: ignore[union-attr]
            if "first_point_s" not in row and loss_points(tab) > 0:
                row["first_point_s"] = time.monotonic() - started
            if "Done after" in text or "Test accuracy" in text:
                row["done_s"] = time.monotonic() - started
        time.sleep(1.0)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=6)
    parser.add_argument("--url", help="a running app (default: start one)")
    parser.add_argument("--limit", type=float, default=900, help="seconds to wait at most")
    args = parser.parse_args()
    runs = ROOT / "runs" / "concurrency-bench"
    proc, url = (None, args.url) if args.url else start_server(runs)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            tabs = []
            for _ in range(args.sessions):
                tab = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
                tab.set_default_timeout(120_000)
                tab.goto(f"{url}/{LINK}")
                tab.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
                tab.get_by_role("button", name="Start training").wait_for()
                tabs.append(tab)
            started = time.monotonic()
            for tab in tabs:  # as close together as one driver can click
                tab.get_by_role("button", name="Start training").click()
            rows = watch(tabs, started, args.limit)
            tabs[-1].screenshot(path=str(ROOT / "test-artifacts" / "concurrent-last-tab.png"))
            browser.close()
    finally:
        if proc is not None:
            proc.terminate()
    print(f"{args.sessions} sessions clicked Start training together ({url})")
    for i, row in enumerate(rows, 1):
        positions = sorted(row["positions"])  # type: ignore[call-overload]
        first, done = row.get("first_point_s"), row.get("done_s")
        print(
            f"  session {i}: queue positions seen {positions or '-'}; first loss point "
            f"{first if first is None else f'{first:.1f} s'}; finished "
            f"{done if done is None else f'{done:.1f} s'}"
        )
    return 0 if all("done_s" in r for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
