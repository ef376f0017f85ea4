"""Go-style duration text, both ways."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import BaseModel

from lbtoolkit.config import ConfigController, env


class Timeouts(BaseModel):
    value: dt.timedelta = env("VALUE", default=dt.timedelta(0))


def shown(default: dt.timedelta) -> str:
    """The default column for a duration default."""

    class Model(BaseModel):
        value: dt.timedelta = env("VALUE", default=default)

    controller = ConfigController()
    controller.parse(Model)
    return controller.variables()[0].default


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (dt.timedelta(0), "0s"),
        (dt.timedelta(microseconds=1), "1us"),
        (dt.timedelta(microseconds=1500), "1500us"),
        (dt.timedelta(milliseconds=300), "300ms"),
        (dt.timedelta(seconds=5), "5s"),
        (dt.timedelta(seconds=1.5), "1.5s"),
        (dt.timedelta(minutes=1), "1m"),
        (dt.timedelta(hours=1, minutes=30), "1h30m"),
        (dt.timedelta(hours=1, seconds=1), "1h1s"),
        (dt.timedelta(hours=2, minutes=45, seconds=10.5), "2h45m10.5s"),
        (dt.timedelta(days=2), "48h"),
        (dt.timedelta(seconds=-90), "-1m30s"),
        (dt.timedelta(milliseconds=-5), "-5ms"),
    ],
)
def test_duration_defaults_show_in_go_syntax_and_read_back(value: dt.timedelta, text: str) -> None:
    assert shown(value) == text
    controller = ConfigController("", {"VALUE": text})
    assert controller.parse(Timeouts).value == value
    assert controller.issues == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("+5s", dt.timedelta(seconds=5)),
        (".5s", dt.timedelta(milliseconds=500)),
        ("1.s", dt.timedelta(seconds=1)),
        ("1h1h", dt.timedelta(hours=2)),
        ("0", dt.timedelta(0)),
        ("1\u03bcs", dt.timedelta(microseconds=1)),
    ],
)
def test_other_spellings_go_accepts(text: str, value: dt.timedelta) -> None:
    controller = ConfigController("", {"VALUE": text})
    assert controller.parse(Timeouts).value == value
    assert controller.issues == []


@pytest.mark.parametrize("text", ["5S", "5 s", "1d", "s", "-", "1h-1m", "nan", "inf"])
def test_spellings_go_rejects_are_invalid(text: str) -> None:
    controller = ConfigController("", {"VALUE": text})
    controller.parse(Timeouts)
    assert [str(issue) for issue in controller.issues] == [
        f"VALUE: {text!r} is not a valid duration (examples: 300ms, 5s, 1h30m)"
    ]


def test_a_duration_too_large_is_invalid() -> None:
    controller = ConfigController("", {"VALUE": "999999999999h"})
    controller.parse(Timeouts)
    assert [str(issue) for issue in controller.issues] == [
        "VALUE: '999999999999h' is not a valid duration (examples: 300ms, 5s, 1h30m)"
    ]
