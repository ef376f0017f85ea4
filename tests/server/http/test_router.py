"""The router: static paths, one alternation per method, specificity, 405."""

from __future__ import annotations

import pytest

from lbtoolkit.server.http import HttpRouteError
from lbtoolkit.server.http._router import Router
from lbtoolkit.spec import PathTemplate

pytestmark = pytest.mark.no_engine  # no server starts: the engine cannot matter


def router(*routes: tuple[str, str]) -> Router[str]:
    table: Router[str] = Router()
    for method, path in routes:
        table.add(method, PathTemplate.parse(path), f"{method} {path}", label=f"{method} {path}")
    return table


def test_static_and_variable_routes() -> None:
    table = router(("GET", "/v1/users"), ("GET", "/v1/users/{id}"))
    found = table.match("GET", "/v1/users")
    assert found is not None
    assert found[0].target == "GET /v1/users"
    assert found[1] == ()
    found = table.match("GET", "/v1/users/42")
    assert found is not None
    assert found[0].target == "GET /v1/users/{id}"
    assert found[1] == ("42",)


def test_variables_come_back_in_template_order_for_each_alternative() -> None:
    table = router(
        ("GET", "/v1/messages/{message_id}"),
        ("GET", "/v1/users/{user_id}/messages/{message_id}"),
        ("GET", "/v1/{name=projects/*/users/*}"),
    )
    found = table.match("GET", "/v1/users/me/messages/123")
    assert found is not None
    assert found[0].target == "GET /v1/users/{user_id}/messages/{message_id}"
    assert found[0].params(found[1]) == {"user_id": "me", "message_id": "123"}
    found = table.match("GET", "/v1/projects/p1/users/u2")
    assert found is not None
    assert found[0].params(found[1]) == {"name": "projects/p1/users/u2"}


def test_verbs_and_literals_win_over_wider_templates() -> None:
    table = router(
        ("POST", "/v1/{name=**}"),
        ("POST", "/v1/things/{id}"),
        ("POST", "/v1/things/{id}:cancel"),
    )
    matches = {
        path: found[0].target
        for path in ("/v1/things/7:cancel", "/v1/things/7", "/v1/other/deep/path")
        if (found := table.match("POST", path)) is not None
    }
    assert matches == {
        "/v1/things/7:cancel": "POST /v1/things/{id}:cancel",
        "/v1/things/7": "POST /v1/things/{id}",
        "/v1/other/deep/path": "POST /v1/{name=**}",
    }


def test_the_root_is_a_static_route() -> None:
    table = router(("GET", "/"))
    found = table.match("GET", "/")
    assert found is not None
    assert found[0].target == "GET /"


def test_no_match_and_allowed_methods() -> None:
    table = router(("GET", "/v1/users/{id}"), ("DELETE", "/v1/users/{id}"), ("GET", "/v1/x"))
    assert table.match("POST", "/v1/users/1") is None
    assert table.match("GET", "/v1/users/1/extra") is None
    # HEAD is answered by the GET route, so it is allowed wherever GET is.
    assert table.allowed_methods("/v1/users/1") == ["DELETE", "GET", "HEAD"]
    assert table.allowed_methods("/v1/x") == ["GET", "HEAD"]
    assert table.allowed_methods("/nowhere") == []


def test_a_variable_does_not_match_an_empty_segment() -> None:
    table = router(("GET", "/v1/users/{id}"))
    assert table.match("GET", "/v1/users/") is None


def test_the_same_method_and_template_twice_is_refused() -> None:
    table = router(("GET", "/v1/users/{id}"))
    with pytest.raises(HttpRouteError) as raised:
        table.add("get", PathTemplate.parse("/v1/users/{id}"), "again", label="GET again")
    assert str(raised.value) == (
        "HTTP route GET again: GET /v1/users/{id} is already taken by GET /v1/users/{id}. "
        "Hint: give one of them another path"
    )
