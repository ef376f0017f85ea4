"""The typed RPC surfaces: the ``RpcServer`` Protocol and the client classes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lbtoolkit.codegen._pycode import Call, docstring, render, string

if TYPE_CHECKING:
    from lbtoolkit.codegen._model import Client, FileModel, Method, Service
    from lbtoolkit.codegen._scope import ModuleScope

__all__ = ["client_class", "rpc_server_protocol", "services_accessor"]

# The channel call for each (client_streaming, server_streaming).
_CALLS = {
    (False, False): "unary_unary",
    (False, True): "unary_stream",
    (True, False): "stream_unary",
    (True, True): "stream_stream",
}


def _types(method: Method, scope: ModuleScope) -> tuple[str, str]:
    """The request parameter and the return annotation of a method."""
    request = scope.message(method.request)
    response = scope.message(method.response)
    if method.client_streaming or method.server_streaming:
        iterator = scope.stdlib("collections.abc", "AsyncIterator")
        if method.client_streaming:
            request = f"{iterator}[{request}]"
        if method.server_streaming:
            response = f"{iterator}[{response}]"
    name = "requests" if method.client_streaming else "request"
    return f"{name}: {request}", response


def _keyword(method: Method) -> str:
    # A server-streaming method is an async generator: a plain ``def`` in the
    # Protocol returning an AsyncIterator matches ``async def ... yield``.
    return "def" if method.server_streaming else "async def"


def rpc_server_protocol(service: Service, scope: ModuleScope) -> list[str]:
    """``<Service>RpcServer``: what the user implements, once for every transport."""
    protocol = scope.stdlib("typing", "Protocol")
    context = scope.name("lbtoolkit.server", "RequestContext")
    lines = [f"class {service.rpc_server}({protocol}):"]
    lines += docstring(
        service.comment
        or f"The methods of {service.name}, served alike over gRPC, HTTP and WebSocket.",
        indent=1,
    )
    for method in service.methods:
        if not method.implemented:
            continue
        parameter, returns = _types(method, scope)
        body = ":" if method.comment else ": ..."
        signature = Call(
            f"{_keyword(method)} {method.handler}", ("self", parameter, f"context: {context}")
        )
        lines.append("")
        lines += render(signature, indent=1, suffix=f" -> {returns}{body}")
        if method.comment:
            lines += docstring(method.comment, indent=2)
    return lines


def client_class(client: Client, scope: ModuleScope) -> list[str]:
    """``<Name>Client``: one typed coroutine per method, over a ``Channel``."""
    channel = scope.name("lbtoolkit.client", "Channel")
    mapping = scope.stdlib("collections.abc", "Mapping")
    lines = [f"class {client.class_name}:"]
    lines += docstring(f'Client of the "{client.service}" service ({client.full_name}).', indent=1)
    lines += [
        "",
        f"    def __init__(self, channel: {channel}) -> None:",
        "        self._channel = channel",
    ]
    for method in client.methods:
        parameter, returns = _types(method, scope)
        signature = Call(
            f"{_keyword(method)} {method.handler}",
            (
                "self",
                parameter,
                "*",
                "rpc_timeout: float | None = None",
                f"metadata: {mapping}[str, str] | None = None",
            ),
        )
        call = Call(
            f"self._channel.{_CALLS[method.client_streaming, method.server_streaming]}",
            (
                string(method.grpc_path),
                parameter.partition(":")[0],
                scope.message(method.response),
                ("rpc_timeout", "rpc_timeout"),
                ("metadata", "metadata"),
            ),
        )
        lines.append("")
        lines += render(signature, indent=1, suffix=f" -> {returns}:")
        prefix = "return " if method.server_streaming else "return await "
        lines += render(call, indent=2, prefix=prefix)
    return lines


def services_accessor(service: Service, model: FileModel, scope: ModuleScope) -> list[str]:
    """``<Service>Services``: the clients of ``option (toolkit.services)``."""
    pool = scope.name("lbtoolkit.client", "ChannelPool")
    lines = [f"class {service.name}Services:"]
    lines += docstring(
        "The clients of option (toolkit.services), provided by dependency injection.",
        indent=1,
    )
    lines.append("")
    lines += [f"    {c.attribute}: {c.class_name}" for c in model.clients]
    lines += ["", f"    def __init__(self, channels: {pool}) -> None:"]
    for client in model.clients:
        create = Call(client.class_name, (Call("channels.channel", (string(client.service),)),))
        lines += render(create, indent=2, prefix=f"self.{client.attribute} = ")
    return lines
