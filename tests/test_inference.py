"""rnnviz.analysis.inference and rnnviz.storage.scoring: predictions in batches, scores on a test
set, checkpoints and picture files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.nn import functional as F

from rnnviz.analysis.inference import evaluate, predict
from rnnviz.models.network import ModelConfig, build_model
from rnnviz.storage.checkpoints import load_checkpoint
from rnnviz.storage.scoring import evaluate_checkpoint, predict_files

from .conftest import ROOT

NAMES = ["a", "b", "c"]
V1_FIXTURE = ROOT / "tests" / "fixtures" / "v1-lstm-digits"
# What `python -m rnnviz evaluate` printed for the fixture with the code that wrote it
# (checkpoint format version 1), on the offline digits' 359 test images.
V1_TEST_ACCURACY = 0.9220055710306406
V1_TEST_LOSS = 0.30441150069236755


def _model(dropout: float = 0.0) -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(ModelConfig(cell="gru", hidden_size=16, dropout=dropout, num_classes=3))


def _images(n: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    return torch.randint(0, 256, (n, 28, 28), dtype=torch.uint8, generator=generator)


def test_predict_in_batches_equals_one_big_batch() -> None:
    model, images = _model().eval(), _images(50)
    preds, probs = predict(model, images, batch_size=7)
    big_preds, big_probs = predict(model, images)
    assert preds.shape == (50,) and probs.shape == (50, 3)
    assert torch.equal(preds, big_preds)
    assert torch.allclose(probs, big_probs, atol=1e-6)
    assert torch.allclose(probs.sum(dim=1), torch.ones(50))
    assert torch.equal(preds, model(images).argmax(dim=1))


def test_predict_uses_eval_mode_and_restores_the_flag() -> None:
    model, images = _model(dropout=0.5), _images(20)
    model.train()
    _, first_probs = predict(model, images, batch_size=8)
    _, second_probs = predict(model, images, batch_size=8)
    assert model.training
    assert torch.equal(first_probs, second_probs)  # dropout would make these differ
    model.eval()
    predict(model, images)
    assert not model.training
    with pytest.raises(ValueError, match="batch_size=0"):
        predict(model, images, batch_size=0)


def test_evaluate_reports_loss_accuracy_and_probabilities() -> None:
    model, images = _model().eval(), _images(40)
    labels = torch.arange(40) % 3
    metrics, probs = evaluate(model, images, labels, NAMES, batch_size=16)
    logits = model(images)
    assert metrics.loss == pytest.approx(F.cross_entropy(logits, labels).item(), rel=1e-5)
    expected = (logits.argmax(dim=1) == labels).float().mean().item()
    assert metrics.accuracy == pytest.approx(expected)
    assert metrics.confusion.sum() == 40
    assert torch.allclose(probs, logits.softmax(dim=1), atol=1e-6)
    with pytest.raises(ValueError, match="2 labels for 40 images"):
        evaluate(model, images, labels[:2], NAMES)


def test_a_format_1_checkpoint_scores_as_it_did_when_it_was_written() -> None:
    meta = json.loads((V1_FIXTURE / "meta.json").read_text())
    assert meta["format_version"] == 1 and "seconds_trained" in meta  # today's code must upgrade
    report = evaluate_checkpoint(V1_FIXTURE, device="cpu")
    assert report["dataset"] == "digits" and report["test_size"] == 359
    assert report["test_accuracy"] == V1_TEST_ACCURACY
    assert report["recorded_test_accuracy"] == V1_TEST_ACCURACY
    assert report["loss"] == pytest.approx(V1_TEST_LOSS, rel=1e-6)
    assert [row["name"] for row in report["per_class"]] == [str(i) for i in range(10)]
    assert sum(row["support"] for row in report["per_class"]) == 359


def test_predict_files_reads_pictures_and_names_the_unreadable(tmp_path: Path) -> None:
    seven = np.zeros((64, 64), dtype=np.uint8)
    seven[10:14, 12:52] = 255  # the bar of a 7
    for i in range(40):  # its stroke, down to the left
        seven[14 + i, 48 - i // 2 : 52 - i // 2] = 255
    Image.fromarray(seven).save(tmp_path / "seven.png")
    (tmp_path / "junk.png").write_bytes(b"not a picture")
    rows = predict_files(V1_FIXTURE, [tmp_path / "seven.png", tmp_path / "junk.png"])
    assert set(rows[0]) == {"file", "prediction", "label", "probabilities"}
    assert rows[0]["label"] == str(rows[0]["prediction"]) and len(rows[0]["probabilities"]) == 10
    assert sum(rows[0]["probabilities"]) == pytest.approx(1.0, abs=1e-4)
    assert set(rows[1]) == {"file", "error"} and "junk.png" in rows[1]["error"]
    model = load_checkpoint(V1_FIXTURE).model
    assert not model.training
