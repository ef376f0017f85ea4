"""``http_proxy`` routes: transcoded like local routes, answered by another service over gRPC."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

import lbtoolkit
from lbtoolkit.server._proxy import forwarded_metadata
from lbtoolkit.testing import open_service
from tests.server.websocket.support import PREFIX, Generated, generate, listen_locally, upstream


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    with pytest.MonkeyPatch.context() as patch:
        return generate(tmp_path_factory.mktemp("wsgw"), patch)


def _new_gateway(gen: Generated, greeter: dict[str, str]) -> lbtoolkit.Service:
    """The generated HTTP gateway (no implementation: all its routes proxy) to ``greeter``."""
    environ = listen_locally("GATEWAY_SERVER") | greeter
    service: lbtoolkit.Service = gen.gateway.new_proxy_gateway_service(
        "gateway", env_prefix=PREFIX, environ=environ, argv=[]
    )
    return service


@asynccontextmanager
async def _gateway(gen: Generated) -> AsyncIterator[httpx.AsyncClient]:
    """The upstream, then the gateway to it."""
    async with upstream(gen) as greeter:
        app = _new_gateway(gen, greeter)
        async with open_service(app):
            base = f"http://127.0.0.1:{app.server.http.port}"
            async with httpx.AsyncClient(base_url=base) as client:
                yield client


async def test_route_answers_with_the_upstream_reply(generated: Generated) -> None:
    async with _gateway(generated) as client:
        posted = await client.post("/hello", json={"name": "ada"}, headers={"x-user": "u1"})
        got = await client.get("/hello/bob")
    assert posted.status_code == 200, posted.text
    assert posted.json() == {"message": "hello ada", "metadata": {"x-user": "u1"}}
    assert got.status_code == 200, got.text
    assert got.json() == {"message": "hello bob"}


async def test_upstream_status_maps_to_http_status(generated: Generated) -> None:
    async with _gateway(generated) as client:
        answer = await client.get("/hello/nobody")
    assert answer.status_code == 404
    assert answer.json()["message"] == "no one is called nobody"


async def test_bad_request_is_refused_before_the_upstream(generated: Generated) -> None:
    async with _gateway(generated) as client:
        answer = await client.post("/hello", json={"name": 5})
    assert answer.status_code == 400
    assert "name" in answer.json()["message"]


async def test_unreachable_upstream_is_unavailable(generated: Generated) -> None:
    # A port nothing listens on: the one of a server started and stopped.
    async with upstream(generated) as stopped_greeter:
        pass
    app = _new_gateway(generated, stopped_greeter)
    async with open_service(app), httpx.AsyncClient() as client:
        answer = await client.post(
            f"http://127.0.0.1:{app.server.http.port}/hello", json={"name": "ada"}
        )
    assert answer.status_code == 503


def test_hop_by_hop_and_reserved_headers_stay_behind() -> None:
    headers = {
        "Connection": "keep-alive",
        "Upgrade": "websocket",
        "Host": "gw",
        "Content-Type": "application/json",
        "grpc-timeout": "1S",
        "trace-bin": "x",
        "Authorization": "Bearer t",
        "X-User": "u1",
    }
    assert forwarded_metadata(headers) == {"authorization": "Bearer t", "x-user": "u1"}
