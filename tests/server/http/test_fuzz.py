"""Schemathesis against the served ``/openapi.json`` of the demo and of the users example.

Each service runs in-process with its real plugins (Redis; PostgreSQL,
Redis, RabbitMQ and centrifuge for users), and schemathesis sends it requests
over loopback HTTP: ones the document allows and ones that break it. Every
answer must be no 5xx and match the document (status, content type, headers,
body); a request breaking the document is refused, one it allows is not
refused as malformed. Generation is derandomized: a failure repeats.
"""

from __future__ import annotations

import asyncio

import pytest

from greeter_demo.service import build as build_demo
from lbtoolkit.testing import open_service
from tests.examples.examples_support import (
    DEMO_ON_FREE_PORTS,
    delete_broker_objects,
    scratch_database,
    unique,
    users_environ,
)
from tests.server.http.fuzz_support import FuzzRun, fuzz_served_api
from tests.support.servers import PrivateRedis
from users_service.service import build as build_users

pytestmark = pytest.mark.integration

MINIMUM_REQUESTS = 300
# What a schema cannot say: a page token is opaque, only one a previous page returned is taken.
USERS_REFUSE_VALID = {"Users_ListUsers": "pageToken: only a token of a previous page is taken"}


async def _fuzz_demo(examples_per_operation: int) -> FuzzRun:
    # A Redis of its own: SetGreeting changes the greeting every demo test reads.
    with PrivateRedis() as redis:
        environ = {
            **DEMO_ON_FREE_PORTS,
            "DEMO_CACHE_ADDR": redis.addr,
        }
        async with open_service(build_demo(environ=environ, argv=[])) as app:
            base = f"http://127.0.0.1:{app.server.http.port}"
            return await asyncio.to_thread(
                lambda: fuzz_served_api(base, examples_per_operation=examples_per_operation)
            )


async def _fuzz_users(examples_per_operation: int) -> FuzzRun:
    name = unique("users")
    try:
        async with scratch_database() as database:
            service = build_users(name=name, environ=users_environ(database, name), argv=[])
            async with open_service(service) as app:
                base = f"http://127.0.0.1:{app.server.http.port}"
                return await asyncio.to_thread(
                    lambda: fuzz_served_api(
                        base,
                        examples_per_operation=examples_per_operation,
                        refuses_valid=USERS_REFUSE_VALID,
                    )
                )
    finally:
        await delete_broker_objects([name], [])


def _assert_clean(run: FuzzRun, operations: set[str], minimum: int) -> None:
    figures = f"{run.requests} requests: {dict(run.per_operation)}; statuses {dict(run.statuses)}"
    print(figures)  # noqa: T201 - figures in -s runs
    assert run.failures == {}, run.report()
    assert set(run.per_operation) == operations
    assert run.requests >= minimum


DEMO_OPERATIONS = {"GET /v1/hello/{name}", "POST /v1/greeting"}
USERS_OPERATIONS = {
    "POST /v1/users",
    "GET /v1/users",
    "GET /v1/users/{id}",
    "DELETE /v1/users/{id}",
}


async def test_demo_answers_as_its_document_says() -> None:
    # 3 strategies (a string path parameter has no invalid value): 360 requests.
    run = await _fuzz_demo(examples_per_operation=120)
    _assert_clean(run, DEMO_OPERATIONS, MINIMUM_REQUESTS)
    assert run.nothing_to_generate == ["GET /v1/hello/{name} [negative]"]
    # Both kinds of answer were seen: accepted requests and refused ones.
    assert run.statuses[200] > 0
    assert run.statuses[400] > 0


async def test_users_example_answers_as_its_document_says() -> None:
    run = await _fuzz_users(examples_per_operation=45)
    _assert_clean(run, USERS_OPERATIONS, MINIMUM_REQUESTS)
    assert {200, 400, 404} <= set(run.statuses)


@pytest.mark.slow
async def test_demo_answers_as_its_document_says_at_length() -> None:
    run = await _fuzz_demo(examples_per_operation=1000)
    _assert_clean(run, DEMO_OPERATIONS, 3000)


@pytest.mark.slow
async def test_users_example_answers_as_its_document_says_at_length() -> None:
    run = await _fuzz_users(examples_per_operation=375)
    _assert_clean(run, USERS_OPERATIONS, 3000)
