"""The examples of the HttpRule documentation (google/api/http.proto), each over real HTTP."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from google.protobuf import text_format
from google.protobuf.message import Message

from lbtoolkit.server import RequestContext
from tests.server.http.support import client, open_server, spec_of


class Recorder:
    """Any service of messaging.proto: records requests, answers an empty reply."""

    def __init__(self, reply_type: type[Message]) -> None:
        self.reply_type = reply_type
        self.received: list[Message] = []

    async def get_message(self, request: Message, context: RequestContext) -> Message:
        del context
        self.received.append(request)
        return self.reply_type()

    async def update_message(self, request: Message, context: RequestContext) -> Message:
        return await self.get_message(request, context)


@dataclass(frozen=True)
class Case:
    service: str
    method: str
    url: str
    expected: str
    body: Any = None


CASES = {
    # The pattern of GetMessage is /v1/{name=messages/*}.
    "path pattern": Case("PathPattern", "GET", "/v1/messages/123456", 'name: "messages/123456"'),
    # get: "/v1/messages/{message_id}"; revision and sub.subfield from the query
    "query parameters": Case(
        "QueryParameters",
        "GET",
        "/v1/messages/123456?revision=2&sub.subfield=foo",
        'message_id: "123456" revision: 2 sub { subfield: "foo" }',
    ),
    "repeated query parameter": Case(
        "QueryParameters",
        "GET",
        "/v1/messages/1?tags=A&tags=B",
        'message_id: "1" tags: "A" tags: "B"',
    ),
    "path field wins over the query": Case(
        "QueryParameters", "GET", "/v1/messages/1?message_id=2&messageId=3", 'message_id: "1"'
    ),
    # patch: "/v1/messages/{message_id}" body: "message"
    "body field": Case(
        "BodyField",
        "PATCH",
        "/v1/messages/123456",
        'message_id: "123456" message { text: "Hi!" }',
        {"text": "Hi!"},
    ),
    # patch: "/v1/messages/{message_id}" body: "*"
    "body star": Case(
        "BodyStar",
        "PATCH",
        "/v1/messages/123456",
        'message_id: "123456" text: "Hi!"',
        {"text": "Hi!"},
    ),
    "body star ignores the query": Case(
        "BodyStar",
        "PATCH",
        "/v1/messages/1?text=query",
        'message_id: "1" text: "body"',
        {"text": "body"},
    ),
    "body star path wins over the body": Case(
        "BodyStar",
        "PATCH",
        "/v1/messages/1",
        'message_id: "1" text: "t"',
        {"messageId": "9", "text": "t"},
    ),
    # /v1/messages/{message_id}, additional binding /v1/users/{user_id}/messages/{message_id}
    "main binding": Case(
        "AdditionalBindings", "GET", "/v1/messages/123456", 'message_id: "123456"'
    ),
    "additional binding": Case(
        "AdditionalBindings",
        "GET",
        "/v1/users/me/messages/123456",
        'user_id: "me" message_id: "123456"',
    ),
    # get: /v1/messages/{message_id}/{sub.subfield}
    "nested path field": Case(
        "NestedPath",
        "GET",
        "/v1/messages/123456/foo",
        'message_id: "123456" sub { subfield: "foo" }',
    ),
    # Single-segment variables are fully decoded, multi-segment ones keep %2F.
    "single segment decoding": Case(
        "AdditionalBindings",
        "GET",
        "/v1/users/j%C3%B6rg/messages/x%2Fy",
        'user_id: "jörg" message_id: "x/y"',
    ),
    "multi segment decoding": Case(
        "PathPattern", "GET", "/v1/messages/a%2Fb%20c", 'name: "messages/a%2Fb c"'
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
async def test_http_rule_examples(protos: SimpleNamespace, name: str) -> None:
    case = CASES[name]
    service = protos.messaging.DESCRIPTOR.services_by_name[case.service]
    spec = spec_of(service, Recorder)
    method = spec.methods[0]
    recorder = Recorder(method.response_type)
    async with open_server([(spec, recorder)]) as server, client(server) as http:
        response = await http.request(case.method, case.url, json=case.body)
    assert response.status_code == 200, response.text
    expected = text_format.Parse(case.expected, method.request_type())
    assert recorder.received == [expected]
