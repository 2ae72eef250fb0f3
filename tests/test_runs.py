"""rnnviz.jobs.runs: a run trained, saved and recorded; and a cap on the runs one person keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from rnnviz.data.datasets import DataConfig
from rnnviz.jobs.runs import MAX_RUNS_ENV, check_room, max_runs, train_and_save, training_job
from rnnviz.models.network import ModelConfig
from rnnviz.training.config import RunConfig, TrainConfig
from rnnviz.training.control import Control
from rnnviz.training.events import ignore_event

TINY = RunConfig(
    model=ModelConfig(cell="gru", hidden_size=8),
    data=DataConfig(dataset="digits"),
    train=TrainConfig(epochs=1, batch_size=256, device="cpu"),
)


def test_a_saved_run_is_its_record_with_the_folder(tmp_path: Path) -> None:
    record = train_and_save(TINY, out=tmp_path, name="tiny")
    assert record.status == "done" and record.checkpoint == str(tmp_path / "tiny")
    assert record.name == "tiny" and (tmp_path / "tiny" / "model.safetensors").is_file()


def test_one_person_keeps_a_bounded_number_of_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert max_runs() == 20
    monkeypatch.setenv(MAX_RUNS_ENV, "2")
    for name in ("a", "b"):
        check_room(tmp_path)
        train_and_save(TINY, out=tmp_path, name=name)
    (tmp_path / ".a.partial.tmp").mkdir()  # a write in progress is not a saved run
    with pytest.raises(ValueError, match=f"you keep 2 saved runs.*{MAX_RUNS_ENV}.*delete some"):
        training_job(TINY, out=tmp_path)  # refused before anything is queued or trained
    check_room(tmp_path / "someone-new")  # a folder that does not exist yet has room
    job = training_job(TINY, out=tmp_path / "other")
    assert job(Control(), ignore_event).status == "done"
