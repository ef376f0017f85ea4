"""Type names and displayed defaults of variables."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
from pathlib import Path
from typing import Annotated, Any, Literal, NewType

import pytest
from pydantic import Field, SecretBytes, SecretStr, create_model

from lbtoolkit.config import ConfigController, Variable, env


class Color(enum.Enum):
    RED = "red"


UserId = NewType("UserId", int)


def describe(annotation: Any, **options: Any) -> Variable:
    model = create_model("Cfg", value=(annotation, env("VALUE", **options)))
    controller = ConfigController()
    controller.parse(model)
    return controller.variables()[0]


@pytest.mark.parametrize(
    ("annotation", "name"),
    [
        (str, "str"),
        (int, "int"),
        (dt.timedelta, "duration"),
        (list[int], "list[int]"),
        (dict[str, dt.timedelta], "dict[str, duration]"),
        (tuple[int, ...], "tuple[int, ...]"),
        (int | None, "int | None"),
        (int | str | None, "int | str | None"),
        (int | str, "int | str"),
        (Literal["a", "b"], "'a' | 'b'"),
        (Annotated[int, Field(gt=0)], "int"),
        (Color, "Color"),
        (SecretStr, "SecretStr"),
        (Path, "Path"),
        (None, "None"),
        (Any, "Any"),
        (UserId, "UserId"),
    ],
)
def test_type_names(annotation: Any, name: str) -> None:
    assert describe(annotation, default=None).type_name == name


@pytest.mark.parametrize(
    ("annotation", "default", "shown"),
    [
        (int | None, None, ""),
        (bool, True, "true"),
        (bool, False, "false"),
        (float, 0.5, "0.5"),
        (Color, Color.RED, "red"),
        (dict[str, int], {"a": 1, "b": 2}, "a:1,b:2"),
        (set[str], {"b", "a"}, "a,b"),
        (tuple[int, ...], (1, 2), "1,2"),
        (list[dt.timedelta], [dt.timedelta(seconds=1)], "1s"),
        (Path, Path("/srv"), "/srv"),
        (decimal.Decimal, decimal.Decimal("1.10"), "1.10"),
        (SecretStr, SecretStr("pw"), "******"),
        (SecretBytes, SecretBytes(b"pw"), "******"),
        (SecretStr, "pw", "******"),
        (list[SecretStr], ["a"], "******"),
    ],
)
def test_defaults_show_as_environment_text(annotation: Any, default: Any, shown: str) -> None:
    variable = describe(annotation, default=default)
    assert variable.default == shown
    assert variable.required is False


def test_a_default_factory_that_needs_data_shows_no_default() -> None:
    model = create_model(
        "Cfg",
        base=(int, 1),
        value=(int, Field(default_factory=lambda data: data["base"] + 1)),
    )
    controller = ConfigController()
    assert vars(controller.parse(model))["value"] == 2
    assert [(v.name, v.default, v.required) for v in controller.variables()] == [
        ("BASE", "1", False),
        ("VALUE", "", False),
    ]


def test_an_unknown_type_without_value_is_none() -> None:
    model = create_model("Cfg", value=(decimal.Decimal, env("VALUE")))
    controller = ConfigController()
    assert vars(controller.parse(model))["value"] is None
