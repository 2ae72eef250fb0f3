"""rnnviz.storage.states: a checkpoint keeps its optimiser state as tensors (never a pickle) with
its numbers in meta.json, reads it back exactly, and refuses a state that does not fit its model
before allocating it; a checkpoint saved before states were kept goes on without one."""

from __future__ import annotations

import json
import shutil
import struct
from dataclasses import replace
from pathlib import Path

import pytest
import safetensors.torch
import torch

from rnnviz.data.datasets import DataConfig
from rnnviz.models.network import ModelConfig
from rnnviz.storage.checkpoints import load_checkpoint, save_checkpoint
from rnnviz.storage.meta import MetaError
from rnnviz.storage.states import (
    STATE_FILE,
    SavedRun,
    header_of_bytes,
    open_saved,
    read_saved,
)
from rnnviz.storage.weights import WeightsError
from rnnviz.training.config import RunConfig, TrainConfig
from rnnviz.training.trainer import TrainResult, train

from .conftest import ROOT

RUN = RunConfig(
    model=ModelConfig(cell="gru", hidden_size=8),
    data=DataConfig(dataset="digits"),
    train=TrainConfig(
        epochs=1, batch_size=256, device="cpu", optimizer="adamw", schedule="one_cycle"
    ),
)


@pytest.fixture(scope="module")
def trained() -> TrainResult:
    return train(RUN)


@pytest.fixture
def saved(trained: TrainResult, tmp_path: Path) -> Path:
    return save_checkpoint(trained.model, trained.record, root=tmp_path, name="gru",
                           state=trained.state)  # fmt: skip


def test_the_optimiser_state_round_trips_through_the_checkpoint(
    trained: TrainResult, saved: Path
) -> None:
    assert trained.state is not None
    files = sorted(p.name for p in saved.iterdir())
    assert files == ["meta.json", "model.safetensors", STATE_FILE]
    meta = json.loads((saved / "meta.json").read_text())
    assert meta["train_state"]["optimizer"] == "adamw" and meta["train_state"]["step"] == 5
    assert meta["train_state"]["span"] == [0, 5] and meta["train_state"]["schedule"] == "one_cycle"
    model, record, resume = open_saved(read_saved(saved))
    assert resume.step == 5 and resume.source == "gru" and record.status == "done"
    assert resume.state is not None and resume.state.plain() == trained.state.plain()
    back, kept = resume.state.tensors, trained.state.tensors
    assert back.keys() == kept.keys() and "optimizer.0.exp_avg_sq" in back
    assert all(torch.equal(back[k], kept[k]) for k in kept)
    assert all(
        torch.equal(a, b)
        for a, b in zip(model.parameters(), trained.model.parameters(), strict=True)
    )
    assert load_checkpoint(saved).record.test_metrics == trained.record.test_metrics


def test_a_checkpoint_without_a_state_opens_without_one() -> None:
    shipped = ROOT / "checkpoints" / "lstm-digits"
    model, record, resume = open_saved(read_saved(shipped))
    assert resume.state is None and resume.source == "lstm-digits"
    assert resume.step == record.history["step"][-1] > 0
    assert sum(p.numel() for p in model.parameters()) == record.parameters


def test_a_state_that_does_not_fit_the_model_is_refused_before_it_is_loaded(
    saved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = (saved / STATE_FILE).read_bytes()
    tensors = safetensors.torch.load(raw)
    meta = (saved / "meta.json").read_bytes()
    weights = (saved / "model.safetensors").read_bytes()

    def refused(state: dict[str, torch.Tensor], match: str) -> None:
        loads: list[bytes] = []
        real = safetensors.torch.load

        def counted(b: bytes) -> dict[str, torch.Tensor]:
            loads.append(b)
            return real(b)

        monkeypatch.setattr(safetensors.torch, "load", counted)
        with pytest.raises((WeightsError, MetaError), match=match):
            open_saved(SavedRun("gru", meta, weights, safetensors.torch.save(state)))
        monkeypatch.setattr(safetensors.torch, "load", real)
        assert len(loads) == 1  # the weights only: the state was never allocated

    big = {**tensors, "optimizer.0.exp_avg": torch.zeros(10_000, 10_000, dtype=torch.float16)}
    refused(big, r"'optimizer.0.exp_avg' is \[10000, 10000\] F16, expected \[24, 28\] F32")
    refused({**tensors, "optimizer.99.exp_avg": torch.zeros(1)}, "unexpected tensor")
    refused({k: v for k, v in tensors.items() if k != "rng.order"}, "missing tensor 'rng.order'")


def test_bad_state_numbers_and_bytes_are_refused_naming_the_file(saved: Path) -> None:
    meta = json.loads((saved / "meta.json").read_text())
    meta["train_state"]["optimizer"] = "lbfgs"
    files = read_saved(saved)
    with pytest.raises(MetaError, match="optimizer='lbfgs' is not one rnnviz keeps"):
        open_saved(replace(files, meta=json.dumps(meta).encode()))
    with pytest.raises(WeightsError, match=r"gru/state\.safetensors: not a safetensors file"):
        open_saved(replace(files, state=struct.pack("<Q", 2**40) + b"{}"))
    assert header_of_bytes(files.state or b"", "s")["rng.torch"] == ((5056,), "U8")


def test_a_copied_checkpoint_keeps_its_state(saved: Path, tmp_path: Path) -> None:
    from rnnviz.jobs.sharing import copy_run
    from rnnviz.storage.checkpoints import read_record

    copy = copy_run(read_record(saved), tmp_path / "joiner")
    assert copy.checkpoint is not None and (Path(copy.checkpoint) / STATE_FILE).is_file()
    shutil.rmtree(copy.checkpoint)
