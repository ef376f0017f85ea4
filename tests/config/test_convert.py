"""Every supported type, from the text of an environment variable."""

from __future__ import annotations

import datetime as dt
import enum
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field, SecretStr, create_model, field_validator

from lbtoolkit.config import ConfigController, env


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


def parse_one(annotation: Any, text: str | None, **options: Any) -> tuple[Any, list[str]]:
    """Parse a one-field model read from ``SVC_VALUE``; return value and messages."""
    model = create_model("Cfg", value=(annotation, env("VALUE", **options)))
    environ = {} if text is None else {"SVC_VALUE": text}
    controller = ConfigController("svc", environ)
    parsed = controller.parse(model)
    messages = [f"{issue.variable}: {issue.message}" for issue in controller.issues]
    return vars(parsed)["value"], messages


@pytest.mark.parametrize(
    ("annotation", "text", "expected"),
    [
        (str, "hello world", "hello world"),
        (str, "", ""),
        (int, "42", 42),
        (int, " -7 ", -7),
        (float, "1.5", 1.5),
        (float, "3", 3.0),
        (bool, "true", True),
        (bool, "FALSE", False),
        (bool, "1", True),
        (bool, "0", False),
        (bool, "Yes", True),
        (bool, "no", False),
        (bool, "on", True),
        (bool, "Off", False),
        (dt.timedelta, "300ms", dt.timedelta(milliseconds=300)),
        (dt.timedelta, "5s", dt.timedelta(seconds=5)),
        (dt.timedelta, "1h30m", dt.timedelta(hours=1, minutes=30)),
        (dt.timedelta, "2h45m10.5s", dt.timedelta(hours=2, minutes=45, seconds=10.5)),
        (dt.timedelta, "1us", dt.timedelta(microseconds=1)),
        (dt.timedelta, "1\u00b5s", dt.timedelta(microseconds=1)),
        (dt.timedelta, "1500ns", dt.timedelta(microseconds=2)),
        (dt.timedelta, "30", dt.timedelta(seconds=30)),
        (dt.timedelta, "1.5", dt.timedelta(seconds=1.5)),
        (dt.timedelta, "-1m", dt.timedelta(minutes=-1)),
        (list[str], "a, b ,c", ["a", "b", "c"]),
        (list[str], "", []),
        (list[int], "1,2,3", [1, 2, 3]),
        (list[dt.timedelta], "1s, 2m", [dt.timedelta(seconds=1), dt.timedelta(minutes=2)]),
        (tuple[int, ...], "4,5", (4, 5)),
        (tuple[int, str], "4,x", (4, "x")),
        (set[str], "b,a,b", {"a", "b"}),
        (dict[str, int], "a:1, b : 2", {"a": 1, "b": 2}),
        (dict[str, str], "url:http://x:80", {"url": "http://x:80"}),
        (dict[str, int], "", {}),
        (int | None, "", None),
        (int | None, "5", 5),
        (str | None, "", None),
        (Color, "green", Color.GREEN),
        (Color, "RED", Color.RED),
        (Level, "2", Level.HIGH),
        (Literal["debug", "info"], "info", "info"),
        (Literal[1, 2], "2", 2),
        (Path, "/etc/app.yaml", Path("/etc/app.yaml")),
        (int | str, "7", "7"),
    ],
)
def test_valid_text_becomes_a_typed_value(annotation: Any, text: str, expected: Any) -> None:
    value, messages = parse_one(annotation, text)
    assert messages == []
    assert value == expected
    assert type(value) is type(expected)


def test_secret_str_is_wrapped() -> None:
    value, messages = parse_one(SecretStr, "s3cr3t")
    assert messages == []
    assert isinstance(value, SecretStr)
    assert value.get_secret_value() == "s3cr3t"


Positive = Annotated[int, Field(gt=0)]


