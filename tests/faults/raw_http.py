"""Malformed HTTP/1.1 requests as raw bytes (hypothesis strategies), and one exchange on a socket.

The requests aim at the routes of ``httptest.users.Users`` served by
``apps/service.py``: path parameters (``/v1/users/{id}``, ``/v1/{user.id}``,
``/v1/{parent=projects/*}/users``), query parameters (``/v1/users``) and
bodies (``body: "*"``, ``body: "user"``, ``body: "filter"``). Its ``Fail``,
``Sleep`` and ``Watch`` methods are left out: they fail or wait on purpose.
"""

from __future__ import annotations

import contextlib
import json
import socket

from hypothesis import strategies as st

__all__ = ["NO_ANSWER", "TIMED_OUT", "exchange", "raw_requests"]

NO_ANSWER = "closed without an answer"
TIMED_OUT = "no answer in time"

# (method, target with {} for path segments, whether the route reads a body)
ROUTES = (
    ("GET", "/v1/users/{}", False),
    ("GET", "/v1/projects/{}/users/{}", False),
    ("GET", "/v1/users", False),
    ("GET", "/v1/users:names", False),
    ("POST", "/v1/users:search", True),
    ("POST", "/v1/projects/{}/users", True),
    ("PATCH", "/v1/{}", True),
    ("PUT", "/v1/users/{}", True),
    ("DELETE", "/v1/users/{}", False),
)
ODD_METHODS = (b"get", b"HEAD", b"OPTIONS", b"TRACE", b"CONNECT", b"PROPFIND", b"G\x00T", b"")
VERSIONS = (b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/1.1 x", b"", b"http/1.1", b"HTTP/9")
FIELDS = (
    "id", "name", "page_size", "page_token", "roles", "filter.city", "filter.age.min",
    "labels", "since", "min_id", "include_deleted", "ids", "min_score", "cursor", "read_mask",
    "user.id", "user.role", "user.labels", "user.created_at", "user.avatar", "unknown",
)  # fmt: skip
ODD_BODIES = (
    b"", b"{", b"[]", b"null", b'"x"', b"1", b'{"user": "x"}', b'{"id": 1e999}',
    b'{"user": {"id": "9223372036854775808"}}', b'{"a": 1, "a": 2}', b"\xff\xfe{}",
    b'{"user": {"display_name": "\xc3\x28"}}', b'{"user": {"display_name": "\\ud800"}}',
)  # fmt: skip
HEADER_NAMES = (
    b"X-Request-Id", b"Content-Type", b"Accept", b"Authorization", b"Grpc-Timeout",
    b"Traceparent", b"Expect", b"Transfer-Encoding", b"Content-Length", b"Host",
)  # fmt: skip

_bytes = st.binary(max_size=24)
_escapes = st.sampled_from(
    [b"%", b"%z", b"%zz", b"%00", b"%ff", b"%c3%28", b"%e2%82", b"%2F", b"%25", b"%ed%a0%80"]
)
_numbers = st.one_of(
    st.integers(-(2**70), 2**70).map(lambda n: str(n).encode()),
    st.sampled_from([b"1e400", b"NaN", b"-0", b"0x10", b"1.5", b" 1", b"\xff"]),
)
_pieces = st.one_of(_numbers, st.text(max_size=12).map(str.encode), _bytes, _escapes)
segments = st.lists(_pieces, max_size=4).map(b"".join)

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(FIELDS), children, max_size=3)
    ),
    max_leaves=8,
)


def _nested(depth: int) -> bytes:
    return b'{"user": ' * depth + b"1" + b"}" * depth


bodies = st.one_of(
    st.dictionaries(st.sampled_from(FIELDS), _json_values, max_size=5).map(
        lambda value: json.dumps(value).encode()
    ),
    st.builds(
        lambda field, value: json.dumps({"user": {field: value}}).encode(),
        st.sampled_from(FIELDS),
        _json_values,
    ),
    st.sampled_from(ODD_BODIES),
    st.integers(1, 3000).map(_nested),
    _bytes,
)


def _query_item(field: str, value: bytes) -> bytes:
    return field.encode() + b"=" + value


queries = st.one_of(
    st.just(b""),
    st.lists(st.builds(_query_item, st.sampled_from(FIELDS), segments), max_size=5).map(
        lambda items: b"?" + b"&".join(items)
    ),
    st.sampled_from([b"?", b"?&&", b"?=", b"?page_size", b"?ids=1&ids=x", b"?%zz=1"]),
)

