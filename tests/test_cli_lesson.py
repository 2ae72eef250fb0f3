"""The `lesson` command: list the lessons, run one's experiments here, print its figure table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnnviz.cli import main
from rnnviz.lessons import LESSONS
from tests.test_cli import run_cli
from tests.test_lessons import tiny_lesson


def test_list_names_every_lesson(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lesson", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [int(line.split()[0]) for line in lines] == sorted(LESSONS)
    assert lines[4].startswith("5  Watch it learn to read")


def test_a_lesson_runs_here_and_prints_its_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lesson = tiny_lesson()
    monkeypatch.setitem(LESSONS, lesson.number, lesson)
    out = tmp_path / "runs"
    assert main(["lesson", "99", "--device", "cpu", "--out", str(out), "--json"]) == 0
    printed = capsys.readouterr().out.splitlines()
    last = json.loads(printed[-1])
    assert (last["lesson"], last["device"]) == (99, "cpu")
    assert [(j["experiment"], j["kind"], j["status"]) for j in last["jobs"]] == [
        ("one", "train", "done"),
        ("race", "race", "done"),
    ]
    figures = {row["figure"]: row for row in last["figures"]}
    assert figures["LSTM accuracy"]["reported"] == "50.00 %"
    assert figures["LSTM accuracy"]["this run"].endswith(" %")
    assert figures["best"]["this run"] in ("gru", "rnn_tanh")
    assert len(list(out.glob("*/meta.json"))) == 3
    assert any(line.startswith("LSTM accuracy [notebook]: reported 50.00 %") for line in printed)


def test_an_unknown_lesson_is_one_line_and_exit_2() -> None:
    done = run_cli("lesson", "9")
    assert done.returncode == 2
    assert done.stderr.strip() == "rnnviz lesson: error: lesson=9 is not one of [1, 2, 3, 4, 5, 6]"
