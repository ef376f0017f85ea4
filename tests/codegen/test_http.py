"""Path templates: parsed at generate time, matched by the tables at run time."""

from __future__ import annotations

import pytest

from lbtoolkit.codegen._http import RuleError, Template, Variable, parse_template
from lbtoolkit.server import PathTemplate, PathVariable


def to_spec(template: Template) -> PathTemplate:
    """What the generated table holds for ``template``."""
    segments = tuple(
        PathVariable(s.field_path, s.segments) if isinstance(s, Variable) else s
        for s in template.segments
    )
    return PathTemplate(segments, template.verb)


@pytest.mark.parametrize(
    ("path", "matches", "variables"),
    [
        ("/", "/", {}),
        ("/hello", "/hello", {}),
        ("/v1/users/{user_id}", "/v1/users/42", {"user_id": "42"}),
        (
            "/v1/users/{user_id}/pages/{page.number}",
            "/v1/users/7/pages/3",
            {"user_id": "7", "page.number": "3"},
        ),
        ("/v1/{name=projects/*/books/*}", "/v1/projects/p/books/b", {"name": "projects/p/books/b"}),
        ("/files/{path=**}", "/files/a/b/c.txt", {"path": "a/b/c.txt"}),
        ("/v1/{user_id=users/*}:lookup", "/v1/users/9:lookup", {"user_id": "users/9"}),
        ("/v1/*/items", "/v1/anything/items", {}),
        ("/v1/things:cancel", "/v1/things:cancel", {}),
    ],
)
def test_template_round_trip_and_match(path: str, matches: str, variables: dict[str, str]) -> None:
    template = to_spec(parse_template(path))
    assert str(template) == path
    assert template.match(matches) == variables
    assert template.variables == tuple(variables)


@pytest.mark.parametrize(
    ("path", "other"),
    [
        ("/v1/users/{user_id}", "/v1/users/42/extra"),
        ("/v1/users/{user_id}", "/v1/users/"),
        ("/v1/things:cancel", "/v1/things"),
        ("/hello", "/hello/"),
    ],
)
def test_template_rejects_other_paths(path: str, other: str) -> None:
    assert to_spec(parse_template(path)).match(other) is None


def test_literals_are_not_patterns() -> None:
    template = to_spec(parse_template("/v1.0/a+b"))
    assert template.match("/v1.0/a+b") == {}
    assert template.match("/v1x0/aab") is None


def test_parsed_structure() -> None:
    template = parse_template("/v1/{name=shelves/*}/books/{book.id}:get")
    assert template == Template(
        ("v1", Variable("name", ("shelves", "*")), "books", Variable("book.id")), "get"
    )


@pytest.mark.parametrize("path", ["", "users", "/{", "/a:", "/a/{b c}", "/a b"])
def test_malformed_templates_raise(path: str) -> None:
    with pytest.raises(RuleError):
        parse_template(path)
