"""What an implementation reads from the context of a gRPC call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import lbtoolkit
from lbtoolkit.server import RequestContext
from lbtoolkit.server.grpc import Handler
from lbtoolkit.testing import open_service
from tests.server.grpc.support import GreeterKit, GreeterService, channel


class Seen(list[RequestContext]):
    pass


class Events(list[str]):
    pass


class User:
    def __init__(self, name: str) -> None:
        self.name = name


def _app(greeter: GreeterKit, seen: Seen, events: Events | None = None) -> lbtoolkit.Service:
    events = Events() if events is None else events
    app = greeter.new_app(set_service=False)

    class Greeter(GreeterService):
        pb2 = greeter.pb2

        async def say_hello(self, request: Any, context: RequestContext) -> Any:
            seen.append(context)
            if request.name == "user":
                user = await context.get(User)
                return greeter.pb2.HelloReply(message=user.name)
            return await super().say_hello(request, context)

    async def user_of(context: RequestContext) -> AsyncIterator[User]:
        name = context.metadata.get("x-user", "anonymous")
        events.append(f"open {name}")
        yield User(name)
        events.append("close")

    app.provide(lambda: seen, provides=Seen)
    app.provide(user_of, scope=lbtoolkit.Scope.REQUEST)
    app.server.set_service(Greeter)
    return app


async def test_the_context_carries_the_call(greeter: GreeterKit) -> None:
    seen = Seen()
    app = _app(greeter, seen)
    async with open_service(app), channel(app) as ch:
        metadata = (("x-user", "ada"), ("x-trace-bin", b"\x00\x01"))
        reply = await greeter.stub(ch).SayHello(
            greeter.pb2.HelloRequest(name="user"), metadata=metadata
        )
    assert reply.message == "ada"
    [context] = seen
    assert context.transport == "grpc"
    assert context.method == "/lbtest.greeter.Greeter/SayHello"
    assert context.peer is not None
    assert context.peer.startswith("ipv4:127.0.0.1:")
    assert context.metadata["x-user"] == "ada"
    assert "x-trace-bin" not in context.metadata  # binary values stay out of the text view
    assert context.raw is not None
    assert isinstance(context, RequestContext)


async def test_a_context_copied_with_replace_keeps_the_call_and_its_scope(
    greeter: GreeterKit,
) -> None:
    """An interceptor may hand the implementation a changed copy of the context."""
    seen, events = Seen(), Events()
    app = _app(greeter, seen, events)

    class Impersonate:
        async def intercept(self, request: Any, context: RequestContext, handler: Handler) -> Any:
            changed = context.replace(metadata={"x-user": "grace"})
            return await handler(request, changed)

    app.server.grpc.set_interceptor(Impersonate)
    async with open_service(app), channel(app) as ch:
        reply = await greeter.stub(ch).SayHello(
            greeter.pb2.HelloRequest(name="user"), metadata=(("x-user", "ada"),)
        )
    [context] = seen
    assert context.metadata == {"x-user": "grace"}
    assert context.method == "/lbtest.greeter.Greeter/SayHello"
    assert context.transport == "grpc"
    # The copy shares the call's request scope, closed with the call; its
    # factories see the context the call began with.
    assert reply.message == "ada"
    assert events == ["open ada", "close"]


async def test_each_call_has_a_context_of_its_own(greeter: GreeterKit) -> None:
    seen = Seen()
    app = _app(greeter, seen)
    async with open_service(app), channel(app) as ch:
        for name in ("ada", "grace"):
            await greeter.stub(ch).SayHello(
                greeter.pb2.HelloRequest(name="x"), metadata=(("x-user", name),)
            )
    first, second = seen
    assert first is not second
    assert [c.metadata["x-user"] for c in seen] == ["ada", "grace"]
    assert first.method == second.method == "/lbtest.greeter.Greeter/SayHello"
    assert type(first) is type(second) is RequestContext
    assert repr(first) == (
        "RequestContext(method='/lbtest.greeter.Greeter/SayHello', transport='grpc', "
        f"peer={first.peer!r})"
    )
    assert first != second
