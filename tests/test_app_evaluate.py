"""The Evaluate page through AppTest: scores, confusion pairs, the gallery and the model manager."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rnnviz.analysis.metrics import compute_metrics
from rnnviz.data.datasets import DATASETS, DataConfig, dataset_available
from rnnviz.models.network import ModelConfig, build_model
from rnnviz.storage.archive import export_zip
from rnnviz.storage.checkpoints import read_meta, save_checkpoint
from rnnviz.training.config import RunConfig
from rnnviz.training.record import RunRecord

from .conftest import app_test, shown

OWNER = "0123456789abcdef"  # an owner id as a browser would get one


def figures(at: Any) -> list[dict[str, Any]]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def trace_types(at: Any) -> list[str]:
    return [t.get("type", "") for fig in figures(at) for t in fig["data"]]


def titles(at: Any) -> list[str]:
    return [a["text"] for fig in figures(at) for a in fig["layout"].get("annotations", [])]


def own_run(runs: Path, shipped: Path, name: str = "my-run") -> Path:
    """A copy of a shipped tiny checkpoint in OWNER's runs folder."""
    target = runs / OWNER / name
    shutil.copytree(shipped / "lstm-digits", target)
    return target


def selectbox(at: Any, label: str) -> Any:
    return next(s for s in at.selectbox if s.label == label)


def manage(at: Any, path: Path) -> None:
    """Choose `path` in the model manager's picker."""
    at.selectbox(key="models_pick").set_value(str(path)).run()


def test_scores_table_confusion_and_gallery(app_env: Path) -> None:
    at = app_test("pages/evaluate.py")
    assert not at.exception
    meta = read_meta(at.session_state["checkpoint_path"])
    accuracy = at.metric[0]
    assert accuracy.label == "Test accuracy"
    assert accuracy.value == f"{meta['test_metrics']['accuracy']:.2%}"  # the recorded figure again
    table = at.dataframe[0].value
    assert list(table["Class"]) == [*meta["class_names"], "macro average", "weighted average"]
    support = [r["support"] for r in meta["test_metrics"]["per_class"]]
    assert list(table["Support"]) == [*support, sum(support), sum(support)]
    assert sum(support) == 359  # the digits test split: 20 % of 1,797
    assert "heatmap" in trace_types(at) and "bar" in trace_types(at)
    gallery = [t for t in titles(at) if "true:" in t]
    assert len(gallery) == 16
    next(r for r in at.radio if r.label == "Show").set_value("Least confident").run()
    assert not at.exception
    worst = [t for t in titles(at) if "true:" in t]
    assert len(worst) == 16 and worst != gallery


def test_choosing_a_pair_shows_its_images_and_opens_inside(app_env: Path) -> None:
    at = app_test("pages/evaluate.py")
    selectbox(at, "True class").set_value(4)
    selectbox(at, "Predicted class").set_value(4).run()
    assert not at.exception
    meta = read_meta(at.session_state["checkpoint_path"])
    count = meta["test_metrics"]["confusion"][4][4]
    assert count > 0
    assert any(
        m.value.startswith(f"**{count}** test images of 4 predicted as 4") for m in at.markdown
    )
    pair_titles = [t for t in titles(at) if t.startswith("#")]
    assert len(pair_titles) == min(16, count)
    picker = selectbox(at, "Test image")
    first = picker.options[0]
    assert pair_titles[0].startswith(f"{first} ")
    next(b for b in at.button if b.label == "Open on Inside the RNN").click().run()
    assert not at.exception
    assert all(t.value != "Evaluate" for t in at.title)  # now on the Inside page
    state = at.session_state
    # Inside takes the handover out of the session state and shows that test image.
    handed = (
        state["inside_image"]
        if "inside_image" in state
        else {"source": "test", "index": state["inside_index"]}
    )
    assert handed == {"source": "test", "index": int(first[1:])}


def test_rename_then_delete_an_own_run(app_env: Path, tiny_checkpoints: Path) -> None:
    run = own_run(app_env, tiny_checkpoints)
    at = app_test("pages/evaluate.py", owner=OWNER)
    manage(at, run)
    at.text_input(key="models_new_name_my-run").input("Digits · favourite")
    next(b for b in at.button if b.label == "Rename").click().run()
    assert not at.exception
    renamed = run.parent / "Digits - favourite"
    assert renamed.is_dir() and not run.exists()
    assert read_meta(renamed)["name"] == "Digits - favourite"
    assert any("Renamed" in shown(s) for s in at.success)
    manage(at, renamed)
    at.button(key="models_delete").click().run()
    assert not at.exception
    assert not renamed.exists()
    assert any("Deleted" in shown(s) for s in at.success)


