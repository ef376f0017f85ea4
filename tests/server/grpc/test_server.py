"""The gRPC server answers a stock grpcio stub with the DI-built implementation."""

from __future__ import annotations

import socket
from typing import Any

import grpc
import pytest

import lbtoolkit
from lbtoolkit.server import ImplementationError, ListenError, ServiceNotSetError
from lbtoolkit.testing import open_service
from tests.server.grpc.support import GreeterKit, GreeterRpcServer, GreeterService, channel


async def test_stock_stub_calls_the_implementation(greeter: GreeterKit, stub: Any) -> None:
    reply = await stub.SayHello(greeter.pb2.HelloRequest(name="Ada"), metadata=(("x-user", "bob"),))
    assert reply.message == "Hello, Ada! (from bob)"


async def test_implementation_is_built_by_di_with_its_dependencies(greeter: GreeterKit) -> None:
    app = greeter.new_app(greeting="Bonjour")
    async with open_service(app), channel(app) as ch:
        reply = await greeter.stub(ch).SayHello(greeter.pb2.HelloRequest(name="Ada"))
    assert reply.message == "Bonjour, Ada!"


async def test_every_call_shape_is_served(greeter: GreeterKit, stub: Any) -> None:
    pb2 = greeter.pb2
    counted = [r.message async for r in stub.CountUp(pb2.CountRequest(n=3))]
    assert counted == ["0", "1", "2"]

    async def names() -> Any:
        for name in ("a", "b", "c"):
            yield pb2.HelloRequest(name=name)

    collected = await stub.Collect(names())
    assert collected.message == "a,b,c"
    chatted = [r.message async for r in stub.Chat(names())]
    assert chatted == ["Hello, a!", "Hello, b!", "Hello, c!"]


async def test_a_handler_without_context_parameter_is_called_with_the_request(
    greeter: GreeterKit, stub: Any
) -> None:
    reply = await stub.Echo(greeter.pb2.Blob(reply_size=3))
    assert reply.data == b"xxx"


async def test_the_same_instance_answers_every_call(
    greeter: GreeterKit, app: lbtoolkit.Service, stub: Any
) -> None:
    for _ in range(3):
        await stub.SayHello(greeter.pb2.HelloRequest(name="x"))
    instance = await app.runtime.injector.get(GreeterRpcServer)  # type: ignore[type-abstract]
    assert isinstance(instance, GreeterService)
    assert instance.started == 3


async def test_generated_style_registration_without_set_service(greeter: GreeterKit) -> None:
    # Generated register_<service>_rpc_server() provides the class under the protocol.
    app = greeter.new_app(set_service=False)
    app.provide(greeter.implementation, provides=GreeterRpcServer)
    async with open_service(app), channel(app) as ch:
        reply = await greeter.stub(ch).SayHello(greeter.pb2.HelloRequest(name="Ada"))
    assert reply.message == "Hello, Ada!"


async def test_a_service_without_implementation_fails_at_start_naming_it(
    greeter: GreeterKit,
) -> None:
    app = greeter.new_app(set_service=False)
    with pytest.raises(lbtoolkit.StartError) as raised:
        await app.start()
    assert isinstance(raised.value.__cause__, ServiceNotSetError)
    assert str(raised.value.__cause__).startswith(
        'grpc server "example" serves lbtest.greeter.Greeter, but no implementation was given'
    )


def test_an_implementation_lacking_methods_is_rejected_at_once(greeter: GreeterKit) -> None:
    class Partial:
        async def say_hello(self, request: Any, context: Any) -> Any: ...

        def echo(self, request: Any) -> Any: ...

    app = greeter.new_app(set_service=False)
    with pytest.raises(ImplementationError) as raised:
        app.server.set_service(Partial)
    text = str(raised.value)
    assert "cannot serve lbtest.greeter.Greeter:" in text
    assert "  missing method fail() for rpc Fail" in text
    assert "  echo() must be `async def`" in text


async def test_request_larger_than_the_limit_is_rejected(greeter: GreeterKit) -> None:
    app = greeter.new_app({"LB_EXAMPLE_GRPC_SERVER_MAX_RECEIVE_MESSAGE_SIZE": "1024"})
    async with open_service(app), channel(app) as ch:
        stub = greeter.stub(ch)
        assert (await stub.Echo(greeter.pb2.Blob(data=b"x" * 512))).data == b""
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub.Echo(greeter.pb2.Blob(data=b"x" * 4096))
    assert raised.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_response_larger_than_the_limit_is_not_sent(greeter: GreeterKit) -> None:
    app = greeter.new_app({"LB_EXAMPLE_GRPC_SERVER_MAX_SEND_MESSAGE_SIZE": "1024"})
    async with open_service(app), channel(app) as ch:
        stub = greeter.stub(ch)
        assert len((await stub.Echo(greeter.pb2.Blob(reply_size=512))).data) == 512
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub.Echo(greeter.pb2.Blob(reply_size=4096))
    assert raised.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_disabled_server_is_neither_built_nor_listening(greeter: GreeterKit) -> None:
    app = greeter.new_app(
        {"LB_EXAMPLE_GRPC_SERVER_DISABLED": "true", "LB_EXAMPLE_GRPC_SERVER_PORT": "9"}
    )
    async with open_service(app):
        assert app.server.grpc.disabled
        assert app.server.grpc.health is None
        assert app.server.grpc.port == 9  # never bound: still the configured port


