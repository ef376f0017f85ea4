"""Path templates: the grammar of google.api.http and the decoding of matched values."""

from __future__ import annotations

import pytest

from lbtoolkit.server import PathTemplate, PathVariable
from lbtoolkit.server.http import PathTemplateError, parse_template
from lbtoolkit.server.http._template import decode_value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/", PathTemplate(())),
        ("/v1/users", PathTemplate(("v1", "users"))),
        ("/v1/users/{id}", PathTemplate(("v1", "users", PathVariable("id")))),
        ("/v1/{user.id}", PathTemplate(("v1", PathVariable("user.id")))),
        (
            "/v1/{name=messages/*}",
            PathTemplate(("v1", PathVariable("name", ("messages", "*")))),
        ),
        (
            "/v1/{name=projects/*/users/*}:undelete",
            PathTemplate(("v1", PathVariable("name", ("projects", "*", "users", "*"))), "undelete"),
        ),
        ("/v1/{path=**}", PathTemplate(("v1", PathVariable("path", ("**",))))),
        ("/v1/*/items", PathTemplate(("v1", "*", "items"))),
        ("/v1/users:search", PathTemplate(("v1", "users"), "search")),
        (
            "/v1/messages/{message_id}/{sub.subfield}",
            PathTemplate(
                ("v1", "messages", PathVariable("message_id"), PathVariable("sub.subfield"))
            ),
        ),
    ],
)
def test_parse_template(text: str, expected: PathTemplate) -> None:
    template = parse_template(text)
    assert template == expected
    assert str(template) == text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("v1/users", "it must start with '/'"),
        ("/v1//users", "empty path segment"),
        ("/v1/{id", "unbalanced braces"),
        ("/v1/{a={b}}", "a variable must not contain another variable"),
        ("/v1/x{id}", "invalid segment 'x{id}'"),
        ("/v1/{1id}", "invalid field path '1id'"),
        ("/v1/{name=**}/tail", "'**' must be the last segment"),
        ("/v1/users:", "invalid verb ''"),
    ],
)
def test_parse_template_rejects_with_reason(text: str, reason: str) -> None:
    with pytest.raises(PathTemplateError) as raised:
        parse_template(text)
    assert str(raised.value) == f"invalid path template {text!r}: {reason}"


def test_single_segment_values_are_fully_decoded() -> None:
    assert decode_value("a%2Fb%20c", multi_segment=False) == "a/b c"


def test_multi_segment_values_keep_escaped_slashes() -> None:
    assert decode_value("shelves/a%2Fb%20c", multi_segment=True) == "shelves/a%2Fb c"
    assert decode_value("plain/value", multi_segment=True) == "plain/value"