def test_shipped_models_cannot_be_renamed_or_deleted(app_env: Path) -> None:
    at = app_test("pages/evaluate.py")
    shipped = at.session_state["models_pick"]
    assert "shipped" in at.selectbox(key="models_pick").format_func(shipped)
    assert next(b for b in at.button if b.label == "Rename").disabled
    assert at.text_input(key=f"models_new_name_{Path(shipped).name}").disabled


def zip_with_hidden(data: bytes, hidden: int) -> bytes:
    """An exported zip whose meta.json claims another hidden size than its weights have."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for member in src.namelist():
            content = src.read(member)
            if member == "meta.json":
                meta = json.loads(content)
                meta["config"]["model"]["hidden_size"] = hidden
                content = json.dumps(meta).encode()
            dst.writestr(member, content)
    return out.getvalue()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"this is not a zip", "not a readable zip"),
        ("wrong-shape", "do not fit the model"),
    ],
)
def test_bad_uploads_are_refused(
    app_env: Path, tiny_checkpoints: Path, content: Any, message: str
) -> None:
    if content == "wrong-shape":
        content = zip_with_hidden(export_zip(tiny_checkpoints / "gru-digits"), 64)
    at = app_test("pages/evaluate.py", owner=OWNER)
    at.file_uploader[0].set_value(("model.zip", content, "application/zip")).run()
    assert not at.exception
    assert any(message in shown(e) and "not imported" in shown(e) for e in at.error)
    assert not (app_env / OWNER).exists() or not any((app_env / OWNER).iterdir())


def test_a_good_upload_is_imported_and_selected(app_env: Path, tiny_checkpoints: Path) -> None:
    data = export_zip(tiny_checkpoints / "gru-digits")
    at = app_test("pages/evaluate.py", owner=OWNER)
    at.file_uploader[0].set_value(("gru.zip", data, "application/zip")).run()
    assert not at.exception
    imported = app_env / OWNER / "gru-digits"
    assert (imported / "model.safetensors").is_file()
    assert at.session_state["checkpoint_path"] == str(imported)
    assert any("Imported" in shown(s) for s in at.success)


def test_missing_dataset_falls_back_to_recorded_metrics(
    app_env: Path, tiny_checkpoints: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if dataset_available("fashion-mnist", str(tmp_path)):
        pytest.skip("Fashion-MNIST is installed system-wide, so it cannot be missing here")
    monkeypatch.setenv("RNNVIZ_DATA_DIR", str(tmp_path))
    names = list(DATASETS["fashion-mnist"].class_names)
    config = ModelConfig(cell="gru", hidden_size=8)
    rng = np.random.default_rng(0)
    recorded = compute_metrics(rng.integers(0, 10, 200), rng.integers(0, 10, 200), names)
    record = RunRecord(
        config=RunConfig(model=config, data=DataConfig(dataset="fashion-mnist", download=False)),
        title="GRU 1x8 · Fashion-MNIST",
        class_names=tuple(names),
        test_metrics=recorded,
    )
    save_checkpoint(build_model(config), record, root=app_env / OWNER, name="fashion")
    at = app_test("pages/evaluate.py", owner=OWNER)
    assert not at.exception  # the sidebar starts on a model whose data is here: choose this one
    at.sidebar.selectbox(key="sidebar_model").set_value(str(app_env / OWNER / "fashion")).run()
    assert not at.exception
    assert at.session_state["checkpoint_path"].endswith("fashion")
    assert any("Fashion-MNIST is not available" in shown(w) for w in at.warning)
    assert at.metric[0].value == f"{recorded.accuracy:.2%}"
    assert list(at.dataframe[0].value["Class"])[:10] == names
    assert "heatmap" in trace_types(at)
    assert any("not on this machine" in shown(i) for i in at.info)
    # Another model with other class names, and back: each keeps its own pair of classes.
    digits = str(tiny_checkpoints / "lstm-digits")
    for path in (digits, at.session_state["checkpoint_path"]):
        at.session_state["checkpoint_path"] = path  # what the sidebar's model picker sets
        at.run()
        assert not at.exception
        assert at.session_state["checkpoint_path"] == path


def test_every_model_can_be_downloaded_as_code(app_env: Path) -> None:
    at = app_test("pages/evaluate.py")
    assert not at.exception
    labels = [b.label for b in at.get("download_button")]
    assert "Download" in labels and "As code" in labels
