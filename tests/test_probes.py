"""rnnviz.training.probes: fixed probe images, read as a run learns, kept in its record."""

from __future__ import annotations

import json

import pytest
import torch

from rnnviz.data.datasets import DataConfig, Dataset, load_dataset
from rnnviz.storage.checkpoints import load_checkpoint
from rnnviz.training.events import Probed, ProbeSet
from rnnviz.training.probes import PROBE_TABLE, Probes, probe_set, probe_steps, read_probes
from rnnviz.training.record import RunRecord
from rnnviz.training.trainer import train

from .conftest import real_data_dir
from .test_training import tiny_run, toy  # noqa: F401  (toy is a fixture)


def test_probe_steps_start_before_training_and_end_at_the_last_step() -> None:
    steps = probe_steps(1000)
    assert steps[0] == 0 and steps[-1] == 1000 and len(steps) == 21
    assert steps == sorted(set(steps)) and steps[1] == 50
    assert probe_steps(5) == [0, 1, 2, 3, 4, 5] and probe_steps(0) == [0]


def test_a_reduced_test_split_probes_its_first_eight(toy: Dataset) -> None:  # noqa: F811
    probes = probe_set(toy)  # 64 test images: the digits table's indices do not fit
    assert probes.indices == tuple(range(8)) and probes.kinds == ("test",) * 8
    assert torch.equal(torch.tensor(probes.images, dtype=torch.uint8), toy.test.images[:8])
    assert list(probes.labels) == toy.test.labels[:8].tolist()


def test_reading_probes_leaves_the_weights_and_their_gradients_alone(toy: Dataset) -> None:  # noqa: F811
    model = train(tiny_run("gru"), dataset=toy).model
    model.train()
    before = [p.detach().clone() for p in model.parameters()]
    grads = [p.grad.clone() for p in model.parameters() if p.grad is not None]
    assert grads  # the last training step's, which the optimiser may still read
    reading = read_probes(model, probe_set(toy), step=7, total_steps=8, lane=2)
    assert reading is not None and (reading.step, reading.lane, reading.progress) == (7, 2, 7 / 8)
    assert all(torch.equal(a, p) for a, p in zip(before, model.parameters(), strict=True))
    after = [p.grad for p in model.parameters() if p.grad is not None]
    assert all(torch.equal(a, g) for a, g in zip(grads, after, strict=True)) and model.training
    assert len(reading.true_belief) == 8 and all(len(row) == 28 for row in reading.true_belief)
    assert len(reading.row_grads) == 28 and all(g >= 0 for g in reading.row_grads)
    for guesses, final in zip(reading.guesses, reading.final, strict=True):
        assert guesses[-1] == max(range(len(final)), key=final.__getitem__)  # last row = answer


def test_a_run_records_its_probes_and_a_reload_replays_them(toy: Dataset) -> None:  # noqa: F811
    events: list[object] = []
    record = train(tiny_run(batch_size=16, epochs=2), dataset=toy, emit=events.append).record
    readings = [e for e in events if isinstance(e, Probed)]
    assert [r.step for r in readings] == probe_steps(32)  # 16 steps an epoch
    assert sum(isinstance(e, ProbeSet) for e in events) == 1
    back = RunRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    probes = Probes.from_dict(back.probes)
    assert probes and probes.readings == tuple(readings) and probes.images == probe_set(toy)
    assert "probes" not in record.summary()
    # the belief in the true label at the end is what the test split says of those images
    assert readings[0].true_belief != readings[-1].true_belief


def test_a_cnn_has_no_rows_to_probe(toy: Dataset) -> None:  # noqa: F811
    record = train(tiny_run("cnn"), dataset=toy).record
    assert record.probes is None and record.lock_in_row is None


def test_unreadable_probes_in_a_record_give_none() -> None:
    assert not Probes.from_dict({"images": {"kind": "stepped"}, "readings": []})
    assert not Probes.from_dict(None)


@pytest.mark.parametrize(("dataset", "shipped"), [("mnist", "rnn-mnist"),
                                                  ("fashion-mnist", "lstm-fashion"),
                                                  ("digits", "lstm-digits")])  # fmt: skip
def test_the_easy_probes_are_easy_and_the_hard_ones_hard(dataset: str, shipped: str) -> None:
    data_dir = real_data_dir() if dataset != "digits" else None
    data = load_dataset(DataConfig(dataset=dataset, data_dir=data_dir))
    probes = probe_set(data)
    choice = PROBE_TABLE[dataset]
    assert probes.indices == choice.easy + choice.hard and len(set(probes.labels)) == 8
    model = load_checkpoint(f"checkpoints/{shipped}").model
    reading = read_probes(model, probes, step=0, total_steps=1)
    assert reading is not None
    final = [belief[-1] for belief in reading.true_belief]
    # (the plain RNN for MNIST: the gated ones now read most hard probes too, and lstm-mnist's
    # label smoothing keeps every belief under 0.92)
    assert min(final[:4]) > 0.99 and sorted(final[4:])[-2] < 0.9  # at most one hard one read
