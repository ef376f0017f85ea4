"""A plugin's outage answers UNAVAILABLE with a retry hint, logged once; a bug stays INTERNAL."""

from __future__ import annotations

import logging
from typing import Any

import grpc
import pytest

from lbtoolkit.server import RequestContext
from lbtoolkit.testing import open_service
from tests.server.grpc.support import GreeterKit, GreeterService, channel

OUTAGES = "lbtoolkit.outages"


class CacheDownError(Exception):
    """What a cache client raises when its server refuses connections."""


def read_cache() -> None:
    raise CacheDownError("Error 111 connecting to 10.0.0.7:6379")


class CachingGreeter(GreeterService):
    async def fail(self, request: Any, context: RequestContext) -> Any:
        if request.kind == "outage":
            try:
                read_cache()
            except CacheDownError as error:
                raise RuntimeError("reading the greeting failed") from error
        return await super().fail(request, context)


async def test_an_outage_is_unavailable_with_retry_after_and_logged_once(
    greeter: GreeterKit, caplog: pytest.LogCaptureFixture
) -> None:
    app = greeter.new_app(set_service=False)
    app.server.set_service(type("Greeter", (CachingGreeter,), {"pb2": greeter.pb2}))
    app.runtime.tools.outages.register("cache", "redis", (CacheDownError,))
    caplog.set_level(logging.INFO)
    async with open_service(app), channel(app) as open_channel:
        stub = greeter.stub(open_channel)
        answers = []
        for _ in range(3):
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await stub.Fail(greeter.pb2.FailRequest(kind="outage"))
            answers.append(raised.value)
        with pytest.raises(grpc.aio.AioRpcError) as bug:
            await stub.Fail(greeter.pb2.FailRequest(kind="unexpected"))
    assert {(a.code(), a.details()) for a in answers} == {
        (grpc.StatusCode.UNAVAILABLE, 'plugin "cache" (redis) is unavailable')
    }
    trailers = dict(answers[0].trailing_metadata() or ())
    assert trailers["retry-after"] == "5"
    assert trailers["grpc-retry-pushback-ms"] == "5000"
    assert bug.value.code() is grpc.StatusCode.INTERNAL
    outage_lines = [r for r in caplog.records if r.name == OUTAGES]
    began = (
        'plugin "cache" (redis) is unavailable: CacheDownError: Error 111 connecting to '
        "10.0.0.7:6379 (first failed call: /lbtest.greeter.Greeter/Fail); calls that need it "
        "answer UNAVAILABLE (HTTP 503) until its readiness check passes again"
    )
    assert [(r.levelname, r.getMessage()) for r in outage_lines] == [("WARNING", began)]
    assert outage_lines[0].exc_info is None
    tracebacks = [r for r in caplog.records if r.exc_info is not None]
    assert [r.getMessage().split(" (ref ")[0] for r in tracebacks] == [
        "/lbtest.greeter.Greeter/Fail raised an unexpected error"
    ]
