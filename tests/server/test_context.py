"""The request context every transport gives implementations."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from dishka import Provider, Scope, make_async_container

from lbtoolkit.server import RequestContext, RequestScope, current_request_context
from lbtoolkit.server._context import CallSite, close_request_scope


def test_request_context_lowers_metadata_keys() -> None:
    context = RequestContext({"X-Request-Id": "1"}, "/demo.Demo/List", "http", "127.0.0.1:5")
    assert dict(context.metadata) == {"x-request-id": "1"}
    assert (context.method, context.transport, context.peer) == (
        "/demo.Demo/List",
        "http",
        "127.0.0.1:5",
    )
    with pytest.raises(TypeError):
        context.metadata["x"] = "y"  # type: ignore[index]  # the misuse under test


def test_a_context_is_read_only() -> None:
    context = RequestContext(method="/demo.Demo/List")
    with pytest.raises(AttributeError):
        context.method = "/demo.Demo/Delete"  # type: ignore[misc]  # the misuse under test


def test_replace_changes_the_fields_given_and_keeps_the_others() -> None:
    raw = object()
    context = RequestContext(
        {"x-user": "ada"}, "/demo.Demo/List", "http", "ipv4:1.2.3.4:5", raw=raw
    )
    copy = context.replace(metadata={"X-User": "grace"}, peer=None)
    assert dict(copy.metadata) == {"x-user": "grace"}
    assert (copy.method, copy.transport, copy.peer, copy.raw) == (
        "/demo.Demo/List",
        "http",
        None,
        raw,
    )
    assert dict(context.metadata) == {"x-user": "ada"}
    moved = context.replace(method="/demo.Demo/Get", transport="websocket", raw=None)
    assert (moved.method, moved.transport, moved.peer, moved.raw) == (
        "/demo.Demo/Get",
        "websocket",
        "ipv4:1.2.3.4:5",
        None,
    )


def test_the_repr_leaves_the_metadata_out() -> None:
    context = RequestContext({"authorization": "Bearer s3cret"}, "/demo.Demo/List", peer="ipv4:h:1")
    assert repr(context) == (
        "RequestContext(method='/demo.Demo/List', transport='grpc', peer='ipv4:h:1')"
    )


def test_a_call_site_context_reads_metadata_and_peer_once_and_only_when_asked() -> None:
    reads: list[str] = []

    def read_metadata(raw: dict[str, str]) -> dict[str, str]:
        reads.append("metadata")
        return raw

    def read_peer(raw: dict[str, str]) -> str:
        reads.append("peer")
        return raw["peer"]

    site = CallSite("/demo.Demo/List", "http", None, read_metadata, read_peer)
    context = site.context({"peer": "ipv4:h:1"})
    assert (context.method, context.transport, context.scope, context.scope_opened) == (
        "/demo.Demo/List",
        "http",
        None,
        False,
    )
    assert reads == []
    assert context.peer == context.peer == "ipv4:h:1"
    assert dict(context.metadata) == dict(context.metadata) == {"peer": "ipv4:h:1"}
    assert reads == ["peer", "metadata"]
    # A peer given when the context is made is never read from the transport.
    assert site.context({}, "ipv4:given:1").peer == "ipv4:given:1"
    assert reads == ["peer", "metadata"]


class User:
    def __init__(self, name: str) -> None:
        self.name = name


class Closed(list[str]):
    pass


def _request_provider(closed: Closed) -> Provider:
    provider = Provider(scope=Scope.REQUEST)
    provider.provide(current_request_context, provides=RequestContext)

    def user_of(context: RequestContext) -> Iterator[User]:
        yield User(context.metadata["x-user"])
        closed.append(context.metadata["x-user"])

    provider.provide(user_of)
    return provider


async def test_a_call_site_scope_opens_on_first_get_and_closes_with_the_call() -> None:
    closed = Closed()
    container = make_async_container(_request_provider(closed))
    try:
        site = CallSite("/demo.Demo/List", "grpc", container, lambda raw: raw)
        context = site.context({"x-user": "ada"}, None)
        assert not context.scope_opened
        user = await context.get(User)
        assert user.name == "ada"
        assert await context.get(User) is user
        # A copy shares the scope; its factories saw the context the call began with.
        copy = context.replace(metadata={"x-user": "grace"})
        assert copy.scope is context.scope
        assert await copy.get(User) is user
        assert context.scope_opened
        await close_request_scope(context, logging.getLogger("test"))
        assert closed == ["ada"]
        assert not context.scope_opened
    finally:
        await container.close()


async def test_a_hand_built_scope_gives_factories_the_context_it_was_built_with() -> None:
    closed = Closed()
    container = make_async_container(_request_provider(closed))
    try:
        context = RequestContext({"X-User": "ada"}, scope=RequestScope(container))
        assert (await context.get(User)).name == "ada"
        await close_request_scope(context, logging.getLogger("test"))
        assert closed == ["ada"]
    finally:
        await container.close()


async def test_a_failing_finalizer_is_logged_with_the_method(
    caplog: pytest.LogCaptureFixture,
) -> None:
    provider = Provider(scope=Scope.REQUEST)

    def broken() -> Iterator[User]:
        yield User("ada")
        raise RuntimeError("rollback failed")

    provider.provide(broken)
    container = make_async_container(provider)
    try:
        context = RequestContext(method="/demo.Demo/List", scope=RequestScope(container))
        await context.get(User)
        with caplog.at_level(logging.ERROR, logger="test"):
            await close_request_scope(context, logging.getLogger("test"))
    finally:
        await container.close()
    assert [r.getMessage() for r in caplog.records] == [
        "closing the request scope of /demo.Demo/List failed"
    ]
    assert not context.scope_opened
