"""A plugin's outage answers 503 with Retry-After, logged once; a bug stays a 500."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest

from lbtoolkit.server import RequestContext
from lbtoolkit.tools import Tools
from tests.server.http.support import client, open_server, spec_of
from tests.server.http.users import UsersService

OUTAGES = "lbtoolkit.outages"


class DatabaseDownError(Exception):
    """What a database client raises when its server refuses connections."""


def query() -> None:
    raise DatabaseDownError("Connect call failed ('10.0.0.8', 5432)")


class DatabaseUsers(UsersService):
    async def fail(self, request: Any, context: RequestContext) -> Any:
        if request.code == "OUTAGE":
            query()
        return await super().fail(request, context)


async def test_an_outage_is_503_with_retry_after_and_logged_once(
    protos: SimpleNamespace, caplog: pytest.LogCaptureFixture
) -> None:
    tools = Tools("test", "lb")
    tools.outages.register("db", "postgres_pg", (DatabaseDownError,))
    users = DatabaseUsers(protos.users)
    spec = spec_of(protos.users.DESCRIPTOR.services_by_name["Users"], UsersService)
    caplog.set_level(logging.INFO)
    async with open_server([(spec, users)], tools=tools) as server, client(server) as http:
        outage = [await http.post("/v1/fail", json={"code": "OUTAGE"}) for _ in range(3)]
        bug = await http.post("/v1/fail", json={"code": "CRASH"})
    assert {(r.status_code, r.headers.get("retry-after")) for r in outage} == {(503, "5")}
    assert outage[0].json() == {
        "code": 14,  # UNAVAILABLE, as the gRPC server answers the same outage
        "message": 'plugin "db" (postgres_pg) is unavailable',
        "details": [],
        "status": "Service Unavailable",
    }
    assert bug.status_code == 500
    assert "retry-after" not in bug.headers
    began = (
        'plugin "db" (postgres_pg) is unavailable: DatabaseDownError: Connect call failed '
        "('10.0.0.8', 5432) (first failed call: /httptest.users.Users/Fail); calls that need "
        "it answer UNAVAILABLE (HTTP 503) until its readiness check passes again"
    )
    lines = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == OUTAGES]
    assert lines == [("WARNING", began)]
    tracebacks = [r.getMessage() for r in caplog.records if r.exc_info is not None]
    assert tracebacks == ["unhandled error in /httptest.users.Users/Fail"]
