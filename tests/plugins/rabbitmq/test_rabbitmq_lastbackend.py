"""``WIRE_FORMAT=lastbackend``: the Go toolkit's exchanges, queue and JSON envelope, byte for byte.

The fixtures below are written from the Go plugin's source
(github.com/lastbackend/toolkit-plugins, ``rabbitmq/broker.go``, Go 1.21 per
its ``go.mod``):

- ``type message struct { Event string `json:"event"`; Payload string `json:"payload"` }``:
  the keys, in field order, ``event`` then ``payload``;
- ``Publish``: ``e := message{Event: event, Payload: string(payload)}`` then
  ``json.Marshal(e)``: the payload is a JSON *string* of the bytes (a
  ``[]byte`` field would have been base64, a ``json.RawMessage`` raw JSON),
  written compactly (no spaces), with Marshal's HTML escaping on;
- ``Subscribe``'s callback: ``json.Unmarshal(msg.Body, &e)`` then
  ``[]byte(e.Payload)``: the payload bytes back from the string.

Go 1.21's ``encodeState.string`` escapes ``"`` and ``\\`` with a backslash,
writes ``\\n``, ``\\r``, ``\\t`` short and other bytes below 0x20 as ``\\u00XX``
(lower-case hex; ``\\b``/``\\f`` short forms came in Go 1.22), writes ``<``,
``>``, ``&`` as ``\\u003c``, ``\\u003e``, ``\\u0026``, U+2028/U+2029 as
``\\u2028``/``\\u2029``, each byte of invalid UTF-8 as ``\\ufffd``, and any
other UTF-8 as is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import aio_pika
import pytest
from tests.plugins.rabbitmq.rabbitmq_support import BROKER, Names, PluginFactory, wait_for

from lbtoolkit.plugins.rabbitmq import Delivery
from lbtoolkit.plugins.rabbitmq._lastbackend import decode_envelope, encode_envelope, go_string
from lbtoolkit.testing import open_plugin

if TYPE_CHECKING:
    from pamqp.common import FieldTable

# A JSON payload, as services send: each '"' of it escaped, nothing else.
PLAIN_PAYLOAD = b'{"id":7,"name":"Ann"}'
PLAIN_BODY = rb'{"event":"user.created","payload":"{\"id\":7,\"name\":\"Ann\"}"}'

# Every escape rule at once: HTML characters, quotes, the three short control
# escapes, \u00XX for the other control bytes (NUL, 0x1f, backspace and form
# feed as Go 1.21 writes them), backslash, two-byte UTF-8 kept as is, U+2028
# escaped, and an invalid byte replaced.
TRICKY_PAYLOAD = b'<a href="x">&</a>\n\t\r\x00\x1f\x08\x0c\\ caf\xc3\xa9 \xe2\x80\xa8 \xff'
TRICKY_BODY = b"".join(
    (
        rb'{"event":"odd","payload":"',
        rb"\u003ca href=\"x\"\u003e\u0026\u003c/a\u003e\n\t\r\u0000\u001f\u0008\u000c\\ caf",
        b"\xc3\xa9",
        rb' \u2028 \ufffd"}',
    )
)


def test_the_envelope_is_written_as_go_marshals_it() -> None:
    assert encode_envelope("user.created", PLAIN_PAYLOAD) == PLAIN_BODY
    assert encode_envelope("odd", TRICKY_PAYLOAD) == TRICKY_BODY


def test_the_envelope_is_read_as_go_unmarshals_it() -> None:
    assert decode_envelope(PLAIN_BODY) == ("user.created", PLAIN_PAYLOAD)
    # The invalid byte was lost on the way in (Go's own Marshal replaced it).
    expected = TRICKY_PAYLOAD.replace(b"\xff", "\ufffd".encode())
    assert decode_envelope(TRICKY_BODY) == ("odd", expected)
    # Valid UTF-8 survives the round trip unchanged, and encodes back to the same bytes.
    again = encode_envelope(*decode_envelope(PLAIN_BODY))
    assert again == PLAIN_BODY


def test_go_strings_join_escaped_surrogate_pairs_and_replace_lone_ones() -> None:
    assert decode_envelope(rb'{"event":"e","payload":"\ud83d\ude00"}')[1] == "😀".encode()
    assert decode_envelope(rb'{"event":"e","payload":"a\ud800b"}')[1] == "a\ufffdb".encode()
    assert go_string("😀".encode()) == b'"' + "😀".encode() + b'"'


@pytest.mark.parametrize(
    "body", [b"not json", b"[1]", b'{"event":"e","payload":"aGk="', b'{"event":1}']
)
def test_a_body_that_is_no_go_envelope_is_refused(body: bytes) -> None:
    with pytest.raises(ValueError, match=r"."):
        decode_envelope(body)


@pytest.mark.integration
async def test_python_and_go_format_services_share_the_broker(
    names: Names, make_plugin: PluginFactory
) -> None:
    source, sink = names.service("users"), names.service("mailer")
    shared_queue = f"{source}:events"
    names.queues.update({shared_queue, f"{shared_queue}.dead-letter"})
    go_mode = {"QUEUE_DSN": BROKER, "QUEUE_WIRE_FORMAT": "lastbackend"}
    created: list[Delivery] = []
    deleted: list[bytes] = []

    async def on_created(delivery: Delivery) -> None:
        created.append(delivery)

    async def on_deleted(data: bytes) -> None:
        deleted.append(data)

    connection = await aio_pika.connect(BROKER, timeout=5)
    async with (
        connection,
        open_plugin(make_plugin(source, go_mode)) as publisher,
        open_plugin(make_plugin(sink, go_mode)) as subscriber,
    ):
        channel = await connection.channel()
        # Declaring it again as the Go plugin does succeeds only if it is a durable fanout.
        exchange = await channel.declare_exchange(
            source, aio_pika.ExchangeType.FANOUT, durable=True
        )
        observer = await channel.declare_queue(exclusive=True)
        await observer.bind(exchange, routing_key="*")
        first = await subscriber.subscribe(source, "user.created", on_created)
        second = await subscriber.subscribe(source, "user.deleted", on_deleted)
        assert first.queue == second.queue == shared_queue

        await publisher.publish("user.created", PLAIN_PAYLOAD, {"tenant": "acme"})
        await publisher.publish("user.deleted", b"7")
        # What a Go service publishes: type, headers and body, nothing else.
        go_message = aio_pika.Message(
            body=encode_envelope("user.deleted", b"8"),
            type=f"{source}:user.deleted",
            headers={},
        )
        await exchange.publish(go_message, routing_key="*")
        await wait_for(lambda: len(created) == 1 and len(deleted) == 2, 10, "not all arrived")

        seen = []
        for _ in range(3):
            message = await observer.get(no_ack=True, timeout=5)
            seen.append((message.type, message.routing_key, message.body))
    assert seen[0] == (f"{source}:user.created", "*", PLAIN_BODY)
    assert seen[1] == (f"{source}:user.deleted", "*", b'{"event":"user.deleted","payload":"7"}')
    [delivery] = created
    assert (delivery.event, delivery.service, delivery.data) == (
        "user.created",
        source,
        PLAIN_PAYLOAD,
    )
    assert dict(delivery.headers) == {"tenant": "acme"}
    assert deleted == [b"7", b"8"]


@pytest.mark.integration
async def test_a_queue_of_its_own_is_durable_and_keeps_only_its_event(
    names: Names, make_plugin: PluginFactory
) -> None:
    source, sink = names.service("users"), names.service("audit")
    own = f"{sink}-users-created"
    names.queues.update({own, f"{own}.dead-letter"})
    go_mode = {"QUEUE_DSN": BROKER, "QUEUE_WIRE_FORMAT": "lastbackend"}
    received: list[bytes] = []

    async def handler(data: bytes) -> None:
        received.append(data)

    async with (
        open_plugin(make_plugin(source, go_mode)) as publisher,
        open_plugin(make_plugin(sink, go_mode)) as subscriber,
    ):
        await subscriber.subscribe(source, "user.created", handler, queue=own)
        await publisher.publish("user.deleted", b"1")
        await publisher.publish("user.created", b"2")
        await wait_for(lambda: received == [b"2"], 10, f"received {received}")
        connection = await aio_pika.connect(BROKER, timeout=5)
        async with connection:
            channel = await connection.channel()
            # A passive declaration would not tell: declaring it durable again must succeed.
            arguments: FieldTable = {
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": f"{own}.dead-letter",
            }
            await channel.declare_queue(own, durable=True, arguments=arguments)
    assert received == [b"2"]
