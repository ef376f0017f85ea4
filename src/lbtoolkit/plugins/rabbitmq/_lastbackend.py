"""The Go toolkit's RabbitMQ wire format (``WIRE_FORMAT=lastbackend``), so both share a broker.

What the Go plugin (github.com/lastbackend/toolkit-plugins, ``rabbitmq``) does:

- each service publishes to a durable **fanout** exchange named after itself,
  with routing key ``*`` and the AMQP ``type`` property ``{service}:{event}``;
- the body is the JSON of a struct ``{Event string; Payload string}`` with
  tags ``event`` and ``payload``: the payload bytes are converted to a Go
  ``string`` (not base64, which ``[]byte`` would give, nor raw JSON, which
  ``json.RawMessage`` would), so they travel as one JSON string;
- a subscriber consumes the queue ``{publisher}:events`` (non-durable,
  auto-delete, no arguments) bound to the publisher's exchange with key ``*``,
  and dispatches on ``type``; every subscribing service shares that queue.

The body is written here as Go 1.21's ``encoding/json`` writes it (the Go
module's ``go`` line), byte for byte: see :func:`go_string`.
"""

from __future__ import annotations

import json

__all__ = [
    "EXCHANGE_KIND",
    "ROUTING_KEY",
    "decode_envelope",
    "encode_envelope",
    "go_string",
    "message_type",
    "queue_of",
]

EXCHANGE_KIND = "fanout"
ROUTING_KEY = "*"

# What Go's encoding/json escapes besides '"', '\\' and control characters:
# HTML's '<', '>', '&' (Marshal escapes HTML by default) and the JavaScript
# line separators U+2028 and U+2029.
_SHORT = {
    0x22: b'\\"',
    0x5C: b"\\\\",
    0x0A: b"\\n",
    0x0D: b"\\r",
    0x09: b"\\t",
}
_REPLACEMENT = b"\\ufffd"


def _needs_escape(byte: int) -> bool:
    return byte < 0x20 or byte in _SHORT or byte in (0x3C, 0x3E, 0x26)  # noqa: PLR2004


_ESCAPED = {byte: _SHORT.get(byte, b"\\u%04x" % byte) for byte in range(128) if _needs_escape(byte)}


def go_string(data: bytes) -> bytes:
    """``data`` as Go 1.21 ``json.Marshal`` writes ``string(data)``, quotes included.

    Valid UTF-8 passes through except: ``"`` and ``\\`` escaped; ``\\n``, ``\\r``
    and ``\\t`` as such; other bytes below 0x20 as ``\\u00XX`` (lower-case hex;
    Go 1.22 started writing ``\\b`` and ``\\f``, 1.21 does not); ``<``, ``>``, ``&``
    as ``\\u003c``, ``\\u003e``, ``\\u0026``; U+2028 and U+2029 as ``\\u2028`` and
    ``\\u2029``. Each byte of an invalid UTF-8 sequence becomes ``\\ufffd``.
    """
    out = bytearray(b'"')
    text = data.decode("utf-8", "surrogateescape")
    for char in text:
        code = ord(char)
        if code < 0x80:  # noqa: PLR2004 - ASCII
            escaped = _ESCAPED.get(code)
            out += escaped if escaped is not None else bytes((code,))
        elif 0xDC80 <= code <= 0xDCFF:  # noqa: PLR2004 - a byte that was no valid UTF-8
            out += _REPLACEMENT
        elif code in (0x2028, 0x2029):
            out += b"\\u%04x" % code
        else:
            out += char.encode("utf-8")
    out += b'"'
    return bytes(out)


def encode_envelope(event: str, payload: bytes) -> bytes:
    """The body the Go plugin publishes: ``{"event":...,"payload":...}``, no spaces, that order."""
    return b'{"event":' + go_string(event.encode()) + b',"payload":' + go_string(payload) + b"}"


def decode_envelope(body: bytes) -> tuple[str, bytes]:
    """Event and payload of a Go plugin's body; ``ValueError`` for anything else.

    Lone surrogates (``\\ud800``, which Go reads as U+FFFD) are read as Go reads them.
    """
    try:
        envelope = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        msg = f"not JSON: {error}"
        raise ValueError(msg) from None
    if not isinstance(envelope, dict):
        msg = "not a JSON object"
        raise ValueError(msg)  # noqa: TRY004 - a malformed body is a value problem
    event, payload = envelope.get("event", ""), envelope.get("payload", "")
    if not isinstance(event, str) or not isinstance(payload, str):
        msg = '"event" and "payload" are not both JSON strings'
        raise ValueError(msg)  # noqa: TRY004 - a malformed body is a value problem
    return event, _go_bytes(payload)


def _go_bytes(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A surrogate pair written as two escapes joins; a lone one becomes U+FFFD.
        joined = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return joined.encode("utf-8", "replace")


def message_type(service: str, event: str) -> str:
    """The AMQP ``type`` the Go plugin publishes with and dispatches on."""
    return f"{service}:{event}"


def queue_of(publisher: str) -> str:
    """The queue the Go plugin's subscribers share for one publisher's events."""
    return f"{publisher}:events"
