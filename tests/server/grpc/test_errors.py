"""Errors raised by implementations reach the client as gRPC statuses."""

from __future__ import annotations

import logging
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]

from lbtoolkit import errors
from tests.server.grpc.support import GreeterKit

STATUS_ERRORS = sorted(
    (
        cls
        for cls in vars(errors).values()
        if isinstance(cls, type)
        and issubclass(cls, errors.StatusError)
        and cls is not errors.StatusError
    ),
    key=lambda cls: cls.__name__,
)


def test_every_status_error_is_covered() -> None:
    assert len(STATUS_ERRORS) == 16  # every gRPC code but OK


@pytest.mark.parametrize("error_class", STATUS_ERRORS, ids=lambda cls: cls.__name__)
async def test_status_error_answers_with_its_code_and_message(
    greeter: GreeterKit, stub: Any, error_class: type[errors.StatusError]
) -> None:
    request = greeter.pb2.FailRequest(kind=error_class.__name__, message="no such greeting")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.Fail(request)
    assert raised.value.code() is error_class.code
    assert raised.value.details() == "no such greeting"


async def test_status_error_details_travel_as_error_info(greeter: GreeterKit, stub: Any) -> None:
    request = greeter.pb2.FailRequest(kind="NotFound", message="gone", details={"id": "42"})
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.Fail(request)
    trailers = dict(raised.value.trailing_metadata() or ())
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    assert (status.code, status.message) == (grpc.StatusCode.NOT_FOUND.value[0], "gone")
    assert (info.reason, dict(info.metadata)) == ("NOT_FOUND", {"id": "42"})


async def test_unexpected_error_is_internal_with_a_generic_message_and_logged(
    greeter: GreeterKit, stub: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.ERROR, logger="lbtoolkit.server.grpc"),
        pytest.raises(grpc.aio.AioRpcError) as raised,
    ):
        await stub.Fail(greeter.pb2.FailRequest(kind="unexpected"))
    assert raised.value.code() is grpc.StatusCode.INTERNAL
    details = raised.value.details() or ""
    assert details.startswith("internal error (ref ")
    assert "hunter2" not in details
    assert "RuntimeError" not in details
    reference = details.removeprefix("internal error (ref ").removesuffix(")")
    [record] = [r for r in caplog.records if reference in r.getMessage()]
    assert record.getMessage() == (
        f"/lbtest.greeter.Greeter/Fail raised an unexpected error (ref {reference})"
    )
    assert record.exc_info is not None
    assert "hunter2" in str(record.exc_info[1])


async def test_abort_through_the_grpc_context_is_kept(greeter: GreeterKit, stub: Any) -> None:
    request = greeter.pb2.FailRequest(kind="context_abort", message="slow down")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.Fail(request)
    assert raised.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert raised.value.details() == "slow down"


async def test_error_in_a_stream_after_messages_ends_it_with_the_status(
    greeter: GreeterKit, stub: Any
) -> None:
    call = stub.CountUp(greeter.pb2.CountRequest(n=2), metadata=(("x-fail-after", "1"),))
    received = [(await call.read()).message, (await call.read()).message]
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call.read()
    assert received == ["0", "1"]
    assert raised.value.code() is grpc.StatusCode.DATA_LOSS
    assert raised.value.details() == "stream broke"
