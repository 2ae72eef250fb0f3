"""The class as one experiment, without a browser: the register, class sweeps, the class's rows,
and their figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rnnviz.classroom import register
from rnnviz.classroom.board import best_per_cell, class_rows, scored, sweep_points, to_csv
from rnnviz.classroom.sweeps import ClassSweep, new_sweep
from rnnviz.data.datasets import DataConfig
from rnnviz.jobs.runs import train_and_save
from rnnviz.models.network import ModelConfig
from rnnviz.plots.classroom import class_scatter, sweep_figure
from rnnviz.training.config import RunConfig, TrainConfig

from .contrast import faint

ANN, BOB, CY = "a" * 16, "b" * 16, "c" * 16


def tiny(cell: str = "gru", hidden: int = 8) -> RunConfig:
    return RunConfig(
        model=ModelConfig(cell=cell, hidden_size=hidden),
        data=DataConfig(dataset="digits"),
        train=TrainConfig(epochs=1, batch_size=128, device="cpu"),
    )


def test_students_are_numbered_in_order_of_arrival_and_keep_their_number(tmp_path: Path) -> None:
    for owner in (ANN, BOB, ANN, CY):
        register.enrol(tmp_path, owner)
    reg = register.read(tmp_path)
    assert [reg.label(o) for o in (ANN, BOB, CY)] == ["Student 1", "Student 2", "Student 3"]
    register.enrol(tmp_path, BOB, "bob@school.example")
    assert register.read(tmp_path).label(BOB) == "Student 2"  # names only when the teacher says
    register.show_names(tmp_path, True)
    assert register.read(tmp_path).label(BOB) == "bob@school.example"
    assert register.read(tmp_path).label(ANN) == "Student 1"  # not signed in: still a number


def test_a_class_start_sets_what_counts_and_an_unreadable_register_is_empty(tmp_path: Path) -> None:
    assert register.read(tmp_path).since(now=10_000.0) == 10_000.0 - register.RECENT_S
    register.start_class(tmp_path, now=1234.0)
    assert register.read(tmp_path).since(now=99_999.0) == 1234.0
    (tmp_path / register.REGISTER_FILE).write_text("{not json")
    assert register.read(tmp_path) == register.Register()


def test_the_teacher_key_is_compared_never_stored_and_needs_a_key_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(register.TEACHER_KEY_ENV, raising=False)
    assert not register.become_teacher(tmp_path, ANN, "")  # no key: nobody is the teacher
    monkeypatch.setenv(register.TEACHER_KEY_ENV, "s3cret")
    assert not register.become_teacher(tmp_path, ANN, "secret")
    assert register.become_teacher(tmp_path, ANN, " s3cret ")
    reg = register.read(tmp_path)
    assert register.is_teacher(reg, ANN, None, frozenset())
    assert not register.is_teacher(reg, BOB, None, frozenset())
    assert register.is_teacher(reg, BOB, "T@School.example", frozenset({"t@school.example"}))
    assert "s3cret" not in (tmp_path / register.REGISTER_FILE).read_text()
    monkeypatch.delenv(register.TEACHER_KEY_ENV)  # the key removed: its browsers are no teachers
    assert not register.is_teacher(reg, ANN, None, frozenset())


def test_a_sweep_fills_its_values_in_order_and_a_student_keeps_theirs(tmp_path: Path) -> None:
    sweep = new_sweep("hidden", "8, 16, 8, 32", tiny())
    assert sweep.values == ("8", "16", "32") and "hidden" not in sweep.base
    register.add_sweep(tmp_path, sweep)
    got = [register.claim(tmp_path, sweep.id, o) for o in (ANN, BOB, CY, "d" * 16, ANN)]
    assert [part[1] for part in got if part] == [0, 1, 2, 0, 0]
    assert got[1] is not None and got[1][0].run_for(1).model.hidden_size == 16
    register.end_sweep(tmp_path, sweep.id)
    assert register.claim(tmp_path, sweep.id, "e" * 16) is None
    back = ClassSweep.from_dict(json.loads(json.dumps(register.read(tmp_path).sweeps[0].to_dict())))
    assert back.claims == {ANN: 0, BOB: 1, CY: 2, "d" * 16: 0} and not back.open


@pytest.mark.parametrize(
    ("setting", "values", "says"),
    [("owner", "1, 2", "setting='owner' is not one of"), ("hidden", "8", "2 to 24 different"),
     ("hidden", "8, 0", "hidden=0"), ("lr", "0.01, lots", "lr='lots' is not a number")],
)  # fmt: skip
def test_a_bad_sweep_is_refused_with_what_is_wrong(setting: str, values: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        new_sweep(setting, values, tiny())


def test_the_class_rows_are_everyones_runs_since_the_class_started(tmp_path: Path) -> None:
    train_and_save(tiny("gru", 8), out=tmp_path / ANN)
    train_and_save(tiny("lstm", 8), out=tmp_path / BOB)
    train_and_save(tiny("gru", 8), out=tmp_path / CY)  # the same experiment as ann's
    for owner in (ANN, BOB, CY):
        register.enrol(tmp_path, owner)
    reg = register.read(tmp_path)
    rows = class_rows(tmp_path, [], reg.since(), reg.label)
    assert sorted(r.student for r in rows) == ["Student 1", "Student 2", "Student 3"]
    assert {r.cell for r in rows} == {"gru", "lstm"} and all(r.status == "done" for r in rows)
    assert len(scored(rows)) == 2  # ann's and cy's are one point: the same settings, same score
    best = best_per_cell(rows)
    assert (
        set(best) == {"gru", "lstm"} and best["gru"].test_accuracy == rows[0].test_accuracy
    ) or 1
    assert class_rows(tmp_path, [], since=4e9, label=reg.label) == []  # a class started later
    lines = to_csv(rows).splitlines()
    assert lines[0].startswith("student,cell,layers,hidden,lr,epochs,parameters,test_accuracy")
    assert len(lines) == 4
    fig = class_scatter(rows)
    assert [t.name for t in fig.data] == ["GRU", "LSTM"]
    assert len({t.marker.symbol for t in fig.data}) == 2  # shapes as well as colours
    assert len(fig.layout.annotations) == 2 and "best" in fig.layout.annotations[0].text


def test_a_sweep_figure_has_a_point_per_run_and_a_band_where_values_repeat() -> None:
    sweep = new_sweep("hidden", "8, 16, 32", tiny())
    points = [("8", "Student 1", 0.5), ("8", "Student 4", 0.7), ("16", "Student 2", 0.8)]
    fig = sweep_figure(sweep, points)
    names = [t.name for t in fig.data]
    assert names == ["min to max", "median", "a student's run"]
    assert faint([fig.data[1].line.color, fig.data[2].marker.color]) == []  # light or dark page
    assert list(fig.data[0].y) == [0.7, 0.8, 0.8, 0.5]  # the band: highs, then lows reversed
    assert list(fig.data[1].y) == [pytest.approx(0.6), 0.8]
    assert list(fig.layout.xaxis.categoryarray) == ["8", "16", "32"]
    assert "3 runs, 2 of 3 values" in fig.layout.title.text
    assert sweep_points(sweep, []) == []


def test_a_class_that_watched_one_run_reruns_its_pages_a_few_each_second() -> None:
    from collections import Counter

    from rnnviz.classroom.stagger import MAX_TICKS, PER_TICK, settle_ticks

    assert [settle_ticks(n, 0) for n in (1, 2, PER_TICK)] == [0, 0, 0]  # a few: at once
    for watchers in (PER_TICK + 1, 30, 100, 1000):
        per_tick = Counter(settle_ticks(watchers, place) for place in range(watchers))
        spread = min(MAX_TICKS, -(-watchers // PER_TICK))
        # none in the tick that saw the end; then every tick used, none past the last
        assert sorted(per_tick) == list(range(1, spread + 1))
        assert max(per_tick.values()) - min(per_tick.values()) <= 1  # evenly
        assert max(per_tick.values()) <= max(PER_TICK, -(-watchers // MAX_TICKS))
    assert settle_ticks(30, 29) == 5 and settle_ticks(30, 99) == 5  # a late place stays in range
    assert settle_ticks(30, -1) == 1


def test_each_tab_refreshes_at_a_period_of_its_own_and_a_class_drifts_apart() -> None:
    from rnnviz.classroom.stagger import SPREAD, refresh_period

    for first in (0, 7, 1000):
        periods = [refresh_period(1.0, tab) for tab in range(first, first + 30)]
        assert all(1 - SPREAD <= p <= 1 + SPREAD for p in periods)
        assert max(periods) - min(periods) > 1.5 * SPREAD  # they span the range
        gaps = [b - a for a, b in zip(sorted(periods), sorted(periods)[1:], strict=False)]
        assert min(gaps) >= 0.004  # no two alike: after 10 ticks, at least 40 ms apart
    assert refresh_period(3.0, 5) == refresh_period(3.0, 5)  # a tab keeps its period
    assert refresh_period(3.0, 5) == pytest.approx(3 * refresh_period(1.0, 5), abs=0.002)


def test_a_crowded_server_asks_each_tab_for_fewer_refreshes() -> None:
    from rnnviz.classroom.stagger import REFRESHES_PER_S, SPREAD, refresh_period

    assert refresh_period(1.0, 3, tabs=REFRESHES_PER_S) == refresh_period(1.0, 3)  # room for all
    for tabs in (2 * REFRESHES_PER_S, 4 * REFRESHES_PER_S):
        periods = [refresh_period(1.0, tab, tabs) for tab in range(tabs)]
        base = tabs / REFRESHES_PER_S
        assert all(base * (1 - SPREAD) <= p <= base * (1 + SPREAD) for p in periods)
        asked = sum(1 / p for p in periods)  # refreshes a second, all tabs together
        assert REFRESHES_PER_S * 0.9 <= asked <= REFRESHES_PER_S * 1.1
    assert refresh_period(3.0, 3, tabs=2 * REFRESHES_PER_S) == refresh_period(3.0, 3)  # Class: 3 s
