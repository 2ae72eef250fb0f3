"""The bench's time to 97 %: the report's structure and values, on a cap of a few steps."""

from __future__ import annotations

import pytest

from rnnviz.bench.speed import _lines_97, run_bench
from rnnviz.bench.time_to import time_to_accuracy
from rnnviz.training.presets import get_preset
from tests.conftest import real_data_dir

EVERY = 600  # training images between scorings: a few steps, so the test stays short


@pytest.mark.slow
def test_a_cap_before_the_target_reports_not_reached() -> None:
    data = real_data_dir()
    report = time_to_accuracy(device="cpu", data_dir=data, every=EVERY, max_epochs=0.02)
    assert report["target"] == 0.97 and report["scored_every_images"] == EVERY
    seed, ours = report["seed"], report["quick"]
    assert ours["preset"] == "quick-cpu" and "LSTM 2x128" in seed["recipe"]
    for loop, batch in ((seed, 100), (ours, get_preset("quick-cpu").run.train.batch_size)):
        assert loop["reached"] is False and loop["seconds"] is None
        assert loop["scorings"] == 2  # after EVERY images, then at the cap of 1,200
        assert 1200 <= loop["images"] < 1200 + batch
        assert 0.0 <= loop["accuracy"] < 0.97
    assert seed["epochs"] == pytest.approx(seed["images"] / 60_000)
    assert ours["epochs"] == pytest.approx(ours["images"] / 54_000)  # 10 % held out
    assert report["ratio"] is None
    assert "not reached by the cap" in _lines_97({"time_to_97": report})[1]


@pytest.mark.slow
def test_a_target_met_at_the_first_scoring_gives_seconds_and_their_ratio() -> None:
    data = real_data_dir()
    report = time_to_accuracy(device="cpu", data_dir=data, target=0.05, every=EVERY)
    seed, ours = report["seed"], report["quick"]
    for loop in (seed, ours):  # any classifier of ten classes scores above 5 %
        assert loop["reached"] is True and loop["scorings"] == 1
        assert loop["seconds"] > 0 and loop["accuracy"] >= 0.05
    assert seed["images"] == EVERY
    assert report["ratio"] == pytest.approx(seed["seconds"] / ours["seconds"])
    lines = _lines_97({"time_to_97": report})
    assert lines[-1].endswith(f"{report['ratio']:.1f}x")


def test_the_report_lines_name_each_outcome() -> None:
    loop = {"reached": True, "seconds": 4.25, "images": 60_000, "epochs": 1.0, "accuracy": 0.9712,
            "scorings": 10, "recipe": "GRU 1x64"}  # fmt: skip
    report = {"target": 0.97, "scored_every_images": 6000, "ratio": None,
              "seed": {**loop, "reached": False, "seconds": None, "recipe": "LSTM 2x128"},
              "quick": {**loop, "preset": "quick-cpu"}}  # fmt: skip
    lines = _lines_97({"time_to_97": report})
    assert lines[0].startswith("time to 97% test accuracy (scored every 6,000 training images")
    assert (
        lines[1] == "  seed loop (LSTM 2x128): not reached by the cap (after 1.00 epochs, 97.12%)"
    )
    assert lines[2] == "  quick-cpu (GRU 1x64): 4.2 s, after 1.00 epochs, 97.12%"
    assert lines[3] == "  time-to-97% speedup: n/a"
    assert _lines_97({"time_to_97": None}) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"target": 1.5}, "target=1.5 must be in"),
        ({"every": 0}, "every=0 at least 1"),
        ({"max_epochs": 0.0}, "max_epochs=0.0 above 0"),
    ],
)
def test_bad_options_are_refused_naming_the_value(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        time_to_accuracy(device="cpu", **options)


def test_the_bench_refuses_to_time_nothing() -> None:
    with pytest.raises(ValueError, match="nothing to time"):
        run_bench(device="cpu", time_to_97=False, per_epoch=False)
