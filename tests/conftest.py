"""Shared fixtures: real data when RNNVIZ_DATA_DIR points at it, small real checkpoints, the app.

App tests run each page through Streamlit's AppTest with the runs folder in a temp dir and a few
tiny checkpoints trained here on the offline digits set. Browser tests start `streamlit run app.py`
on a free port and drive Debian's chromium with Playwright; they skip with a reason where chromium
or Playwright is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"

# Under pytest-xdist each worker process gets one core's worth of threads: two workers with two
# threads each on two cores would only wait on each other.
torch.set_num_threads(
    1 if os.environ.get("PYTEST_XDIST_WORKER") else min(2, torch.get_num_threads())
)


# Under pytest-xdist (`--dist loadgroup`) a test file's tests stay in one worker, so its module
# fixtures (a Ray cluster, a signed-in server) start once; the browser tests share one worker, so
# two chromiums never drive live pages at once on two cores, and the app server they share starts
# once. The files below hold independent, slow tests and are spread one by one.
SPREAD = {"test_lessons_real.py", "test_cli.py", "test_bench.py"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        name = item.path.name
        if name in SPREAD:
            continue
        browser = name.startswith("test_browser_")  # one chromium-driving test at a time
        item.add_marker(pytest.mark.xdist_group("browser" if browser else name))


def real_data_dir() -> str:
    """The folder with real MNIST/Fashion-MNIST, or skip the test that needs it."""
    folder = os.environ.get("RNNVIZ_DATA_DIR")
    if not folder or not (Path(folder) / "MNIST" / "raw").is_dir():
        pytest.skip("real datasets not found: set RNNVIZ_DATA_DIR to a folder with MNIST/raw")
    return folder


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of small real checkpoints (LSTM, GRU, RNN) trained briefly on offline digits."""
    from rnnviz.data.datasets import DataConfig
    from rnnviz.jobs.runs import train_and_save
    from rnnviz.models.network import ModelConfig
    from rnnviz.training.config import RunConfig, TrainConfig

    root = tmp_path_factory.mktemp("shipped")
    for cell in ("lstm", "gru", "rnn_tanh"):
        run = RunConfig(
            model=ModelConfig(cell=cell, hidden_size=32),
            data=DataConfig(dataset="digits"),
            train=TrainConfig(epochs=2, batch_size=64, lr=5e-3, device="cpu"),
        )
        record = train_and_save(run, out=root, name=f"{cell}-digits")
        assert record.status == "done", record.message
    return root


@pytest.fixture
def app_env(
    tmp_path: Path, tiny_checkpoints: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Isolated runs folder, the tiny checkpoints as the shipped ones, fresh Streamlit caches."""
    import streamlit as st
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner import script_runner

    def run_app_as_a_server_does(main_script_path: str) -> None:
        # AppTest starts every run in Streamlit's legacy `pages/` folder mode, which a real server
        # leaves for good after its first run; run app.py as the server then does.
        PagesManager.uses_pages_directory = False
        code = compile(Path(main_script_path).read_text(), main_script_path, "exec")
        exec(code, {"__name__": "__main__", "__file__": main_script_path})

    monkeypatch.setattr(script_runner, "_mpa_v1", run_app_as_a_server_does)
    runs = tmp_path / "runs"
    monkeypatch.setenv("RNNVIZ_RUNS_DIR", str(runs))
    monkeypatch.setenv("RNNVIZ_CHECKPOINTS_DIR", str(tiny_checkpoints))
    monkeypatch.chdir(ROOT)
    for name in [m for m in sys.modules if m == "pages" or m.startswith("pages.")]:
        del sys.modules[name]  # pages/parts/shared.py reads the folders above at import
    st.cache_resource.clear()
    st.cache_data.clear()
    yield runs
    st.cache_resource.clear()


def app_test(page: str, *, query: dict[str, str] | None = None, owner: str | None = None) -> Any:
    """An AppTest of the real app (navigation frame and sidebar) already run on `page`.

    AppTest sends no cookies, so each one is an owner of its own unless `owner` says which (as a
    browser's cookie would). It fires no `run_every` timers: call `at.run()` again to see a
    fragment refresh.
    """
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    if owner is not None:
        at.session_state["owner"] = owner
    at.run()  # AppTest learns the pages from st.navigation on the first run
    at.switch_page(page)
    return at.run()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving_app(env: dict[str, str], log_path: Path, *args: str) -> Iterator[str]:
    """`streamlit run app.py` on a free loopback port (more flags in `args`); stopped by its pid."""
    port = _free_port()
    log = open(log_path, "w")  # noqa: SIM115
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true", *args]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=os.environ | env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not start; see {log.name}") from None
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


BROWSER_TEACHER_KEY = "a teacher key for the browser tests only"


@pytest.fixture(scope="session")
def browser_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The runs folder of the app the browser tests share."""
    return tmp_path_factory.mktemp("browser-runs")


@pytest.fixture(scope="session")
def app_url(
    tmp_path_factory: pytest.TempPathFactory, tiny_checkpoints: Path, browser_runs: Path
) -> Iterator[str]:
    """The app served on a free loopback port, with its own runs folder and a teacher key."""
    env = {
        "RNNVIZ_RUNS_DIR": str(browser_runs),
        "RNNVIZ_TEACHER_KEY": BROWSER_TEACHER_KEY,
        "RNNVIZ_CHECKPOINTS_DIR": os.environ.get(
            "RNNVIZ_BROWSER_CHECKPOINTS", str(ROOT / "checkpoints")
        ),
    }
    if not any((ROOT / "checkpoints").glob("*/meta.json")):
        env["RNNVIZ_CHECKPOINTS_DIR"] = str(tiny_checkpoints)
    with serving_app(env, tmp_path_factory.mktemp("server") / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright; skips where either is missing."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Each phase's report on its test, for a fixture to see how the test went."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(browser: Any, app_url: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser tab (its own Streamlit session) at 1400x1000; a test that fails leaves a
    screenshot of it as it was, with its URL, in the artifacts."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    yield tab
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        print(f"the page at its failure: {tab.url}", file=sys.stderr)
        shot(tab, f"failed-{request.node.name}")
    context.close()


def main_button(tab: Any, name: str) -> Any:
    """A button of the page itself: Streamlit's header shows its own "Stop" while a script runs."""
    return tab.get_by_test_id("stMainBlockContainer").get_by_role("button", name=name)


def wait_idle(tab: Any, timeout_ms: int = 60_000) -> None:
    """Wait until the script run finished, as Streamlit's own e2e helpers do."""
    tab.wait_for_selector(
        '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_ms
    )


def shot(tab: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    return path


def have_chromium() -> bool:
    return Path(CHROMIUM).exists() and shutil.which("chromium") is not None


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """Tiny tensors gain nothing from threads, and on shared cores extra threads only wait.

    A test module that trains tiny nets asks for it: `pytestmark = pytest.mark.usefixtures(...)`.
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def shown(element: Any) -> str:
    """What an AppTest message element shows a person: its Markdown with the escapes removed."""
    return re.sub(r"\\(.)", r"\1", str(element.value)).replace("\u2060", "")


def tables(at: Any) -> list[Any]:
    """A page's own tables in AppTest: its dataframes less the charts' data tables."""
    return [d for d in at.dataframe if not d.proto.alt.startswith("Data of the chart: ")]
