"""The two handler shapes of ``subscribe``: the payload (the guide's) or the ``Delivery``."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING

import aio_pika
import pytest
from tests.plugins.rabbitmq.rabbitmq_support import Names, PluginFactory, wait_for

from lbtoolkit.plugins.rabbitmq import Delivery, RabbitMQHandlerError
from lbtoolkit.plugins.rabbitmq._handlers import as_delivery_handler
from lbtoolkit.testing import open_plugin

if TYPE_CHECKING:
    # Imported for annotations only: the handler below still counts as a Delivery handler.
    from lbtoolkit.plugins import rabbitmq as typed_rabbitmq

pytestmark = pytest.mark.integration

HINT = (
    "Hint: annotate its first parameter as bytes, to receive the payload "
    "(async def handle(data: bytes) -> None), or as Delivery, to receive the payload "
    "with its event, headers and attempt (async def handle(delivery: Delivery) -> None)"
)


class Inbox:
    """What each handler shape received."""

    def __init__(self) -> None:
        self.payloads: list[bytes] = []
        self.deliveries: list[Delivery] = []

    async def on_payload(self, data: bytes) -> None:
        self.payloads.append(data)

    async def on_delivery(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)

    async def on_typed_delivery(self, delivery: typed_rabbitmq.Delivery) -> None:
        self.deliveries.append(delivery)


async def on_text(data: str) -> None:
    pass


async def on_anything(data) -> None:  # type: ignore[no-untyped-def]  # noqa: ANN001
    pass


async def on_nothing() -> None:
    pass


def on_sync(data: bytes) -> None:
    del data


NOT_ASYNC = "it is not async (each message is awaited): make it async def"


class AsyncCall:
    async def __call__(self, data: bytes) -> None:
        del data


class SyncCall:
    def __call__(self, data: bytes) -> None:
        del data

    def on_payload(self, data: bytes) -> None:
        del data


async def on_tagged(tag: str, data: bytes) -> None:
    del tag, data


def on_sync_tagged(tag: str, data: bytes) -> None:
    del tag, data


async def test_a_bytes_handler_gets_the_payload_and_a_delivery_handler_the_delivery(
    names: Names, make_plugin: PluginFactory
) -> None:
    publisher_name = names.service("users")
    guide_style, rich = names.service("mailer"), names.service("audit")
    names.queue(guide_style, publisher_name, "user.created")
    names.queue(rich, publisher_name, "user.created")
    inbox = Inbox()
    async with (
        open_plugin(make_plugin(publisher_name)) as publisher,
        open_plugin(make_plugin(guide_style)) as payload_subscriber,
        open_plugin(make_plugin(rich)) as delivery_subscriber,
    ):
        await payload_subscriber.subscribe(publisher_name, "user.created", inbox.on_payload)
        await delivery_subscriber.subscribe(publisher_name, "user.created", inbox.on_delivery)
        await publisher.publish("user.created", b'{"id": 7}', {"trace": "abc"})
        await wait_for(
            lambda: bool(inbox.payloads and inbox.deliveries), 5, "a handler got nothing"
        )
    assert inbox.payloads == [b'{"id": 7}']
    (delivery,) = inbox.deliveries
    assert isinstance(delivery, Delivery)
    assert (delivery.data, delivery.event, delivery.service) == (
        b'{"id": 7}',
        "user.created",
        publisher_name,
    )
    assert dict(delivery.headers) == {"trace": "abc"}


async def test_shapes_are_read_from_partials_and_from_annotations_left_as_text(
    names: Names, make_plugin: PluginFactory
) -> None:
    publisher_name, subscriber_name = names.service("src"), names.service("sink")
    names.queue(subscriber_name, publisher_name, "a")
    names.queue(subscriber_name, publisher_name, "b")
    got: list[tuple[str, bytes]] = []
    inbox = Inbox()

    async def tagged(tag: str, data: bytes) -> None:
        got.append((tag, data))

    async with (
        open_plugin(make_plugin(publisher_name)) as publisher,
        open_plugin(make_plugin(subscriber_name)) as subscriber,
    ):
        await subscriber.subscribe(publisher_name, "a", functools.partial(tagged, "a"))
        await subscriber.subscribe(publisher_name, "b", inbox.on_typed_delivery)
        await publisher.publish("a", b"1")
        await publisher.publish("b", b"2")
        await wait_for(lambda: bool(got and inbox.deliveries), 5, "a handler got nothing")
    assert got == [("a", b"1")]
    assert [d.data for d in inbox.deliveries] == [b"2"]


@pytest.mark.parametrize(
    ("handler", "problem"),
    [
        (on_text, "its first parameter 'data' is annotated str"),
        (on_anything, "its first parameter 'data' has no annotation"),
        (on_nothing, "it takes no positional parameter"),
        (on_sync, NOT_ASYNC),
    ],
)
async def test_a_handler_of_another_shape_is_refused_before_anything_is_declared(
    names: Names, make_plugin: PluginFactory, handler: object, problem: str
) -> None:
    publisher_name, subscriber_name = names.service("src"), names.service("sink")
    queue = names.queue(subscriber_name, publisher_name, "job")
    async with open_plugin(make_plugin(subscriber_name)) as subscriber:
        with pytest.raises(RabbitMQHandlerError) as caught:
            await subscriber.subscribe(publisher_name, "job", handler)  # type: ignore[call-overload]  # a refused shape
        channel = await subscriber.channel()
        with pytest.raises(aio_pika.exceptions.ChannelNotFoundEntity):
            await channel.declare_queue(queue, passive=True)
    assert str(caught.value) == (
        f'plugin "queue" (rabbitmq): cannot subscribe {__name__}.{handler.__qualname__} '  # type: ignore[attr-defined]  # each case is a function
        f"to {publisher_name}/job: {problem}. {HINT}"
    )
    assert isinstance(caught.value, TypeError)


@pytest.mark.parametrize(
    "handler",
    [
        functools.partial(on_tagged, "a"),
        Inbox().on_payload,
        functools.partial(Inbox().on_delivery),
        AsyncCall(),
    ],
    ids=["partial", "bound method", "partial of a bound method", "async __call__"],
)
def test_async_handlers_are_taken_however_they_are_wrapped(handler: object) -> None:
    assert callable(as_delivery_handler(handler, "plugin", "src/job"))  # type: ignore[arg-type]  # each case is an async callable


@pytest.mark.skipif(
    not hasattr(inspect, "markcoroutinefunction"), reason="inspect.markcoroutinefunction: 3.12+"
)
def test_a_callable_marked_as_a_coroutine_function_is_taken() -> None:
    def handle(data: bytes) -> object:  # marked in place: a function of this test's own
        return on_tagged("marked", data)

    marked: Callable[[bytes], object] = getattr(inspect, "markcoroutinefunction")(handle)  # noqa: B009 - absent before 3.12
    assert callable(as_delivery_handler(marked, "plugin", "src/job"))  # type: ignore[arg-type]  # marked, so async as far as can be told


@pytest.mark.parametrize(
    ("handler", "name"),
    [
        (
            functools.partial(on_sync_tagged, "a"),
            f"functools.partial({__name__}.on_sync_tagged, ...)",
        ),
        (SyncCall().on_payload, f"{__name__}.SyncCall.on_payload"),
        (SyncCall(), f"{__name__}.SyncCall"),
        (SyncCall, f"{__name__}.SyncCall"),
    ],
    ids=["partial", "bound method", "sync __call__", "a class"],
)
def test_a_handler_that_is_not_async_is_refused_however_it_is_wrapped(
    handler: object, name: str
) -> None:
    with pytest.raises(RabbitMQHandlerError) as caught:
        as_delivery_handler(handler, 'plugin "queue" (rabbitmq)', "src/job")  # type: ignore[arg-type]  # a refused shape
    assert str(caught.value) == (
        f'plugin "queue" (rabbitmq): cannot subscribe {name} to src/job: {NOT_ASYNC}. {HINT}'
    )
