"""Path templates: the grammar of google.api.http, its regular expressions, decoding."""

from __future__ import annotations

import re

import pytest

from lbtoolkit.spec import PathTemplate, PathTemplateError, PathVariable

LITERAL_TEXT = "letters, digits, %XX escapes and -._~!$&'()+,;@"


def match(template: PathTemplate, path: str) -> dict[str, str] | None:
    """The raw values of ``template``'s variables in ``path``, or ``None``."""
    found = re.fullmatch(template.pattern, path)
    return None if found is None else dict(zip(template.variables, found.groups(), strict=True))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/", PathTemplate(())),
        ("/v1/users", PathTemplate(("v1", "users"))),
        ("/v1/users/{id}", PathTemplate(("v1", "users", PathVariable("id")))),
        ("/v1/{user.id}", PathTemplate(("v1", PathVariable("user.id")))),
        ("/v1/{name=messages/*}", PathTemplate(("v1", PathVariable("name", ("messages", "*"))))),
        (
            "/v1/{name=shelves/*/books/*}",
            PathTemplate(("v1", PathVariable("name", ("shelves", "*", "books", "*")))),
        ),
        (
            "/v1/{name=projects/*/users/*}:undelete",
            PathTemplate(("v1", PathVariable("name", ("projects", "*", "users", "*"))), "undelete"),
        ),
        (
            "/v1/{name=shelves/*}/books/{book.id}:get",
            PathTemplate(
                ("v1", PathVariable("name", ("shelves", "*")), "books", PathVariable("book.id")),
                "get",
            ),
        ),
        ("/v1/{path=**}", PathTemplate(("v1", PathVariable("path", ("**",))))),
        ("/v1/**", PathTemplate(("v1", "**"))),
        ("/v1/*/items", PathTemplate(("v1", "*", "items"))),
        ("/v1/users:search", PathTemplate(("v1", "users"), "search")),
        (
            "/v1/operations/{name}:cancel",
            PathTemplate(("v1", "operations", PathVariable("name")), "cancel"),
        ),
        ("/:ping", PathTemplate((), "ping")),
        (
            "/v1/messages/{message_id}/{sub.subfield}",
            PathTemplate(
                ("v1", "messages", PathVariable("message_id"), PathVariable("sub.subfield"))
            ),
        ),
        # Every character a literal may hold: RFC 3986 pchar but ":", "*" and "=".
        ("/v1.0/a+b/~me/x-y_z", PathTemplate(("v1.0", "a+b", "~me", "x-y_z"))),
        ("/!$&'()+,;@", PathTemplate(("!$&'()+,;@",))),
        ("/caf%C3%A9:re%2Fdo", PathTemplate(("caf%C3%A9",), "re%2Fdo")),
    ],
)
def test_parse_gives_the_structure_and_prints_back(text: str, expected: PathTemplate) -> None:
    template = PathTemplate.parse(text)
    assert template == expected
    assert str(template) == text


def test_a_single_wildcard_pattern_is_the_plain_variable() -> None:
    assert PathTemplate.parse("/v1/{id=*}") == PathTemplate.parse("/v1/{id}")
    assert str(PathTemplate.parse("/v1/{id=*}")) == "/v1/{id}"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", 'it must start with "/"'),
        ("v1/users", 'it must start with "/"'),
        ("/users/{id", '"{" is not closed'),
        ("/users/{id}}", '"}" without "{"'),
        ("/a/{id={inner.name}}", "variables cannot nest"),
        ("/files/**/name", '"**" may only be the last segment'),
        ("/v1/{name=**}/tail", '"**" may only be the last segment'),
        ("/users//x", "it has an empty segment"),
        ("/users/", "it has an empty segment"),
        ("/v1/{name=}", "it has an empty segment"),
        ("/v1/{name=a//b}", "it has an empty segment"),
        ("/users/x{id}", "a variable must be a whole segment"),
        ("/v1/{1id}", 'invalid field path "1id"'),
        ("/a/{b c}", 'invalid field path "b c"'),
        ("/v1/{}", 'invalid field path ""'),
        ("/users/{id}/{id}", 'it binds "id" twice'),
        ("/users:", f'invalid verb ":"; a verb has {LITERAL_TEXT} only'),
        ("/users:a b", f'invalid verb ":a b"; a verb has {LITERAL_TEXT} only'),
        ("/users:a:b", f'invalid segment "users:a"; a literal has {LITERAL_TEXT} only'),
        ("/a b", f'invalid segment "a b"; a literal has {LITERAL_TEXT} only'),
        ("/a*b", f'invalid segment "a*b"; a literal has {LITERAL_TEXT} only'),
        ("/a=b", f'invalid segment "a=b"; a literal has {LITERAL_TEXT} only'),
        ("/a:b/c", f'invalid segment "a:b"; a literal has {LITERAL_TEXT} only'),
        ("/a?b", f'invalid segment "a?b"; a literal has {LITERAL_TEXT} only'),
        ("/a#b", f'invalid segment "a#b"; a literal has {LITERAL_TEXT} only'),
        ("/%zz", f'invalid segment "%zz"; a literal has {LITERAL_TEXT} only'),
        ("/100%", f'invalid segment "100%"; a literal has {LITERAL_TEXT} only'),
        ("/café", f'invalid segment "café"; a literal has {LITERAL_TEXT} only'),
        ("/v1/{name=shelves/a b}", f'invalid segment "a b"; a literal has {LITERAL_TEXT} only'),
    ],
)
def test_parse_refuses_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(PathTemplateError) as raised:
        PathTemplate.parse(text)
    assert str(raised.value) == f'path template "{text}": {reason}'
    assert (raised.value.template, raised.value.reason) == (text, reason)


