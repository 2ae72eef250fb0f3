"""rnnviz.models.orders: each reading order's sequence, the fixed permutation, and a run in every
order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from rnnviz.data.datasets import DataConfig
from rnnviz.models.network import ModelConfig, build_model
from rnnviz.models.orders import (
    ORDERS,
    PERMUTATION_SEED,
    permutation,
    reading_index,
    seen_masks,
    to_sequence,
)
from rnnviz.storage.checkpoints import load_checkpoint, save_checkpoint
from rnnviz.training.config import RunConfig, TrainConfig
from rnnviz.training.trainer import train

pytestmark = pytest.mark.usefixtures("one_thread")


def _images(batch: int = 3) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (batch, 28, 28), generator=gen, dtype=torch.uint8)


def test_the_registry_says_each_orders_shape() -> None:
    shapes = {key: (o.steps, o.inputs) for key, o in ORDERS.items()}
    assert shapes == {"rows": (28, 28), "columns": (28, 28), "pixels": (784, 1),
                      "permuted": (784, 1), "pixels14": (196, 1),
                      "permuted14": (196, 1)}  # fmt: skip
    for key, order in ORDERS.items():
        assert to_sequence(_images(), key).shape == (3, order.steps, order.inputs)
        assert reading_index(key).shape == (order.steps, order.inputs)


def test_rows_are_the_image_columns_its_transpose_pixels_its_flattening() -> None:
    images = _images()
    assert to_sequence(images, "rows") is images
    assert torch.equal(to_sequence(images, "columns"), images.transpose(1, 2))
    assert torch.equal(to_sequence(images, "pixels"), images.reshape(3, 784, 1))
    # step t of columns is column t, top to bottom
    assert torch.equal(to_sequence(images, "columns")[:, 5], images[:, :, 5])


def test_permuted_reads_every_pixel_once_in_one_fixed_order() -> None:
    perm = permutation()
    assert PERMUTATION_SEED == 1234
    assert perm.dtype == torch.int64 and perm.device.type == "cpu"
    assert torch.equal(perm.sort().values, torch.arange(784))  # every pixel exactly once
    again = torch.randperm(784, generator=torch.Generator().manual_seed(PERMUTATION_SEED))
    assert torch.equal(perm, again)  # made from the seed alone
    assert perm[:6].tolist() == [111, 112, 772, 475, 120, 209]  # fixed for ever: do not change
    images = _images()
    seq = to_sequence(images, "permuted")
    assert torch.equal(seq, to_sequence(images, "permuted"))
    assert torch.equal(seq[:, :, 0], images.reshape(3, 784)[:, perm])
    assert torch.equal(seq[:, :, 0].sort(dim=1).values, images.reshape(3, 784).sort(dim=1).values)


def test_a_pooled_order_reads_the_image_averaged_over_2x2_blocks() -> None:
    images = torch.zeros(2, 28, 28, dtype=torch.uint8)
    images[0, 0, 0], images[0, 1, 1] = 200, 100  # block (0, 0): mean 75
    images[1, 26:, 2:4] = 40  # block (13, 1): mean 40
    seq = to_sequence(images, "pixels14")  # (2, 196, 1)
    assert seq.dtype == torch.float32 and seq.shape == (2, 196, 1)
    assert seq[0, 0, 0].item() == 75.0 and seq[0, 1:].abs().sum().item() == 0.0
    assert seq[1, 13 * 14 + 1, 0].item() == 40.0 and seq[1].sum().item() == 40.0
    pooled = torch.nn.functional.avg_pool2d(_images().float()[:, None], 2).flatten(1)  # (3, 196)
    assert torch.equal(to_sequence(_images(), "pixels14")[:, :, 0], pooled)
    perm = permutation(196)
    assert torch.equal(perm.sort().values, torch.arange(196))
    assert perm[:4].tolist() == [111, 157, 28, 176]  # fixed for ever: do not change
    assert torch.equal(to_sequence(_images(), "permuted14")[:, :, 0], pooled[:, perm])
    assert (ORDERS["pixels14"].side, ORDERS["pixels"].side) == (14, 28)


def test_a_pooled_orders_steps_reveal_whole_blocks() -> None:
    first, later = seen_masks("pixels14", [0, 14])
    assert first[:2, :2].all() and int(first.sum()) == 4  # step 0 reads block (0, 0)
    assert later[:2].all() and later[2:4, :2].all() and int(later.sum()) == 60
    shuffled = seen_masks("permuted14", [0])[0]
    r, c = divmod(int(permutation(196)[0]), 14)
    assert shuffled[2 * r : 2 * r + 2, 2 * c : 2 * c + 2].all() and int(shuffled.sum()) == 4


def test_a_whole_image_order_refuses_part_of_an_image() -> None:
    assert to_sequence(_images()[:, :5], "rows").shape == (3, 5, 28)  # rows read what they get
    with pytest.raises(ValueError, match=r"order='pixels' reads whole 28x28 images"):
        to_sequence(_images()[:, :5], "pixels")
    with pytest.raises(ValueError, match=r"order='spiral' is not one of \['rows', 'columns'"):
        reading_index("spiral")


def test_seen_masks_grow_in_the_orders_own_way() -> None:
    rows, columns = seen_masks("rows", [0, 27]), seen_masks("columns", [2])
    assert rows[0, 0].all() and not rows[0, 1:].any() and rows[1].all()
    assert columns[0, :, :3].all() and not columns[0, :, 3:].any()
    pixels = seen_masks("pixels", [29])[0]
    assert int(pixels.sum()) == 30 and pixels[1, 1] and not pixels[1, 2]
    shuffled = seen_masks("permuted", [0, 9])
    assert [int(m.sum()) for m in shuffled] == [1, 10]
    first = int(permutation()[0])
    assert shuffled[0].flatten().nonzero().flatten().tolist() == [first]


def _run(order: str, **model: object) -> RunConfig:
    return RunConfig(
        model=ModelConfig(cell="lstm", hidden_size=8, order=order, **model),  # type: ignore[arg-type]
        data=DataConfig(dataset="digits", train_subset=128, val_fraction=0.1),
        train=TrainConfig(epochs=1, batch_size=64, lr=1e-2, device="cpu"),
    )


@pytest.mark.parametrize("order", list(ORDERS))
def test_an_lstm_trains_two_batches_in_every_order(order: str, tmp_path: Path) -> None:
    result = train(_run(order))
    record = result.record
    assert record.status == "done", record.message
    assert record.history["step"] == [1, 2]  # 128 training images, batches of 64
    assert all(torch.isfinite(torch.tensor(record.history["loss"])))
    assert record.lock_in_row is not None and 1 <= record.lock_in_row <= ORDERS[order].steps
    probes = record.probes
    assert (
        probes is not None and len(probes["readings"][-1]["true_belief"][0]) == ORDERS[order].steps
    )
    assert (" · " + order in record.title) == (order != "rows")
    # The checkpoint keeps the order, and the same weights read the same logits after loading.
    folder = save_checkpoint(result.model, record, root=tmp_path, name="m")
    loaded = load_checkpoint(folder)
    assert loaded.config.order == order
    images = _images()
    with torch.no_grad():
        assert torch.allclose(loaded.model(images), result.model(images), atol=1e-6)


def _without_order(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_order(v) for k, v in value.items() if k != "order"}
    return [_without_order(v) for v in value] if isinstance(value, list) else value


def test_the_index_is_no_weight_and_an_old_meta_reads_as_rows(tmp_path: Path) -> None:
    keys = {order: set(build_model(ModelConfig(order=order)).state_dict()) for order in ORDERS}
    assert len({frozenset(k) for k in keys.values()}) == 1  # the same safetensors keys
    record = train(_run("rows")).record
    model = build_model(record.config.model)
    folder = save_checkpoint(model, record, root=tmp_path, name="old")
    meta_file = folder / "meta.json"
    text = meta_file.read_text()
    assert text.count('"order": "rows"') >= 1
    meta_file.write_text(json.dumps(_without_order(json.loads(text))))  # as written before orders
    assert '"order"' not in meta_file.read_text()
    assert load_checkpoint(folder).config.order == "rows"


def test_conv_cells_and_bidirectional_models_keep_to_what_they_can_read() -> None:
    with pytest.raises(ValueError, match=r"cell='cnn_lstm'.*\['rows', 'columns'\]"):
        ModelConfig(cell="cnn_lstm", order="permuted")
    with pytest.raises(ValueError, match=r"bidirectional=True with order='pixels'"):
        ModelConfig(bidirectional=True, order="pixels")
    with pytest.raises(ValueError, match=r"order='pixels14' reads a 14x14 image.*cell='cnn'"):
        ModelConfig(cell="cnn", order="pixels14")
    with pytest.raises(ValueError, match=r"bidirectional=True with order='permuted14'"):
        ModelConfig(bidirectional=True, order="permuted14")
    assert ModelConfig(cell="cnn_lstm", order="columns", bidirectional=True).steps == 28
    images = _images().float() / 255
    cnn = build_model(ModelConfig(cell="cnn", order="columns"))
    plain = build_model(ModelConfig(cell="cnn"))
    plain.load_state_dict(cnn.state_dict())
    with torch.no_grad():  # the CNN of columns sees the transposed image
        assert torch.allclose(cnn(images), plain(images.transpose(1, 2)), atol=1e-6)


def test_a_model_sized_on_the_meta_device_first_leaves_the_permutation_real() -> None:
    from rnnviz.models.orders import permutation

    permutation.cache_clear()  # as in a fresh process whose first permuted model is sized
    with torch.device("meta"):
        build_model(ModelConfig(order="permuted", hidden_size=8))
    assert permutation().device.type == "cpu"
    model = build_model(ModelConfig(order="permuted", hidden_size=8))
    assert model(torch.zeros(2, 28, 28, dtype=torch.uint8)).shape == (2, 10)
