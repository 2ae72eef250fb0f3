"""`streamlit run app.py` for a benchmark: on a free loopback port, ready once it answers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start_app(env: dict[str, str], log: Path | None = None) -> tuple[subprocess.Popen[bytes], int]:
    """The app on 127.0.0.1 with `env` added to this environment, and its port; the caller stops
    it by its pid. Its output goes to `log` (none kept without one)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true",
           "--browser.gatherUsageStats", "false"]  # fmt: skip
    out = log.open("wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, cwd=ROOT, env=os.environ | env, stdout=out,
                            stderr=subprocess.STDOUT)  # fmt: skip
    for _ in range(240):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2)
            return proc, port
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"streamlit did not start{f'; see {log}' if log else ''}")
