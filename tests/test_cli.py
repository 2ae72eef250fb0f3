"""The command line contract: flags, the last JSON line, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rnnviz.cli import main

from .conftest import ROOT, real_data_dir


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rnnviz", *args], cwd=ROOT, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


TRAIN_KEYS = {  # the record without its history and metrics; the first eight are the old contract
    "status", "message", "seconds", "device", "fast_path", "checkpoint", "test_accuracy", "config",
    "name", "title", "class_names", "parameters", "host", "backend", "lock_in_row", "resumed_from",
}  # fmt: skip
EVALUATE_KEYS = {
    "checkpoint", "dataset", "test_size", "test_accuracy", "recorded_test_accuracy", "loss",
    "confusion", "per_class", "macro", "weighted", "class_names",
}  # fmt: skip
BENCH_KEYS = {
    "device", "model", "timed_steps", "rounds", "steps_per_epoch", "scaled_from_partial_epoch",
    "seed_seconds_per_epoch", "rnnviz_seconds_per_epoch", "rnnviz_fast_path",
    "bare_step_seconds_per_epoch", "data_path_speedup_limit", "speedup", "round_speedups",
    "threads", "time_to_97",
}  # fmt: skip


def test_presets_lists_every_seed_figure(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["presets", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert all(set(row) == {"key", "title", "reported", "model", "data", "train"} for row in rows)
    assert {row["key"]: row["reported"] for row in rows}["cells-gru"] == 96.80
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    expected = [("lstm-2x128-mnist", "98.86"), ("rnn-tanh-3x256-fashion", "85.70"),
                ("cells-gru", "96.80"), ("lstm-20-sgd", "95.80"), ("quick-cpu", "—")]  # fmt: skip
    for key, figure in expected:
        line = next(line for line in out.splitlines() if line.startswith(key))
        assert figure in line


def test_train_json_then_evaluate_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["train", "--dataset", "digits", "--cell", "gru", "--hidden", "24", "--epochs",
                 "3", "--lr", "0.01", "--batch-size", "64", "--device", "cpu",
                 "--out", str(tmp_path), "--name", "g", "--json"])  # fmt: skip
    assert code == 0
    summary = last_json(capsys.readouterr().out)
    assert set(summary) == TRAIN_KEYS
    assert summary["status"] == "done" and summary["name"] == "g" and summary["backend"] == "thread"
    assert summary["checkpoint"] == str(tmp_path / "g")
    assert 0.3 < summary["test_accuracy"] <= 1.0 and summary["seconds"] > 0
    assert summary["config"]["model"]["cell"] == "gru"

    assert main(["evaluate", str(tmp_path / "g"), "--device", "cpu", "--json"]) == 0
    report = last_json(capsys.readouterr().out)
    assert set(report) == EVALUATE_KEYS
    assert report["test_accuracy"] == pytest.approx(summary["test_accuracy"])
    assert report["recorded_test_accuracy"] == summary["test_accuracy"]
    assert [row["name"] for row in report["per_class"]] == [str(i) for i in range(10)]
    assert sum(row["support"] for row in report["per_class"]) == report["test_size"]


def test_flags_come_from_the_settings_and_rnn_means_rnn_tanh(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["train", "--dataset", "digits", "--cell", "rnn", "--hidden", "8", "--layers",
                 "2", "--momentum", "0.5", "--optimizer", "sgd", "--epochs", "1",
                 "--val-fraction", "0.2", "--device", "cpu", "--out", str(tmp_path),
                 "--json"])  # fmt: skip
    assert code == 0
    config = last_json(capsys.readouterr().out)["config"]
    assert config["model"]["cell"] == "rnn_tanh" and config["model"]["num_layers"] == 2
    assert config["train"]["momentum"] == 0.5 and config["train"]["optimizer"] == "sgd"
    assert config["data"]["val_fraction"] == 0.2


def test_bad_arguments_exit_2_with_one_line_and_no_traceback() -> None:
    said = {  # the arguments, and what their one line says ("" where any line will do)
        ("train", "--cell", "transformer"): "cell='transformer' is not one of ['rnn_tanh'",
        ("train", "--hidden", "0", "--dataset", "digits"): "hidden_size=0",
        ("evaluate", "/nonexistent/ckpt"): "",
        ("bench", "--rounds", "0"): "rounds must be at least 1, got 0",
    }
    # Each is its own process, as a user's shell starts it; they start side by side.
    procs = {
        args: subprocess.Popen([sys.executable, "-m", "rnnviz", *args], cwd=ROOT, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for args in said
    }  # fmt: skip
    for args, proc in procs.items():
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 2, (args, err)
        assert "Traceback" not in err
        assert len(err.strip().splitlines()) == 1, err
        assert said[args] in err, (args, err)


def test_hostile_checkpoint_is_refused_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self) -> tuple:
            return (open, (str(marker), "w"))

    folder = tmp_path / "evil"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(pickle.dumps(Evil()))
    meta = {"format": "rnnviz-checkpoint", "format_version": 2, "name": "evil",
            "config": {"model": {"cell": "lstm"}, "data": {"dataset": "digits"}, "train": {}},
            "class_names": [str(i) for i in range(10)]}  # fmt: skip
    (folder / "meta.json").write_text(json.dumps(meta))
    proc = run_cli("evaluate", str(folder))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "not a valid safetensors file" in proc.stderr
    assert not marker.exists()


def test_predict_reports_blank_and_unreadable_files_per_line(
    tiny_checkpoints: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seven = np.zeros((200, 160), np.uint8)
    seven[30:50, 20:140] = 255  # the bar of a 7
    for i in range(120):
        seven[50 + i, 130 - i // 2 : 150 - i // 2] = 255  # its stem
    Image.fromarray(seven).save(tmp_path / "seven.png")
    Image.fromarray(np.full((50, 50), 255, np.uint8)).save(tmp_path / "blank.png")
    (tmp_path / "junk.png").write_bytes(b"not a png")
    files = [str(tmp_path / n) for n in ("seven.png", "blank.png", "junk.png")]
    code = main(["predict", str(tiny_checkpoints / "lstm-digits"), *files, "--json"])
    rows = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert code == 1  # some files could not be read
    assert [r["file"] for r in rows] == files
    assert set(rows[0]) == {"file", "prediction", "label", "probabilities"}
    assert set(rows[1]) == set(rows[2]) == {"file", "error"}
    assert sum(rows[0]["probabilities"]) == pytest.approx(1.0, abs=1e-4)
    assert rows[0]["label"] == str(rows[0]["prediction"])
    assert "error" in rows[1] and "error" in rows[2] and "junk.png" in rows[2]["error"]


def test_predict_without_a_checkpoint_reads_with_the_draw_pages_model(
    tiny_checkpoints: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from rnnviz.storage.checkpoints import list_checkpoints
    from rnnviz.storage.folders import best_checkpoint, draw_checkpoint

    monkeypatch.setenv("RNNVIZ_CHECKPOINTS_DIR", str(tiny_checkpoints))
    picture = np.zeros((120, 120), np.uint8)
    picture[20:100, 55:65] = 255  # a 1
    Image.fromarray(picture).save(tmp_path / "one.png")
    chosen = draw_checkpoint()
    infos = list_checkpoints(tiny_checkpoints)
    best = best_checkpoint(infos)
    assert chosen is not None and best is not None and chosen.path == best.path
    assert chosen.test_accuracy == max(i.test_accuracy or 0.0 for i in infos)
    rows = []
    for how in ([], ["--checkpoint", str(chosen.path)], [str(chosen.path)]):
        assert main(["predict", *how, str(tmp_path / "one.png"), "--json"]) == 0
        rows.append(json.loads(capsys.readouterr().out.strip().splitlines()[-1]))
    assert rows[0] == rows[1] == rows[2]  # the default, the flag and the old form: one model
    other = next(i.path for i in infos if i.path != chosen.path)
    assert main(["predict", "--checkpoint", str(other), str(tmp_path / "one.png"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["probabilities"] != rows[0]["probabilities"]
    monkeypatch.setenv("RNNVIZ_CHECKPOINTS_DIR", str(tmp_path / "none"))
    assert main(["predict", str(tmp_path / "one.png")]) == 2
    assert "give --checkpoint" in capsys.readouterr().err


@pytest.mark.slow
def test_bench_reports_a_speedup_on_real_data(capsys: pytest.CaptureFixture[str]) -> None:
    data = real_data_dir()
    args = ["bench", "--device", "cpu", "--data-dir", data, "--steps", "5", "--rounds", "2"]
    assert main([*args, "--skip-time-to-97", "--json"]) == 0  # tests/test_bench.py times that
    report = last_json(capsys.readouterr().out)
    assert set(report) == BENCH_KEYS and report["time_to_97"] is None
    assert report["seed_seconds_per_epoch"] > 0 and report["rnnviz_seconds_per_epoch"] > 0
    assert report["speedup"] == pytest.approx(
        report["seed_seconds_per_epoch"] / report["rnnviz_seconds_per_epoch"]
    )
    assert report["rounds"] == 2 and len(report["round_speedups"]) == 2
    assert report["data_path_speedup_limit"] == pytest.approx(
        report["seed_seconds_per_epoch"] / report["bare_step_seconds_per_epoch"]
    )
    low, high = sorted(report["round_speedups"])
    assert low <= report["speedup"] * (1 + 1e-9) and report["speedup"] <= high * (1 + 1e-9)
    assert report["scaled_from_partial_epoch"] is True and report["steps_per_epoch"] == 600


def strict_json(line: str) -> dict:
    """Parse as strict JSON: NaN, Infinity and -Infinity are not JSON."""

    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    return json.loads(line, parse_constant=refuse)


def test_every_json_line_is_strict_json(capsys: pytest.CaptureFixture[str]) -> None:
    from rnnviz.cli.commands import json_line

    json_line({"loss": float("nan"), "rows": [float("inf"), 1.5], "n": np.int64(3)})
    assert strict_json(capsys.readouterr().out) == {"loss": None, "rows": [None, 1.5], "n": 3}
    code = main(["memory", "--task", "recall", "--length", "3", "--position", "1", "--steps",
                 "5", "--device", "cpu", "--json"])  # fmt: skip
    assert code == 0
    summary = strict_json(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["task"] == "recall"


def test_a_meta_json_declaring_a_giant_model_costs_no_memory(tmp_path: Path) -> None:
    """meta.json says LSTM 8x4096 bidirectional (2.95 billion parameters) beside a 100 KB file."""
    import shutil

    folder = tmp_path / "giant"
    shutil.copytree(ROOT / "checkpoints" / "lstm-digits", folder)
    meta = json.loads((folder / "meta.json").read_text())
    meta["config"]["model"] |= {"hidden_size": 4096, "num_layers": 8, "bidirectional": True}
    (folder / "meta.json").write_text(json.dumps(meta))
    code = (  # the CLI in a process of its own, which reports its own peak memory
        "import resource, sys; from rnnviz.cli import main;"
        f"rc = main(['evaluate', {str(folder)!r}, '--device', 'cpu']);"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    peak_mib = int(proc.stdout.strip().splitlines()[-1]) / 1024  # ru_maxrss is in KiB on Linux
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "weights do not fit the model in meta.json" in proc.stderr
    assert peak_mib < 2048, f"the refusal took {peak_mib:.0f} MiB"  # building it took 11+ GiB


def test_a_run_too_big_for_the_server_is_one_line_and_exit_2() -> None:
    proc = run_cli("train", "--dataset", "digits", "--hidden", "4096", "--layers", "8",
                   "--bidirectional", "--batch-size", "65536", "--device", "cpu")  # fmt: skip
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "needs about" in proc.stderr and "RNNVIZ_MAX_JOB_MEMORY_MB" in proc.stderr


def test_cli_trains_in_pixel_order_on_a_subset_and_refuses_a_bad_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # 784 small steps: more threads only contend
    args = [
        "train",
        "--dataset",
        "digits",
        "--order",
        "pixels",
        "--train-subset",
        "256",
        "--epochs",
        "1",
        "--hidden",
        "8",
        "--device",
        "cpu",
        "--out",
        str(tmp_path),
        "--json",
    ]
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["status"] == "done" and out["title"].endswith(" · pixels")
    assert out["config"]["model"]["order"] == "pixels"
    assert out["config"]["data"]["train_subset"] == 256
    bad = run_cli("train", "--dataset", "digits", "--order", "diagonal")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    (line,) = bad.stderr.strip().splitlines()
    assert (
        "order='diagonal' is not one of ['rows', 'columns', 'pixels', 'permuted', 'pixels14', "
        "'permuted14']" in line
    )
