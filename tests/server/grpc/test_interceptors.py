"""Interceptors are built by DI and run in registration order, the first outermost."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

import lbtoolkit
from lbtoolkit import errors
from lbtoolkit.server import RequestContext
from lbtoolkit.server.grpc import Handler
from lbtoolkit.testing import open_service
from tests.server.grpc.support import GreeterKit, channel


class Journal(list[str]):
    """What the interceptors saw, shared through DI."""


class First:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    async def intercept(self, request: Any, context: RequestContext, handler: Handler) -> Any:
        self.journal.append(f"first>{context.method}")
        try:
            return await handler(request, context)
        finally:
            self.journal.append("first<")


class Second:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    async def intercept(self, request: Any, context: RequestContext, handler: Handler) -> Any:
        self.journal.append("second>")
        if context.metadata.get("authorization") != "Bearer ok":
            raise errors.Unauthenticated("missing token")
        response = await handler(request, context)
        self.journal.append("second<")
        return response


def new_app(greeter: GreeterKit, journal: Journal) -> lbtoolkit.Service:
    app = greeter.new_app()
    app.provide(lambda: journal, provides=Journal)
    app.server.grpc.set_interceptor(First)
    app.server.grpc.set_interceptor(Second)
    return app


async def test_interceptors_run_in_registration_order(greeter: GreeterKit) -> None:
    journal = Journal()
    app = new_app(greeter, journal)
    async with open_service(app), channel(app) as ch:
        reply = await greeter.stub(ch).SayHello(
            greeter.pb2.HelloRequest(name="Ada"), metadata=(("authorization", "Bearer ok"),)
        )
    assert reply.message == "Hello, Ada!"
    assert journal == ["first>/lbtest.greeter.Greeter/SayHello", "second>", "second<", "first<"]


async def test_an_interceptor_refuses_with_a_status_error(greeter: GreeterKit) -> None:
    journal = Journal()
    app = new_app(greeter, journal)
    async with open_service(app), channel(app) as ch:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await greeter.stub(ch).SayHello(greeter.pb2.HelloRequest(name="Ada"))
    assert raised.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert journal == ["first>/lbtest.greeter.Greeter/SayHello", "second>", "first<"]


async def test_interceptors_wrap_methods_that_take_no_context(greeter: GreeterKit) -> None:
    journal = Journal()
    app = new_app(greeter, journal)
    async with open_service(app), channel(app) as ch:
        reply = await greeter.stub(ch).Echo(
            greeter.pb2.Blob(reply_size=2), metadata=(("authorization", "Bearer ok"),)
        )
    assert reply.data == b"xx"
    assert journal[0] == "first>/lbtest.greeter.Greeter/Echo"


async def test_interceptors_see_streams_being_opened(greeter: GreeterKit) -> None:
    journal = Journal()
    app = new_app(greeter, journal)
    async with open_service(app), channel(app) as ch:
        stub = greeter.stub(ch)
        call = stub.CountUp(greeter.pb2.CountRequest(n=2))
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            [r async for r in call]
    assert raised.value.code() is grpc.StatusCode.UNAUTHENTICATED


def test_interceptor_constructor_needs_a_return_type(greeter: GreeterKit) -> None:
    app = greeter.new_app()

    def build():  # type: ignore[no-untyped-def]  # noqa: ANN202 - the point of the test
        return First(Journal())

    with pytest.raises(TypeError, match="needs a return annotation"):
        app.server.grpc.set_interceptor(build)
