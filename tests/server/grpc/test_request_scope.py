"""Request-scoped dependencies: opened on first use, finalized when the call ends."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

import lbtoolkit
from lbtoolkit.server import NoRequestScopeError, RequestContext
from lbtoolkit.testing import open_service
from tests.server.grpc.support import GreeterKit, GreeterService, channel


class Events(list[str]):
    pass


class Session:
    """A per-request resource, like a database transaction."""

    def __init__(self, user: str) -> None:
        self.user = user


def new_app(greeter: GreeterKit, events: Events) -> lbtoolkit.Service:
    app = greeter.new_app(set_service=False)

    async def open_session(context: RequestContext) -> AsyncIterator[Session]:
        events.append(f"open {context.method}")
        yield Session(context.metadata.get("x-user", "anonymous"))
        events.append("close")

    class Greeter(GreeterService):
        pb2 = greeter.pb2

        async def say_hello(self, request: Any, context: RequestContext) -> Any:
            if request.name == "session":
                session = await context.get(Session)
                again = await context.get(Session)
                events.append(f"same instance: {session is again}")
                return greeter.pb2.HelloReply(message=f"Hello, {session.user}!")
            return await super().say_hello(request, context)

    app.provide(lambda: events, provides=Events)
    app.provide(open_session, scope=lbtoolkit.Scope.REQUEST)
    app.server.set_service(Greeter)
    return app


async def test_scope_opens_on_first_use_and_closes_with_the_call(greeter: GreeterKit) -> None:
    events = Events()
    app = new_app(greeter, events)
    async with open_service(app), channel(app) as ch:
        stub = greeter.stub(ch)
        reply = await stub.SayHello(
            greeter.pb2.HelloRequest(name="session"), metadata=(("x-user", "ada"),)
        )
        assert reply.message == "Hello, ada!"
        assert events == ["open /lbtest.greeter.Greeter/SayHello", "same instance: True", "close"]
        await stub.SayHello(greeter.pb2.HelloRequest(name="plain"))
    assert events[3:] == []  # a call that asks for nothing opens nothing


async def test_each_call_gets_its_own_scope(greeter: GreeterKit) -> None:
    events = Events()
    app = new_app(greeter, events)
    async with open_service(app), channel(app) as ch:
        stub = greeter.stub(ch)
        for user in ("a", "b"):
            reply = await stub.SayHello(
                greeter.pb2.HelloRequest(name="session"), metadata=(("x-user", user),)
            )
            assert reply.message == f"Hello, {user}!"
    assert events.count("close") == 2


async def test_a_failing_finalizer_is_logged_and_the_answer_kept(
    greeter: GreeterKit, caplog: pytest.LogCaptureFixture
) -> None:
    app = greeter.new_app(set_service=False)

    async def broken_session() -> AsyncIterator[Session]:
        yield Session("ada")
        raise RuntimeError("rollback failed")

    class Greeter(GreeterService):
        pb2 = greeter.pb2

        async def say_hello(self, request: Any, context: RequestContext) -> Any:
            session = await context.get(Session)
            return greeter.pb2.HelloReply(message=f"Hello, {session.user}, {request.name}!")

    app.provide(broken_session, scope=lbtoolkit.Scope.REQUEST)
    app.server.set_service(Greeter)
    with caplog.at_level(logging.ERROR, logger="lbtoolkit.server.grpc"):
        async with open_service(app), channel(app) as ch:
            reply = await greeter.stub(ch).SayHello(greeter.pb2.HelloRequest(name="x"))
    assert reply.message == "Hello, ada, x!"
    assert [r.getMessage() for r in caplog.records] == [
        "closing the request scope of /lbtest.greeter.Greeter/SayHello failed"
    ]


async def test_a_context_built_by_hand_has_no_request_scope() -> None:
    with pytest.raises(NoRequestScopeError) as raised:
        await RequestContext().get(Session)
    assert str(raised.value) == (
        "cannot resolve Session: this RequestContext has no request scope\n"
        "Hint: contexts built by hand (in tests) need scope=RequestScope(container)"
    )


def test_metadata_keys_are_lower_cased_for_hand_built_contexts() -> None:
    assert dict(RequestContext({"X-User": "ada"}).metadata) == {"x-user": "ada"}