async def test_port_taken_is_reported_with_the_variable_to_change(greeter: GreeterKit) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        app = greeter.new_app({"LB_EXAMPLE_GRPC_SERVER_PORT": str(port)})
        with pytest.raises(lbtoolkit.StartError) as raised:
            await app.start()
    error = raised.value.__cause__
    assert isinstance(error, ListenError)
    assert str(error) == (
        f'grpc server "example" cannot listen on 127.0.0.1:{port}: address already in use\n'
        "Hint: free the port or set LB_EXAMPLE_GRPC_SERVER_PORT to another one"
    )


async def test_an_address_not_of_this_host_names_the_listen_variable(
    greeter: GreeterKit,
) -> None:
    app = greeter.new_app(
        {"LB_EXAMPLE_GRPC_SERVER_LISTEN": "192.0.2.1", "LB_EXAMPLE_GRPC_SERVER_PORT": "0"}
    )
    with pytest.raises(lbtoolkit.StartError) as raised:
        await app.start()
    error = raised.value.__cause__
    assert isinstance(error, ListenError)
    assert str(error) == (
        'grpc server "example" cannot listen on 192.0.2.1:0: cannot assign requested address\n'
        "Hint: set LB_EXAMPLE_GRPC_SERVER_LISTEN to an address of this host "
        "(0.0.0.0 for every interface)"
    )


async def test_a_listen_name_that_does_not_resolve_names_the_listen_variable(
    greeter: GreeterKit,
) -> None:
    app = greeter.new_app(
        {
            "LB_EXAMPLE_GRPC_SERVER_LISTEN": "no-such-host.invalid",
            "LB_EXAMPLE_GRPC_SERVER_PORT": "0",
        }
    )
    with pytest.raises(lbtoolkit.StartError) as raised:
        await app.start()
    error = raised.value.__cause__
    assert isinstance(error, ListenError)
    message = str(error)
    assert message.startswith(
        'grpc server "example" cannot listen on no-such-host.invalid:0: cannot resolve the name: '
    )
    assert message.endswith(
        "Hint: set LB_EXAMPLE_GRPC_SERVER_LISTEN to an address of this host "
        "(0.0.0.0 for every interface)"
    )


async def test_a_listen_name_only_the_system_resolves_names_the_listen_variable(
    greeter: GreeterKit,
) -> None:
    # The system reads "0" as 0.0.0.0; grpc's resolver does not.
    app = greeter.new_app(
        {"LB_EXAMPLE_GRPC_SERVER_LISTEN": "0", "LB_EXAMPLE_GRPC_SERVER_PORT": "0"}
    )
    with pytest.raises(lbtoolkit.StartError) as raised:
        await app.start()
    assert str(raised.value.__cause__) == (
        'grpc server "example" cannot listen on 0:0: grpc cannot resolve the name\n'
        "Hint: set LB_EXAMPLE_GRPC_SERVER_LISTEN to an address of this host "
        "(0.0.0.0 for every interface)"
    )


def test_bad_listen_port_and_sizes_are_reported_before_start(greeter: GreeterKit) -> None:
    app = greeter.new_app(
        {
            "LB_EXAMPLE_GRPC_SERVER_LISTEN": "999.1.1.1",
            "LB_EXAMPLE_GRPC_SERVER_PORT": "70000",
            "LB_EXAMPLE_GRPC_SERVER_MAX_RECEIVE_MESSAGE_SIZE": "9" * 26,
            "LB_EXAMPLE_GRPC_SERVER_MAX_SEND_MESSAGE_SIZE": "0",
        }
    )
    out_of_range = "is not a valid message size (1-2147483647)"
    assert [str(issue) for issue in app.runtime.config.issues] == [
        "LB_EXAMPLE_GRPC_SERVER_LISTEN: '999.1.1.1' is not a valid IPv4 address",
        "LB_EXAMPLE_GRPC_SERVER_PORT: 70000 is not a valid port (0-65535)",
        f"LB_EXAMPLE_GRPC_SERVER_MAX_RECEIVE_MESSAGE_SIZE: {'9' * 26} {out_of_range}",
        f"LB_EXAMPLE_GRPC_SERVER_MAX_SEND_MESSAGE_SIZE: 0 {out_of_range}",
    ]


async def test_start_returns_once_listening_on_the_bound_port(
    greeter: GreeterKit, app: lbtoolkit.Service
) -> None:
    port = app.server.grpc.port
    assert port > 0
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
