"""A client call made while serving an HTTP request carries its deadline and headers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from lbtoolkit.client import ChannelPool
from lbtoolkit.config import ConfigController
from tests.client.support import WHO, Replica, Text, declare_replica_service, start_replica
from tests.server.http.conftest import protos  # noqa: F401 - the compiled test protos
from tests.server.http.support import client, open_server, spec_of
from tests.server.http.users import UsersService

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from types import ModuleType, SimpleNamespace

    from lbtoolkit.server import RequestContext


@pytest.fixture
async def replica() -> AsyncIterator[Replica]:
    declare_replica_service()
    started = await start_replica("r0")
    yield started
    await started.server.stop(None)


class AsksTheReplica(UsersService):
    """``Sleep`` over HTTP calls the replica service over gRPC first."""

    def __init__(self, pb: ModuleType, pool: ChannelPool) -> None:
        super().__init__(pb)
        self._pool = pool

    async def sleep(self, request: Any, context: RequestContext) -> Any:
        await self._pool.channel("replica").unary_unary(WHO, Text(value="x"), Text)
        return await super().sleep(request, context)


@pytest.mark.parametrize(
    ("headers", "expected_at_most"),
    [({"grpc-timeout": "2S", "x-request-id": "req-7"}, 2.0), ({}, 16.0)],
)
async def test_the_http_requests_deadline_and_request_id_reach_the_next_service(
    protos: SimpleNamespace,  # noqa: F811 - the fixture imported above
    replica: Replica,
    headers: dict[str, str],
    expected_at_most: float,
) -> None:
    users = protos.users
    environ = {"LB_RESOLVER_ENDPOINTS": f"replica={replica.address}"}
    pool = ChannelPool.configured(
        ConfigController("LB", environ=environ), environ=environ, tools=None
    )
    implementation = AsksTheReplica(users, pool)
    spec = spec_of(users.DESCRIPTOR.services_by_name["Users"], type(implementation))
    try:
        async with open_server([(spec, implementation)]) as server, client(server) as http:
            answer = await http.get("/v1/sleep/5", headers=headers)
    finally:
        await pool.close()
    assert (answer.status_code, answer.json()) == (200, {"slept": 5})
    [remaining] = replica.remaining
    assert remaining is not None
    assert 0 < remaining <= expected_at_most
    [metadata] = replica.metadata
    assert metadata.get("x-request-id") == headers.get("x-request-id")