_header_names = st.one_of(
    st.sampled_from(HEADER_NAMES),
    _bytes.filter(lambda name: b"\r" not in name and b"\n" not in name),
)
_header_values = st.one_of(
    _bytes.filter(lambda value: b"\r" not in value and b"\n" not in value),
    st.sampled_from([b"application/json", b"100-continue", b"chunked", b"-1", b"99999999999"]),
    st.integers(1, 200_000).map(lambda size: b"x" * size),
)
headers = st.lists(st.tuples(_header_names, _header_values), max_size=4)

FRAMINGS = (
    "length", "none", "duplicate length", "contradicting lengths", "negative length",
    "truncated", "chunked", "chunked garbage", "chunked and length",
)  # fmt: skip


def _framed(framing: str, body: bytes, garbage: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The framing headers and the bytes sent after the head."""
    length = str(len(body)).encode()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n"
    return {
        "length": ([(b"Content-Length", length)], body),
        "none": ([], body),
        "duplicate length": ([(b"Content-Length", length), (b"Content-Length", length)], body),
        "contradicting lengths": (
            [(b"Content-Length", length), (b"Content-Length", b"%d" % (len(body) + 1))],
            body,
        ),
        "negative length": ([(b"Content-Length", b"-%s" % length)], body),
        "truncated": ([(b"Content-Length", b"%d" % (len(body) + 10))], body),
        "chunked": ([(b"Transfer-Encoding", b"chunked")], chunked),
        "chunked garbage": ([(b"Transfer-Encoding", b"chunked")], garbage + b"\r\n" + body),
        "chunked and length": (
            [(b"Transfer-Encoding", b"chunked"), (b"Content-Length", length)],
            chunked,
        ),
    }[framing]


FAULTS = ("request line", "method", "version", "path", "query", "headers", "framing", "body")


@st.composite
def raw_requests(draw: st.DrawFn) -> bytes:
    """One request to a route with one or two of its parts broken, the rest well formed.

    Broken everywhere at once, nearly every request would stop at the parser;
    one fault at a time reaches routing, transcoding and the handlers too.
    """
    faults = set(draw(st.lists(st.sampled_from(FAULTS), min_size=1, max_size=2)))
    method, template, reads_body = draw(st.sampled_from(ROUTES))
    verb = draw(st.sampled_from(ODD_METHODS)) if "method" in faults else method.encode()
    path = template.encode()
    for _ in range(template.count("{}")):
        segment = draw(segments) if "path" in faults else b"%d" % draw(st.integers(0, 99))
        path = path.replace(b"{}", segment, 1)
    target = path + (draw(queries) if "query" in faults else b"")
    version = draw(st.sampled_from(VERSIONS)) if "version" in faults else b"HTTP/1.1"
    line = b" ".join(part for part in (verb, target, version) if part)
    if "request line" in faults:
        line = draw(st.one_of(_bytes, _bytes.map(lambda junk: line + junk)))
    body = draw(bodies) if "body" in faults else (b"{}" if reads_body else b"")
    framing = draw(st.sampled_from(FRAMINGS)) if "framing" in faults else "length"
    framing_fields, content = _framed(framing, body, draw(_bytes))
    extra = draw(headers) if "headers" in faults else []
    fields = [(b"Host", b"127.0.0.1"), (b"Connection", b"close"), *framing_fields, *extra]
    head = b"\r\n".join([line, *(name + b": " + value for name, value in fields)])
    return head + b"\r\n\r\n" + content


def exchange(port: int, request: bytes, timeout: float) -> str:
    """Send ``request`` on a new connection; the final status of the answer, or why there is none.

    Interim answers (``100 Continue``) are skipped.
    """
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        # The server may answer and close before reading everything: read the answer.
        with contextlib.suppress(OSError):
            sock.sendall(request)
        try:
            while (status := _final_status(answer)) is None:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
        except TimeoutError:
            return TIMED_OUT
        except ConnectionResetError:
            status = None
    if status is not None:
        return status
    return NO_ANSWER if not answer else f"odd: {answer[:40]!r}"


def _final_status(answer: bytes) -> str | None:
    """The status of the first non-interim answer in ``answer``, once its line is complete."""
    for line in answer.split(b"\r\n")[:-1]:
        if line.startswith(b"HTTP/"):
            parts = line.split()
            if len(parts) >= 2 and not parts[1].startswith(b"1"):
                return parts[1].decode()
    return None
