"""The lessons: the catalog is consistent, its jobs are the notebooks' runs, figures come back.

Matching and figures are checked on real models trained here on the offline digits (a lesson of
the test's own, one run and one race), so nothing needs the real datasets.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch

from rnnviz.analysis.trace import trace
from rnnviz.data.datasets import DataConfig
from rnnviz.lessons import (
    LESSONS,
    Experiment,
    Figure,
    Lesson,
    SpreadJob,
    Step,
    cpu_note,
    experiment_models,
    experiment_title,
    get_lesson,
    lesson_from_param,
    lesson_jobs,
    lesson_models,
    lesson_results,
    run_key,
    saved_spread,
    show,
    spread_config,
)
from rnnviz.memory import NOTEBOOK_RECALL, Sweep
from rnnviz.models.network import ModelConfig
from rnnviz.storage.checkpoints import list_checkpoints, load_checkpoint
from rnnviz.training.config import RunConfig, TrainConfig
from rnnviz.training.control import Control
from rnnviz.training.events import ignore_event
from rnnviz.training.presets import PRESETS


def tiny_run(cell: str = "lstm", **train: Any) -> RunConfig:
    return RunConfig(
        model=ModelConfig(cell=cell, hidden_size=16),
        data=DataConfig(dataset="digits", val_fraction=0.0),
        train=TrainConfig(**{"epochs": 1, "batch_size": 64, "lr": 5e-3, "device": "cpu", **train}),
    )


def tiny_lesson() -> Lesson:
    return Lesson(
        99,
        "A test lesson",
        "tests",
        "Two small runs on the offline digits.",
        (
            Experiment("one", "an LSTM", tiny_run()),
            Experiment("race", "GRU vs RNN", tiny_run(), cells=("gru", "rnn_tanh")),
        ),
        (
            Figure("LSTM accuracy", 0.5, "one"),
            Figure("LSTM precision", 0.5, "one", "precision"),
            Figure("best", "gru", "race", "best_cell"),
            Figure("GRU accuracy", None, "race", cell="gru"),
        ),
        (
            Step("Evaluate it", "look", "evaluate", ("one",)),
            Step("Compare", "look", "compare", ("one", "race:gru", "race:rnn_tanh")),
        ),
        ("Why?",),
    )


def test_every_lesson_has_steps_figures_and_questions_that_fit(tmp_path: Path) -> None:
    assert sorted(LESSONS) == [1, 2, 3, 4, 5, 6]
    for number, lesson in LESSONS.items():
        assert lesson.number == number and lesson.teaches and lesson.steps
        assert 2 <= len(lesson.questions) <= 3, lesson.title
        jobs = lesson_jobs(lesson, device_type="cpu", out=tmp_path)
        assert 1 <= len(jobs) <= 3  # one person may have 3 jobs running or queued at once
        reported = [f for f in lesson.figures if f.reported is not None]
        assert reported, f"lesson {number} shows no reported figure"


def test_the_lessons_run_the_notebooks_settings() -> None:
    one = get_lesson(1).experiment("final").run
    assert (one.model.cell, one.model.num_layers, one.model.hidden_size) == ("rnn_tanh", 3, 256)
    assert (one.train.lr, one.train.batch_size, one.train.epochs) == (5e-4, 64, 15)
    assert one.data.dataset == "fashion-mnist" and one.data.val_fraction == 0.0
    three = get_lesson(3).experiment("lstm").run
    assert (three.model.num_layers, three.model.hidden_size, three.train.batch_size) == (
        2,
        128,
        100,
    )
    assert three.train.epochs == 10 and three.train.lr == 1e-3
    four = get_lesson(4).experiment("cells")
    assert four.cells == ("rnn_tanh", "lstm", "gru") and four.run.train.lr == 0.002
    assert get_lesson(4).experiment("bilstm").run.model.bidirectional
    five = get_lesson(5).experiment("ten").run
    assert (five.train.optimizer, five.train.lr, five.train.momentum) == ("sgd", 0.1, 0.0)
    assert five.model.hidden_size == 20 and five.train.epochs == 10
    assert five.model.forget_bias == 1.0  # TensorFlow's start, which the notebook's figure needs
    assert get_lesson(5).experiment("one").run.train.epochs == 1
    two = get_lesson(2).experiment("race")
    assert two.cells == ("rnn_relu", "lstm") and two.run.data.dataset == "fashion-mnist"
    # the lessons train what the presets name, on the whole training set
    preset = PRESETS["lstm-2x128-mnist"].run
    assert three == replace(preset, data=replace(preset.data, val_fraction=0.0))


def test_lesson_jobs_queue_a_training_job_or_a_race_per_experiment(tmp_path: Path) -> None:
    jobs = lesson_jobs(get_lesson(4), device_type="cpu", out=tmp_path, data_dir="/data")
    assert [(j.experiment, j.kind) for j in jobs] == [
        ("cells", "race"),
        ("bilstm", "train"),
        ("spread", "memory"),
    ]
    assert jobs[0].config["race_cells"] == ["rnn_tanh", "lstm", "gru"]
    assert jobs[1].config["model"]["bidirectional"] is True
    assert all(j.config["data"]["data_dir"] == "/data" for j in jobs[:2])
    assert jobs[2].config["recall"] == NOTEBOOK_RECALL.to_dict()
    assert (jobs[2].config["hidden_sizes"], jobs[2].config["seeds"]) == (
        [2, 5, 10],
        [0, 1, 2, 3, 4],
    )
    assert jobs[0].title == "Lesson 4: RNN, LSTM and GRU, 1x128, lr 0.002, batch 100, 5 epochs"


def test_the_long_memory_lesson_reads_784_steps_on_a_gpu_and_196_on_a_cpu(
    tmp_path: Path,
) -> None:
    lesson = get_lesson(6)
    sequential, permuted = lesson.experiment("sequential"), lesson.experiment("permuted")
    assert sequential.cells == ("rnn_tanh", "irnn", "lstm")
    gpu = sequential.for_device("cuda")
    assert gpu == sequential.run and (gpu.model.order, gpu.model.steps) == ("pixels", 784)
    assert (gpu.model.hidden_size, gpu.data.train_subset, gpu.train.epochs) == (128, 0, 20)
    cpu = sequential.for_device("cpu")
    assert sequential.version("cpu").cells == ("rnn_tanh", "lstm")
    assert (cpu.model.order, cpu.model.steps, cpu.model.hidden_size) == ("pixels14", 196, 64)
    assert (cpu.data.train_subset, cpu.train.epochs, cpu.train.lr) == (20_000, 12, 5e-3)
    assert cpu.model.forget_bias == 1.0 and cpu.data.val_fraction == 0.0
    assert permuted.for_device("cpu").model.order == "permuted14"
    assert permuted.for_device("cuda").model.order == "permuted"
    on_cpu = lesson_jobs(lesson, device_type="cpu", out=tmp_path)
    on_gpu = lesson_jobs(lesson, device_type="cuda", out=tmp_path)
    assert [j.config["race_cells"] for j in on_cpu] == [["rnn_tanh", "lstm"]] * 2
    assert [j.config["race_cells"] for j in on_gpu] == [["rnn_tanh", "irnn", "lstm"]] * 2
    assert [j.config["model"]["order"] for j in on_cpu + on_gpu] == [
        "pixels14", "permuted14", "pixels", "permuted"]  # fmt: skip
    assert on_cpu[0].title == (
        "Lesson 6: RNN (tanh) vs LSTM 1x64, pixel by pixel at 14x14 (196 steps)")  # fmt: skip
    assert experiment_title(sequential, "cuda") == (
        "RNN (tanh), IRNN and LSTM 1x128, pixel by pixel (784 steps) (a race of 3 cells)"
    )
    assert cpu_note(sequential) == (
        "On this CPU it trains on 20,000 training images for 12 epochs, reading pixel by pixel "
        "at 14x14 (196 steps, not 784), so it fits a class period; a GPU runs the whole "
        "experiment.")  # fmt: skip
    sources = {f.source for f in lesson.figures}
    assert sources == {"Le, Jaitly & Hinton 2015", "Arjovsky, Shah & Bengio 2016", "this lesson"}
    compared = next(s for s in lesson.steps if s.page == "compare")
    for model in compared.models:  # a CPU's race and a GPU's both train every model it opens
        key, _, lane = model.partition(":")
        assert all(lane in lesson.experiment(key).lanes_on(d) for d in ("cpu", "cuda"))


def test_a_cpu_version_must_be_the_same_experiment() -> None:
    short = Experiment("a", "short", tiny_run())
    assert Experiment("a", "long", tiny_run(), cpu=short).version("cpu") is short
    with pytest.raises(ValueError, match="must have the key 'a' \\(not 'b'\\)"):
        Experiment("a", "long", tiny_run(), cpu=replace(short, key="b"))
    with pytest.raises(ValueError, match="no CPU version of its own"):
        Experiment("a", "long", tiny_run(), cpu=replace(short, cpu=short))
    with pytest.raises(ValueError, match="train on from the same experiment \\('', not 'z'\\)"):
        Experiment("a", "long", tiny_run(), cpu=replace(short, after="z"))
    assert cpu_note(Experiment("a", "same everywhere", tiny_run())) == ""


def test_a_cpu_trains_the_short_version_and_its_figures_say_so(tmp_path: Path) -> None:
    pixels = tiny_run(cell="lstm")
    pixels = replace(pixels, model=replace(pixels.model, order="pixels14", hidden_size=8),
                     data=replace(pixels.data, train_subset=128))  # fmt: skip
    cpu = Experiment("race", "RNN vs LSTM at 14x14", pixels, cells=("rnn_tanh", "lstm"))
    long = Experiment("race", "GRU vs LSTM", tiny_run(), cells=("gru", "lstm"), cpu=cpu)
    lesson = Lesson(97, "t", "t", "t", (long,),
                    (Figure("LSTM", 0.9, "race", cell="lstm"),
                     Figure("GRU", 0.9, "race", cell="gru")),
                    (Step("Inside", "look", "inside", ("race:lstm",)),), ("q", "r"))  # fmt: skip
    assert experiment_title(long, "cpu") == "RNN vs LSTM at 14x14 (a race of 2 cells)"
    assert experiment_title(long, "cuda") == "GRU vs LSTM (a race of 2 cells)"
    assert cpu_note(long) == (
        "On this CPU it trains on 128 training images for 1 epoch, reading pixel by pixel at "
        "14x14 (196 steps, not 28), so it fits a class period; a GPU runs the whole experiment."
    )
    (job,) = lesson_jobs(lesson, device_type="cpu", out=tmp_path)
    assert job.fn(Control(), ignore_event).status == "done"
    infos = list_checkpoints(tmp_path)
    assert sorted(i.record.config.model.cell for i in infos) == ["lstm", "rnn_tanh"]
    assert {i.record.history["step"][-1] for i in infos} == {2}  # 128 images, batches of 64
    models = lesson_models(lesson, infos)
    assert sorted(models) == ["race:lstm", "race:rnn_tanh"]
    lstm, gru = lesson_results(lesson, infos)
    assert lstm.reduced and lstm.ours == models["race:lstm"].test_accuracy
    assert lstm.row()["model"].endswith(" · pixels14 (CPU version)")
    assert gru.ours is None  # the GPU's lane: a CPU does not train it
    loaded = load_checkpoint(models["race:lstm"].path)  # the checkpoint rebuilds 196 steps
    assert (loaded.config.order, loaded.config.steps) == ("pixels14", 196)
    steps = trace(loaded.model, torch.zeros(1, 28, 28, dtype=torch.uint8))
    assert steps.probs.shape[1] == 196


def test_a_spread_over_seeds_is_shown_with_its_range() -> None:
    rows = [{"hidden_size": 10, "seed": s, "test_accuracy": a, "seconds": 2.0}
            for s, a in enumerate((0.95, 0.97, 0.99))]  # fmt: skip
    results = lesson_results(get_lesson(4), [], memory=Sweep(rows))
    ten = next(r for r in results if r.figure.hidden == 10)
    assert ten.ours == "97.00 % (95.00 % to 99.00 % over 3 seeds)" and ten.seconds == 6.0
    assert next(r for r in results if r.figure.hidden == 2).ours is None


def test_a_finished_spread_is_kept_beside_the_models_and_read_back(tmp_path: Path) -> None:
    lesson = get_lesson(4)
    [job] = [j for j in lesson_jobs(lesson, device_type="cpu", out=tmp_path / "mine")
             if j.kind == "memory"]  # fmt: skip
    config = spread_config(lesson)
    assert isinstance(job.fn, SpreadJob) and config == job.config
    rows = [{"hidden_size": h, "seed": s, "test_accuracy": 0.5 + h / 100 + s / 1000,
             "seconds": 1.5} for h in (2, 5, 10) for s in range(5)]  # fmt: skip
    assert job.fn.finish(Sweep(rows, status="stopped"), "thread") is not None
    assert saved_spread(config, [tmp_path / "mine"]) is None  # a stopped sweep is not kept
    job.fn.finish(Sweep(rows), "thread")
    [file] = (tmp_path / "mine").iterdir()
    assert file.name.startswith("spread-") and file.suffix == ".json"
    kept = saved_spread(config, [tmp_path / "elsewhere", tmp_path / "mine"])
    assert kept is not None and kept.rows == rows
    ten = next(r for r in lesson_results(lesson, [], memory=kept) if r.figure.hidden == 10)
    assert ten.ours == "60.20 % (60.00 % to 60.40 % over 5 seeds)" and ten.seconds == 22.5
    other = {**config, "seeds": [0]}  # other settings: not this record
    assert saved_spread(other, [tmp_path / "mine"]) is None
    for bad in ("[]", '{"config": {}, "rows": "x", "created": 1}', "x" * 300_000, "{"):
        file.write_text(bad)
        assert saved_spread(config, [tmp_path / "mine"]) is None


def test_run_key_ignores_the_machine_but_not_the_experiment() -> None:
    run = tiny_run()
    here = replace(
        run, data=replace(run.data, data_dir="/x"), train=replace(run.train, device="cuda")
    )
    assert run_key(here) == run_key(run)
    assert run_key(replace(run, train=replace(run.train, lr=1e-2))) != run_key(run)


def test_a_lesson_finds_its_models_and_reads_its_figures(tmp_path: Path) -> None:
    lesson = tiny_lesson()
    assert all(r.ours is None for r in lesson_results(lesson, []))
    for job in lesson_jobs(lesson, device_type="cpu", out=tmp_path):
        outcome = job.fn(Control(), ignore_event)
        assert outcome.status == "done", outcome.message
    infos = list_checkpoints(tmp_path)
    assert len(infos) == 3
    models = lesson_models(lesson, infos)
    assert sorted(models) == ["one", "race:gru", "race:rnn_tanh"]
    results = {r.figure.label: r for r in lesson_results(lesson, infos)}
    one = models["one"].record
    assert results["LSTM accuracy"].ours == one.test_accuracy
    assert one.test_metrics is not None
    assert results["LSTM precision"].ours == one.test_metrics.weighted["precision"]
    assert results["LSTM accuracy"].seconds == one.seconds > 0
    lanes = {c: models[f"race:{c}"].test_accuracy or 0.0 for c in ("gru", "rnn_tanh")}
    assert results["best"].ours == max(lanes, key=lanes.__getitem__)
    assert results["GRU accuracy"].ours == lanes["gru"]
    row = results["LSTM accuracy"].row()
    assert row["reported"] == "50.00 %" and row["this run"] == show(one.test_accuracy, "accuracy")
    assert row["seconds"] == f"{one.seconds:.1f}"
    assert results["GRU accuracy"].row()["seconds"] != "None"
    blank = lesson_results(lesson, [])  # nothing trained yet: blanks, never "None"
    assert {r.row()["seconds"] for r in blank} == {""}
    assert {r.row()["this run"] for r in blank} == {"-"}


def test_a_model_with_other_settings_is_not_the_lessons(tmp_path: Path) -> None:
    lesson = tiny_lesson()
    other = Lesson(98, "t", "t", "t", (Experiment("one", "x", tiny_run(lr=2e-3)),),
                   (Figure("acc", None, "one"),), (), ("q", "r"))  # fmt: skip
    for job in lesson_jobs(other, device_type="cpu", out=tmp_path):
        job.fn(Control(), ignore_event)
    assert experiment_models(lesson.experiment("one"), list_checkpoints(tmp_path)) == {}
    assert set(experiment_models(other.experiment("one"), list_checkpoints(tmp_path))) == {""}


def test_a_lesson_that_names_what_it_lacks_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown 'nope'"):
        Lesson(1, "t", "t", "t", (Experiment("a", "a", tiny_run()),),
               (Figure("f", None, "nope"),), (), ())  # fmt: skip
    with pytest.raises(ValueError, match="opens unknown model 'b:gru'"):
        Lesson(1, "t", "t", "t", (Experiment("a", "a", tiny_run()),), (),
               (Step("s", "t", "compare", ("b:gru",)),), ())  # fmt: skip
    with pytest.raises(ValueError, match="page='nowhere'"):
        Step("s", "t", "nowhere")
    with pytest.raises(ValueError, match="metric='speed'"):
        Figure("f", None, "a", "speed")


def test_the_lesson_a_link_names() -> None:
    assert lesson_from_param("3") == (LESSONS[3], "")
    assert lesson_from_param(None) == (None, "")
    lesson, problem = lesson_from_param("<b>99</b>")
    assert lesson is None and problem == "lesson='<b>99</b>' is not one of [1, 2, 3, 4, 5, 6]"
    assert lesson_from_param("0")[0] is None
    with pytest.raises(ValueError, match="lesson=7"):
        get_lesson(7)


def test_figures_are_shown_as_a_teacher_reads_them() -> None:
    assert show(0.857, "accuracy") == "85.70 %"
    assert show(0.8633, "precision") == "0.8633"
    assert show(12.345, "seconds_per_epoch") == "12.3 s"
    assert show("lstm", "best_cell") == "lstm"
    assert show(None, "accuracy") == "-"


def test_lesson_five_trains_on_from_its_one_epoch_model_for_nine_more(tmp_path: Path) -> None:
    from rnnviz.jobs.runs import TrainingJob

    lesson = get_lesson(5)
    one, ten = lesson.experiment("one"), lesson.experiment("ten")
    assert ten.after == "one" and ten.run.train.epochs == 10 and one.run.train.epochs == 1
    jobs = {j.experiment: j for j in lesson_jobs(lesson, device_type="cpu", out=tmp_path)}
    trains_on = jobs["ten"].fn
    assert isinstance(trains_on, TrainingJob) and trains_on.after == one.for_device("cpu")
    assert jobs["ten"].key != jobs["one"].key and str(jobs["ten"].key).endswith(" after one")
    assert trains_on.remote.resume is None  # nothing saved yet: it would train all ten epochs


SHIPPED_LESSONS = Path(__file__).resolve().parents[1] / "checkpoints" / "lessons"


@pytest.mark.parametrize("number", [1, 2, 3, 4, 5, 6])
def test_every_figure_of_a_lesson_reads_a_shipped_model(number: int) -> None:
    lesson = get_lesson(number)
    config = spread_config(lesson)
    spread = saved_spread(config, [SHIPPED_LESSONS]) if config else None
    results = lesson_results(lesson, list_checkpoints(SHIPPED_LESSONS), memory=spread)
    # lesson 6's CPU version races no IRNN: its published IRNN figures wait for a GPU's run
    missing = [r.figure.label for r in results if r.ours is None and "IRNN" not in r.figure.label]
    assert missing == [] and all(r.seconds for r in results if r.ours is not None)
    models = lesson_models(lesson, list_checkpoints(SHIPPED_LESSONS))
    for step in lesson.steps:  # every step button opens a model at once
        assert all(m in models for m in step.models), (step.label, sorted(models))


def test_the_shipped_models_stay_small() -> None:
    root = SHIPPED_LESSONS.parent
    folders = [p for p in root.rglob("*") if p.is_dir() and (p / "meta.json").is_file()]
    sizes = {p.name: sum(f.stat().st_size for f in p.iterdir()) for p in folders}
    assert len(sizes) > 20 and max(sizes.values()) < 2 * 2**20, sorted(sizes.items())[:3]
    everything = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
    assert everything < 30 * 2**20
