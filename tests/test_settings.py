"""rnnviz.common.settings: a setting declared once validates, normalises and describes itself."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from rnnviz.common.settings import Config, check_value, declared, setting
from rnnviz.data.datasets import DataConfig
from rnnviz.models.network import ModelConfig
from rnnviz.training.config import TrainConfig


@dataclass(frozen=True)
class Toy(Config):
    """A config the way rnnviz's are declared: one line per setting."""

    size: int = setting(4, label="Size", low=1, high=8, url="size", flag="size")
    rate: float = setting(0.5, label="Rate", low=0.0, high=1.0, step=0.1)
    shape: str = setting("box", label="Shape", choices=lambda: {"box": "Box", "ball": "Ball"},
                         aliases={"cube": "box"})  # fmt: skip
    loud: bool = setting(False, label="Loud")
    note: str = "not a setting"


def test_a_declared_config_validates_every_setting_naming_value_and_range() -> None:
    assert Toy() == Toy(size=4, rate=0.5, shape="box", loud=False)
    for kwargs, message in [
        ({"size": 0}, "size=0 must be between 1 and 8"),
        ({"size": 2.5}, "size=2.5 must be a whole number between 1 and 8"),
        ({"size": True}, "size=True must be a number between 1 and 8"),
        ({"rate": float("nan")}, "rate=nan must be between 0 and 1"),
        ({"shape": "star"}, "shape='star' is not one of ['box', 'ball']"),
        ({"loud": 1}, "loud=1 must be True or False"),
    ]:
        with pytest.raises(ValueError) as error:
            Toy(**kwargs)  # type: ignore[arg-type]
        assert str(error.value) == message


def test_values_are_normalised_once_aliases_resolved_and_ints_made_floats() -> None:
    toy = Toy(rate=1, shape="cube", size=8.0)  # type: ignore[arg-type]
    assert toy.rate == 1.0 and isinstance(toy.rate, float)
    assert toy.size == 8 and isinstance(toy.size, int) and toy.shape == "box"
    assert Toy.from_dict(toy.to_dict()) == toy
    with pytest.raises(ValueError, match=r"unknown Toy fields \['colour'\]"):
        Toy.from_dict({"colour": "red"})


def test_declarations_carry_what_widgets_urls_and_flags_need() -> None:
    found = dict(declared(Toy))
    assert list(found) == ["size", "rate", "shape", "loud"]  # `note` is no setting
    assert found["size"].url == "size" and found["size"].flag == "size"
    assert found["rate"].kind == "float" and found["rate"].step == 0.1
    assert found["shape"].kind == "choice" and dict(found["shape"].options())["ball"] == "Ball"
    assert check_value("shape", found["shape"], "cube") == "box"
    with pytest.raises(TypeError, match="numbers need both low and high"):
        setting(1, label="Unbounded")


@pytest.mark.parametrize("cls", [ModelConfig, DataConfig, TrainConfig])
def test_every_run_setting_has_a_label_a_column_and_a_link_key(cls: type) -> None:
    for name, s in declared(cls):
        if name == "num_classes":  # set by the dataset, never by a person
            assert s.url is None and s.flag is None
            continue
        assert s.label and s.group and s.url and s.flag, name
