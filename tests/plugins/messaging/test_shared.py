"""The broker-neutral pieces both plugins use: deadlines, retry delays, the delivery's scope."""

from __future__ import annotations

import contextvars
import time

import pytest

from lbtoolkit.client import bind_incoming_call
from lbtoolkit.plugins import new_test_runtime
from lbtoolkit.plugins._messaging import (
    DEADLINE_HEADER,
    Delivery,
    DeliveryScopeError,
    current_deadline,
    jittered,
    outgoing_context,
    parse_deadline,
    retry_delay,
    within_deadline,
)


def test_within_deadline_sets_one_and_keeps_an_earlier_one_in_force() -> None:
    assert current_deadline() is None
    before = time.time()
    with within_deadline(10) as outer:
        assert before + 10 <= outer <= time.time() + 10
        assert current_deadline() == outer
        with within_deadline(3600) as inner:
            assert inner == outer  # a longer one cannot extend the caller's
        with within_deadline(1) as shorter:
            assert shorter < outer
            assert current_deadline() == shorter
        assert current_deadline() == outer
    assert current_deadline() is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1700000000.25", 1700000000.25),
        (b"1700000000.5", 1700000000.5),
        (1700000000, 1700000000.0),
        ("soon", None),
        (True, None),
        (None, None),
    ],
)
def test_a_deadline_header_is_read_leniently(value: object, expected: float | None) -> None:
    assert parse_deadline(value) == expected


def test_retry_delays_grow_are_capped_and_jitter_only_lengthens_them() -> None:
    assert [retry_delay(n, 0.5, 2, 3) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert retry_delay(10_000, 1, 10, 60) == 60
    assert retry_delay(2, 0, 2, 10) == 0
    for _ in range(200):
        assert 2.0 <= jittered(2.0, 0.25) <= 2.5
    assert jittered(2.0, 0) == 2.0


async def test_a_delivery_built_without_a_scope_refuses_get_naming_the_subscription() -> None:
    delivery = Delivery("user.created", "users", b"", {}, None, False, 1)  # noqa: FBT003
    assert (delivery.last_error, delivery.deadline, delivery.scope) == (None, None, None)
    with pytest.raises(DeliveryScopeError, match=r"users/user\.created") as caught:
        await delivery.get(int)
    assert caught.value.dependency == "int"


class _ServedCall:
    """A request being served, as the gRPC and HTTP servers bind it."""

    def __init__(self, remaining: float | None) -> None:
        self._remaining = remaining

    def time_remaining(self) -> float | None:
        return self._remaining

    def invocation_metadata(self) -> list[tuple[str, str]]:
        return []


@pytest.mark.parametrize("remaining", [5.0, None])
def test_a_publish_while_serving_a_request_carries_its_remaining_deadline(
    remaining: float | None,
) -> None:
    runtime = new_test_runtime("svc")
    context = contextvars.copy_context()

    def publish() -> dict[str, str]:
        bind_incoming_call(_ServedCall(remaining))
        with outgoing_context(runtime, "rabbitmq", "svc", "user.created") as headers:
            return headers

    before = time.time()
    headers = context.run(publish)
    if remaining is None:
        assert DEADLINE_HEADER not in headers
    else:
        sent = float(headers[DEADLINE_HEADER])
        assert before + remaining <= sent <= time.time() + remaining