@pytest.mark.parametrize(
    ("text", "path", "variables"),
    [
        ("/", "/", {}),
        ("/hello", "/hello", {}),
        ("/v1/users/{user_id}", "/v1/users/42", {"user_id": "42"}),
        (
            "/v1/users/{user_id}/pages/{page.number}",
            "/v1/users/7/pages/3",
            {"user_id": "7", "page.number": "3"},
        ),
        ("/v1/{name=shelves/*/books/*}", "/v1/shelves/s/books/b", {"name": "shelves/s/books/b"}),
        ("/files/{path=**}", "/files/a/b/c.txt", {"path": "a/b/c.txt"}),
        ("/v1/{user_id=users/*}:lookup", "/v1/users/9:lookup", {"user_id": "users/9"}),
        ("/v1/*/items", "/v1/anything/items", {}),
        ("/v1/**", "/v1/a/b", {}),
        ("/v1/things:cancel", "/v1/things:cancel", {}),
        ("/v1.0/a+b", "/v1.0/a+b", {}),
        ("/v1/{id}", "/v1/a%2Fb", {"id": "a%2Fb"}),
    ],
)
def test_pattern_matches_and_captures_raw_values(
    text: str, path: str, variables: dict[str, str]
) -> None:
    assert match(PathTemplate.parse(text), path) == variables


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("/v1/users/{user_id}", "/v1/users/42/extra"),
        ("/v1/users/{user_id}", "/v1/users/"),
        ("/v1/{name=shelves/*}", "/v1/shelves/a/b"),
        ("/v1/{name=shelves/*}", "/v1/racks/a"),
        ("/v1/things:cancel", "/v1/things"),
        ("/v1/things", "/v1/things:cancel"),
        ("/hello", "/hello/"),
        ("/files/{path=**}", "/files/"),
        # Literals are text, not patterns.
        ("/v1.0/a+b", "/v1x0/aab"),
        ("/(a)", "/a"),
    ],
)
def test_pattern_refuses_other_paths(text: str, path: str) -> None:
    assert match(PathTemplate.parse(text), path) is None


def test_precedence_puts_verbs_then_literals_first_and_double_wildcards_last() -> None:
    texts = ["/v1/{path=**}", "/v1/*/items", "/v1/{name}", "/v1/users/{id}", "/v1/{name}:cancel"]
    ordered = sorted((PathTemplate.parse(t) for t in texts), key=lambda t: t.precedence)
    assert [str(t) for t in ordered] == [
        "/v1/{name}:cancel",
        "/v1/*/items",
        "/v1/users/{id}",
        "/v1/{name}",
        "/v1/{path=**}",
    ]


@pytest.mark.parametrize(
    ("text", "literal"),
    [("/", True), ("/v1/users:search", True), ("/v1/*", False), ("/v1/{id}", False)],
)
def test_is_literal_when_exactly_one_path_matches(text: str, literal: bool) -> None:
    assert PathTemplate.parse(text).is_literal is literal


def test_single_segment_values_are_fully_decoded() -> None:
    assert PathVariable("id").decode("a%2Fb%20c") == "a/b c"


def test_multi_segment_values_keep_escaped_slashes() -> None:
    variable = PathVariable("name", ("shelves", "*"))
    assert variable.decode("shelves/a%2Fb%20c") == "shelves/a%2Fb c"
    assert variable.decode("plain/value") == "plain/value"
