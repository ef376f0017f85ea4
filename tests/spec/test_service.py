"""The tables generated modules declare: route views, method lookup, server kinds."""

from __future__ import annotations

import pytest
from google.protobuf import empty_pb2, wrappers_pb2

from lbtoolkit.spec import (
    HttpRule,
    MethodSpec,
    PathTemplate,
    ProxyTarget,
    ServerKind,
    ServiceSpec,
)


def method(name: str, **options: object) -> MethodSpec:
    return MethodSpec(
        name=name,
        handler=name.lower(),
        grpc_path=f"/demo.Demo/{name}",
        request_type=wrappers_pb2.StringValue,
        response_type=empty_pb2.Empty,
        **options,  # type: ignore[arg-type]
    )


GET = HttpRule(method="GET", path="/items", template=PathTemplate(("items",)))
EVENTS = HttpRule(method="GET", path="/events", template=PathTemplate(("events",)))
TARGET = ProxyTarget(service="other", method="/other.Other/Call")
SPEC = ServiceSpec(
    name="Demo",
    full_name="demo.Demo",
    servers=(ServerKind.HTTP, ServerKind.WEBSOCKET, ServerKind.WEBSOCKET_PROXY),
    methods=(
        method("List", http_rules=(GET,)),
        method("Events", http_rules=(EVENTS,), websocket=True),
        method("Proxied", http_rules=(GET,), http_proxy=TARGET),
        method("Relayed", websocket_proxy=TARGET),
        method("Plain"),
    ),
)


def test_route_views() -> None:
    assert [m.name for m, _ in SPEC.http_routes] == ["List", "Proxied"]
    assert [(m.name, r.path) for m, r in SPEC.websocket_routes] == [("Events", "/events")]
    assert [m.name for m in SPEC.websocket_proxy_methods] == ["Relayed"]
    assert [m.name for m in SPEC.grpc_methods] == ["List", "Events", "Plain"]
    assert SPEC.uses(ServerKind.WEBSOCKET)
    assert not SPEC.uses(ServerKind.GRPC)


def test_method_lookup() -> None:
    assert SPEC.method("Plain").handler == "plain"
    with pytest.raises(KeyError, match=r"service demo\.Demo has no method 'Nope'"):
        SPEC.method("Nope")


def test_server_kinds_are_the_toolkit_enum_names() -> None:
    assert [k.name for k in ServerKind] == ["GRPC", "HTTP", "WEBSOCKET_PROXY", "WEBSOCKET"]
