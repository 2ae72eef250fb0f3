"""rnnviz.jobs.resuming: a job snapshots its run folder at every epoch's end; a process that dies
leaves an interrupted run that a server started again lists, resumes in place (bit for bit) or
discards; a run trains on from any saved one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from rnnviz.data.datasets import DataConfig
from rnnviz.jobs import resuming
from rnnviz.jobs.manager import JobManager
from rnnviz.jobs.runs import train_and_save, training_job
from rnnviz.models.network import ModelConfig
from rnnviz.storage import states
from rnnviz.storage.checkpoints import list_checkpoints, load_checkpoint, read_meta, read_record
from rnnviz.storage.folders import delete_checkpoint, interrupted_runs
from rnnviz.training.config import RunConfig, TrainConfig
from rnnviz.training.events import EpochEnded, Event, Stepped
from rnnviz.training.record import RunRecord

RUN = RunConfig(
    model=ModelConfig(cell="gru", hidden_size=8),
    data=DataConfig(dataset="digits"),
    train=TrainConfig(epochs=3, batch_size=256, device="cpu", schedule="cosine"),
)
STEPS = 5  # digits: 5 steps an epoch at 256 a batch


class Died(Exception):
    """The process running the job is gone (killed, out of memory, the machine restarted)."""


def die_in_epoch(epoch: int) -> Callable[[Event], None]:
    def emit(event: Event) -> None:
        if isinstance(event, Stepped) and event.epoch == epoch:
            raise Died

    return emit


def test_a_run_snapshots_its_folder_each_epoch_and_a_death_leaves_it_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, ...]] = []

    def look(event: Event) -> None:  # what the folder holds as each epoch starts
        if isinstance(event, Stepped) and (event.first_step - 1) % STEPS == 0:
            seen.append(tuple(sorted(p.name for p in tmp_path.iterdir())))
        if isinstance(event, Stepped) and event.epoch == 3:
            raise Died

    with pytest.raises(Died):
        train_and_save(RUN, out=tmp_path, name="gru", emit=look)
    assert seen == [(), ("gru",), ("gru",)]  # one folder, replaced whole: nothing hidden left
    meta = read_meta(tmp_path / "gru")
    assert meta["status"] == "interrupted" and meta["message"] == "interrupted at epoch 2/3"
    assert meta["history"]["epoch"] == [1, 2] and meta["train_state"]["step"] == 2 * STEPS
    assert interrupted_runs(tmp_path) == []  # this process wrote it: as if its job still ran
    monkeypatch.setattr(states, "PROCESS", "a-server-started-again")
    [info] = interrupted_runs(tmp_path)
    assert info.name == "gru" and info.record.message == "interrupted at epoch 2/3"


def test_an_interrupted_run_resumed_in_place_ends_as_the_whole_run_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = train_and_save(RUN, out=tmp_path / "whole", name="gru")
    with pytest.raises(Died):
        train_and_save(RUN, out=tmp_path, name="gru", emit=die_in_epoch(2))
    monkeypatch.setattr(states, "PROCESS", "a-server-started-again")
    [info] = interrupted_runs(tmp_path)
    job = training_job(RUN, out=tmp_path, resume=info.path, in_place=True)
    manager = JobManager(max_running=1)
    job_id = manager.submit(job, owner="ann", title="gru")
    snap = manager.wait(job_id, timeout=120)
    record = snap.result
    assert isinstance(record, RunRecord) and record.checkpoint is not None
    assert whole.checkpoint is not None
    assert snap.state == "done" and "epoch_state" not in snap.events
    assert [p.name for p in tmp_path.iterdir() if p.name != "whole"] == ["gru"]
    assert record.checkpoint == str(tmp_path / "gru") and record.resumed_from == "gru"
    saved = read_record(tmp_path / "gru")
    assert saved.status == "done" and saved.history["resume_step"] == [STEPS]
    assert saved.history["loss"] == whole.history["loss"]
    a, b = (load_checkpoint(p).model.state_dict() for p in (whole.checkpoint, tmp_path / "gru"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert interrupted_runs(tmp_path) == []


def test_an_interrupted_run_can_be_discarded_and_others_are_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keep = train_and_save(RUN, out=tmp_path, name="kept")
    with pytest.raises(Died):
        train_and_save(RUN, out=tmp_path, name="gru", emit=die_in_epoch(2))
    monkeypatch.setattr(states, "PROCESS", "a-server-started-again")
    delete_checkpoint(interrupted_runs(tmp_path)[0].path)
    assert [i.name for i in list_checkpoints(tmp_path)] == ["kept"]
    assert read_record(tmp_path / "kept").history == keep.history


def test_a_snapshot_left_aside_by_a_crash_mid_replace_is_put_back(tmp_path: Path) -> None:
    with pytest.raises(Died):
        train_and_save(RUN, out=tmp_path, name="gru", emit=die_in_epoch(2))
    (tmp_path / "gru").rename(tmp_path / ".gru.0123abcd.old")
    (tmp_path / ".gru.4567ef.tmp").mkdir()  # the new one, never renamed in
    states.PROCESS = "a-server-started-again"
    try:
        assert [i.name for i in interrupted_runs(tmp_path)] == ["gru"]
    finally:
        states.PROCESS = "this-test"


def test_a_run_trains_on_from_a_finished_one_into_a_new_folder(tmp_path: Path) -> None:
    one = train_and_save(RUN, out=tmp_path, name="three")
    saved = read_record(tmp_path / "three")
    assert resuming.train_on(saved).train.epochs == 6  # finished: as many epochs again
    run = resuming.train_on(saved, epochs=5, lr=5e-4)
    epochs: list[int] = []

    def count(event: Event) -> None:
        if isinstance(event, EpochEnded):
            epochs.append(event.epoch)

    record = train_and_save(run, out=tmp_path, name="five", resume=tmp_path / "three", emit=count)
    assert epochs == [4, 5] and record.resumed_from == "three" and record.status == "done"
    assert record.history["epoch"] == [1, 2, 3, 4, 5]
    assert record.history["resume_step"] == [3 * STEPS]
    assert read_record(tmp_path / "three").history == one.history  # the old run is untouched
    with pytest.raises(ValueError, match="has trained 3 epochs; to train on, give more"):
        resuming.train_on(saved, epochs=3)
