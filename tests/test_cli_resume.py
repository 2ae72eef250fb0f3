"""`train --resume`: the JSON line of a run trained on from a shipped model and from a snapshot,
Ctrl-C leaving an interrupted run that says how to go on, and one readable line for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnnviz.cli import main
from rnnviz.cli.progress import Progress
from rnnviz.training.events import Event, Stepped

from .conftest import ROOT

TINY = ["--dataset", "digits", "--cell", "gru", "--hidden", "8", "--batch-size", "256",
        "--device", "cpu"]  # fmt: skip


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def test_a_shipped_model_trains_on_into_a_new_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shipped = ROOT / "checkpoints" / "lstm-digits"
    before = sorted((p.name, p.stat().st_mtime) for p in shipped.iterdir())
    code = main(["train", "--resume", str(shipped), "--epochs", "31", "--out", str(tmp_path),
                 "--json"])  # fmt: skip
    out, err = capsys.readouterr()
    record = last_json(out)
    assert code == 0 and record["status"] == "done" and record["resumed_from"] == "lstm-digits"
    assert record["config"]["train"]["epochs"] == 31
    assert record["checkpoint"].startswith(str(tmp_path))
    assert "a fresh adam optimiser: it was saved without its optimiser state" in err
    assert sorted((p.name, p.stat().st_mtime) for p in shipped.iterdir()) == before


def test_ctrl_c_leaves_an_interrupted_run_that_resume_finishes_in_its_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = Progress.__call__

    def interrupt_in_epoch_2(self: Progress, event: Event) -> None:
        if isinstance(event, Stepped) and event.epoch == 2:
            raise KeyboardInterrupt
        shown(self, event)

    monkeypatch.setattr(Progress, "__call__", interrupt_in_epoch_2)
    args = ["train", *TINY, "--epochs", "3", "--out", str(tmp_path), "--name", "g", "--json"]
    assert main(args) == 130
    out, _ = capsys.readouterr()
    snapshot = last_json(out)
    assert snapshot["status"] == "interrupted" and snapshot["message"] == "interrupted at epoch 1/3"
    assert f"go on with: python -m rnnviz train --resume {tmp_path / 'g'}" in out
    monkeypatch.setattr(Progress, "__call__", shown)
    assert main(["train", "--resume", str(tmp_path / "g"), "--json"]) == 0
    record = last_json(capsys.readouterr().out)
    assert record["status"] == "done" and record["checkpoint"] == str(tmp_path / "g")
    assert record["resumed_from"] == "g" and [p.name for p in tmp_path.iterdir()] == ["g"]


def test_bad_resume_arguments_end_with_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", "--resume", str(tmp_path / "nothing"), "--json"]) == 2
    _, err = capsys.readouterr()
    assert err.count("\n") == 1 and "nothing: no checkpoint folder here" in err
    shipped = str(ROOT / "checkpoints" / "lstm-digits")
    assert main(["train", "--resume", shipped, "--hidden", "32"]) == 2
    _, err = capsys.readouterr()
    assert err.count("\n") == 1 and "--hidden-size: a resumed run keeps the saved run's" in err
    assert main(["train", "--resume", shipped, "--epochs", "3"]) == 2
    assert "has trained 30 epochs; to train on, give more" in capsys.readouterr().err