@pytest.mark.parametrize(
    ("annotation", "text", "message"),
    [
        (int, "abc", "'abc' is not a valid integer"),
        (int, "1.5", "'1.5' is not a valid integer"),
        (int, "", "'' is not a valid integer"),
        (float, "x", "'x' is not a valid number"),
        (bool, "x", "'x' is not a valid boolean (use true/false)"),
        (bool, "", "'' is not a valid boolean (use true/false)"),
        (dt.timedelta, "1q", "'1q' is not a valid duration (examples: 300ms, 5s, 1h30m)"),
        (dt.timedelta, "h", "'h' is not a valid duration (examples: 300ms, 5s, 1h30m)"),
        (dt.timedelta, "", "'' is not a valid duration (examples: 300ms, 5s, 1h30m)"),
        (dt.timedelta, "1h 30m", "'1h 30m' is not a valid duration (examples: 300ms, 5s, 1h30m)"),
        (list[int], "1,x", "item 2: 'x' is not a valid integer"),
        (list[Positive], "1,-1", "item 2: -1 is out of range (over 0)"),
        (dict[str, int], "a", "'a' is not a key:value pair (example: a:1,b:2)"),
        (dict[str, int], "a:x", "key 'a': 'x' is not a valid integer"),
        (dict[str, Positive], "a:0", "key 'a': 0 is out of range (over 0)"),
        (dict[int, Positive], "7:0", "key 7: 0 is out of range (over 0)"),
        (int | None, "x", "'x' is not a valid integer"),
        (Color, "blue", "'blue' is not one of red, green"),
        (Literal["debug", "info"], "trace", "'trace' is not one of debug, info"),
        (Positive, "0", "0 is out of range (over 0)"),
        (tuple[int, str], "1", "item 2: Field required"),
    ],
)
def test_invalid_text_is_an_issue_with_the_full_name(
    annotation: Any, text: str, message: str
) -> None:
    value, messages = parse_one(annotation, text, default=None)
    assert messages == [f"SVC_VALUE: {message}"]
    assert value is None


def test_constraints_from_field_apply() -> None:
    class Limits(BaseModel):
        port: int = Field(default=80, gt=0, lt=65536)

    controller = ConfigController("svc", {"SVC_PORT": "70000"})
    limits = controller.parse(Limits)
    assert [str(issue) for issue in controller.issues] == [
        "SVC_PORT: 70000 is out of range (over 0, under 65536)"
    ]
    assert limits.port == 80


def test_field_validators_run() -> None:
    class Named(BaseModel):
        name: str = env("NAME", default="x")

        @field_validator("name")
        @classmethod
        def lower(cls, value: str) -> str:
            if " " in value:
                msg = "no spaces allowed"
                raise ValueError(msg)
            return value.lower()

    controller = ConfigController("", {"NAME": "ABC"})
    assert controller.parse(Named).name == "abc"
    controller = ConfigController("", {"NAME": "a b"})
    controller.parse(Named)
    assert [str(issue) for issue in controller.issues] == ["NAME: no spaces allowed"]


@pytest.mark.parametrize(
    ("annotation", "default", "expected"),
    [
        (dt.timedelta, "1h30m", dt.timedelta(hours=1, minutes=30)),
        (dt.timedelta, dt.timedelta(seconds=3), dt.timedelta(seconds=3)),
        (int, "5432", 5432),
        (bool, "true", True),
        (list[int], "1,2", [1, 2]),
        (dict[str, int], "a:1", {"a": 1}),
        (Color, "green", Color.GREEN),
        (str | None, "", ""),
        (int | None, None, None),
        (str, "5s", "5s"),
        (SecretStr, "pw", SecretStr("pw")),
        (Path, "/srv", Path("/srv")),
        (Literal[1, 2], "2", 2),
        (int | str, "7", "7"),
    ],
)
def test_defaults_apply_and_text_defaults_are_converted(
    annotation: Any, default: Any, expected: Any
) -> None:
    value, messages = parse_one(annotation, None, default=default)
    assert messages == []
    assert value == expected


def test_an_invalid_text_default_is_reported() -> None:
    value, messages = parse_one(dt.timedelta, None, default="soon")
    assert messages == [
        "SVC_VALUE: default value: 'soon' is not a valid duration (examples: 300ms, 5s, 1h30m)"
    ]
    assert value == dt.timedelta(0)


def test_default_factory_is_used() -> None:
    class Lists(BaseModel):
        hosts: list[str] = Field(default_factory=lambda: ["a", "b"])

    controller = ConfigController()
    assert controller.parse(Lists).hosts == ["a", "b"]
    assert controller.variables()[0].default == "a,b"


@pytest.mark.parametrize(
    ("annotation", "zero"),
    [
        (str, ""),
        (int, 0),
        (float, 0.0),
        (bool, False),
        (dt.timedelta, dt.timedelta(0)),
        (list[int], []),
        (set[int], set()),
        (frozenset[int], frozenset()),
        (tuple[int, ...], ()),
        (dict[str, int], {}),
        (int | None, None),
        (Path, Path()),
        (Color, Color.RED),
        (Literal["a", "b"], "a"),
        (bytes, b""),
        (int | str, None),
    ],
)
def test_a_missing_required_value_gets_the_zero_value(annotation: Any, zero: Any) -> None:
    value, messages = parse_one(annotation, None)
    assert messages == ["SVC_VALUE: required environment variable not set"]
    assert value == zero


def test_a_missing_required_secret_is_an_empty_secret() -> None:
    value, _ = parse_one(SecretStr, None)
    assert isinstance(value, SecretStr)
    assert value.get_secret_value() == ""
