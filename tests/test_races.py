"""rnnviz.jobs.races and `python -m rnnviz race`: lanes on the same batches, every model saved."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from rnnviz.cli import main
from rnnviz.data.datasets import Dataset
from rnnviz.jobs.races import RaceConfig, RaceJob, RaceRecord
from rnnviz.storage.checkpoints import load_checkpoint
from rnnviz.training import trainer as training
from rnnviz.training.control import Control
from rnnviz.training.events import EpochEnded, Event, Started

from .test_training import tiny_run, toy  # noqa: F401  (toy is a fixture)


@pytest.mark.parametrize(
    ("cells", "match"),
    [
        (("lstm",), "2 to 4 cells"),
        (("lstm", "gru", "rnn_tanh", "rnn_relu", "cnn_lstm"), "2 to 4 cells"),
        (("lstm", "lstm"), "names a cell twice"),
        (("lstm", "cnn"), "cannot race"),
    ],
)
def test_a_race_has_two_to_four_different_recurrent_cells(
    cells: tuple[str, ...], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        RaceConfig(tiny_run(), cells)


def test_aliases_are_resolved_and_each_run_differs_only_by_its_cell() -> None:
    config = RaceConfig(tiny_run(), ("rnn", "gru"))
    assert config.cells == ("rnn_tanh", "gru")
    a, b = config.runs()
    assert (a.model.cell, b.model.cell) == ("rnn_tanh", "gru")
    assert replace(a.model, cell="gru") == b.model and a.train == b.train and a.data == b.data
    assert config.title() == "Race: RNN-tanh vs GRU · 1x16"


def test_each_lane_trains_exactly_as_it_would_alone(toy: Dataset) -> None:  # noqa: F811
    runs = [tiny_run("lstm", batch_size=32, epochs=2), tiny_run("gru", batch_size=32, epochs=2)]
    events: list[Event] = []
    raced = training.race(runs, dataset=toy, emit=events.append)
    for lane, run in enumerate(runs):
        alone = training.train(run, dataset=toy).record
        assert raced[lane].record.history["loss"] == alone.history["loss"]  # same batches, order
        assert raced[lane].record.test_accuracy == alone.test_accuracy
    assert [e.lane for e in events if isinstance(e, Started)] == [0, 1]
    assert sorted((e.lane, e.epoch) for e in events if isinstance(e, EpochEnded)) == [
        (0, 1), (0, 2), (1, 1), (1, 2)
    ]  # fmt: skip
    for result in raced:  # each lane's clock counts its own work only
        assert 0 < result.record.seconds < sum(r.record.seconds for r in raced)


def test_a_race_job_saves_every_model_and_reports_the_table(
    toy: Dataset,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(training, "load_dataset", lambda *a, **k: toy)
    config = RaceConfig(tiny_run(batch_size=64), ("rnn_tanh", "lstm", "gru"))
    record = RaceJob(config, tmp_path)(Control(), lambda e: None)
    assert isinstance(record, RaceRecord) and record.status == "done"
    rows = record.results()
    assert [r["cell"] for r in rows] == ["rnn_tanh", "lstm", "gru"]
    for row in rows:
        assert row["checkpoint"] and Path(row["checkpoint"]).name.startswith("race-")
        assert load_checkpoint(row["checkpoint"]).record.config.model.cell == row["cell"]
        assert 1.0 <= row["lock_in_row"] <= 28.0 and row["parameters"] > 0
        assert 0.0 <= row["test_accuracy"] <= 1.0 and row["seconds_per_epoch"] > 0
    assert rows[0]["parameters"] < rows[2]["parameters"] < rows[1]["parameters"]


def test_a_stopped_race_stops_every_lane(toy: Dataset) -> None:  # noqa: F811
    control = Control()
    control.stop()
    runs = [tiny_run("lstm", batch_size=32), tiny_run("gru", batch_size=32)]
    results = training.race(runs, dataset=toy, control=control)
    assert [r.record.status for r in results] == ["stopped", "stopped"]


def test_the_race_command_prints_results_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["race", "--cells", "rnn_tanh,gru", "--dataset", "digits", "--hidden", "8",
                 "--epochs", "1", "--batch-size", "256", "--device", "cpu", "--out",
                 str(tmp_path), "--json"])  # fmt: skip
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    last = json.loads(out[-1])
    assert last["status"] == "done" and [r["cell"] for r in last["results"]] == ["rnn_tanh", "gru"]
    for row in last["results"]:
        assert {"cell", "test_accuracy", "seconds", "checkpoint"} <= set(row)
        assert Path(row["checkpoint"]).is_dir() and row["seconds"] > 0


def test_the_race_command_refuses_a_lone_cell_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["race", "--cells", "lstm", "--dataset", "digits"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["rnnviz race: error: a race has 2 to 4 cells, not 1"]


def test_the_race_pace_sums_the_lanes_and_follows_the_one_behind() -> None:
    from rnnviz.jobs.races import race_pace
    from rnnviz.training.events import Stepped

    def report(lane: int, step: int, rate: float, eta: float) -> Stepped:
        return Stepped(first_step=step, losses=(1.0,), epoch=1, steps_per_epoch=100,
                       total_steps=100, lr=1e-3, samples_per_s=rate, eta_s=eta, elapsed_s=1.0,
                       lane=lane)  # fmt: skip

    assert race_pace([]) is None
    pace = race_pace([report(0, 5, 100.0, 9.0), report(1, 4, 300.0, 3.0), report(0, 6, 200.0, 8.0)])
    assert pace is not None and pace.step == 4 and pace.lane == 1
    assert pace.eta_s == 11.0 and pace.samples_per_s == pytest.approx(1 / (1 / 200 + 1 / 300))
    reports = [report(i % 2, i, 100.0, 1.0) for i in range(1, 10_001)]
    read: list[int] = []

    class Kept(Sequence[Stepped]):  # a long race's reports, counting those read
        def __len__(self) -> int:
            return len(reports)

        def __getitem__(self, i: int) -> Stepped:  # type: ignore[override]
            read.append(i)
            return reports[i]

    pace = race_pace(Kept(), lanes=2)
    assert pace is not None and pace.step == 9_999 and pace.lane == 1 and len(read) == 2
