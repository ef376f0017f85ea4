"""One grammar: ``generate`` and ``add_handler`` accept exactly the same path templates.

Each template goes through the real generator (a ``CodeGeneratorRequest``
built in memory, the way protoc hands it over) and through the real HTTP
server's ``add_handler``; both must accept it or both refuse it. Accepted
templates are then served by the router, which must find the route and
give back the values a concrete path put in its variables.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lbtoolkit.codegen import HttpRuleError, generate
from lbtoolkit.server.http._router import Router
from lbtoolkit.spec import PathTemplate, PathTemplateError
from tests.server.http.support import new_server

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

# googleapis-common-protos has no py.typed; its extension is read as ``Any``.
_GOOGLE_API_HTTP: Any = importlib.import_module("google.api.annotations_pb2").http
# The request's fields, so that every variable names one and only the path is judged.
FIELD_PATHS = ("name", "parent", "id", "book.id")
PCHARS = "abcAZ09-._~!$&'()+,;@"
LITERAL = st.text(PCHARS, min_size=1, max_size=4) | st.sampled_from(["%2F", "%c3%A9", "v1.0"])
# Characters with a meaning in the grammar, and some it refuses.
NOISE = st.text("/{}=*:%. a?#é" + PCHARS, max_size=24)


@st.composite
def variables(draw: st.DrawFn) -> str:
    field_path = draw(st.sampled_from(FIELD_PATHS))
    pattern = draw(st.lists(LITERAL | st.sampled_from(["*", "**"]), max_size=3))
    return "{" + field_path + ("=" + "/".join(pattern) if pattern else "") + "}"


@st.composite
def templates(draw: st.DrawFn) -> str:
    """Mostly well-formed templates, some with one flaw, some noise."""
    if draw(st.integers(0, 4)) == 0:
        return draw(NOISE)
    segments = draw(
        st.lists(
            LITERAL | st.sampled_from(["*", "**"]) | variables(),
            max_size=5,
        )
    )
    verb = draw(st.sampled_from(["", ":cancel", ":batch.get", ":", ":a b"]))
    text = "/" + "/".join(segments) + verb
    flaw = draw(st.sampled_from(["", "", "", "//", "{", "}", "*x", "=", ":", " "]))
    if flaw:
        at = draw(st.integers(0, len(text)))
        text = text[:at] + flaw + text[at:]
    return text


def request_for(template: str) -> plugin_pb2.CodeGeneratorRequest:
    """What protoc sends for a file whose one method is routed at ``GET template``."""
    book = descriptor_pb2.DescriptorProto(name="Book")
    book.field.add(name="id", number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING)
    request = descriptor_pb2.DescriptorProto(name="Req")
    string = descriptor_pb2.FieldDescriptorProto.TYPE_STRING
    for number, name in enumerate(("name", "parent", "id"), start=1):
        request.field.add(name=name, number=number, type=string)
    request.field.add(
        name="book",
        number=4,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE,
        type_name=".grammar.Book",
    )
    method = descriptor_pb2.MethodDescriptorProto(
        name="Get", input_type=".grammar.Req", output_type=".grammar.Book"
    )
    method.options.Extensions[_GOOGLE_API_HTTP].get = template
    file = descriptor_pb2.FileDescriptorProto(
        name="grammar.proto", package="grammar", syntax="proto3"
    )
    file.message_type.extend([book, request])
    file.service.add(name="Grammar").method.append(method)
    return plugin_pb2.CodeGeneratorRequest(file_to_generate=["grammar.proto"], proto_file=[file])


def generate_accepts(template: str) -> bool:
    try:
        generate(request_for(template), plugins={})
    except HttpRuleError:
        return False
    return True


async def handler(_: Request) -> Response:
    raise AssertionError  # never called: the server is not started


def add_handler_accepts(template: str) -> bool:
    server, _ = new_server()
    try:
        server.add_handler("GET", template, handler)
    except PathTemplateError:
        return False
    return True


@pytest.mark.parametrize(
    ("template", "accepted"),
    [
        ("/v1/{name=shelves/*/books/*}", True),
        ("/v1/{parent=shelves/*}/books/{book.id}", True),
        ("/v1/{name=**}", True),
        ("/v1/files/**", True),
        ("/v1/{name=operations/*}:cancel", True),
        ("/v1/{id}:batch.get", True),
        ("/v1.0/~a-b_c/!$&'()+,;@/%2F", True),
        ("/", True),
        ("v1/{name}", False),
        ("/v1/**/{name}", False),
        ("/v1/{name=**}/x", False),
        ("/v1/{name={id}}", False),
        ("/v1/{name", False),
        ("/v1/x{name}", False),
        ("/v1/{name}/{name}", False),
        ("/v1/{name}:", False),
        ("/v1/a:b/{name}", False),
        ("/v1/a b", False),
        ("/v1/a*b", False),
        ("/v1/%zz", False),
        ("/v1//{name}", False),
    ],
)
def test_grammar_cases_are_judged_alike(template: str, accepted: bool) -> None:
    assert generate_accepts(template) is accepted
    assert add_handler_accepts(template) is accepted


@settings(max_examples=300, deadline=None)
@given(templates())
def test_generate_and_add_handler_accept_the_same_templates(template: str) -> None:
    # A flaw can make a well-formed variable name a field the request lacks
    # (`/{n=ame}`): the generator then refuses for the field, not the path.
    assume(names_only_request_fields(template))
    assert generate_accepts(template) == add_handler_accepts(template)


def names_only_request_fields(template: str) -> bool:
    try:
        parsed = PathTemplate.parse(template)
    except PathTemplateError:
        return True
    return all(field_path in FIELD_PATHS for field_path in parsed.variables)


# Each example runs the generator: a loaded machine makes that slow, not the strategy.
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(templates())
def test_the_generator_refuses_with_the_grammar_reason(template: str) -> None:
    try:
        PathTemplate.parse(template)
    except PathTemplateError as error:
        reason = str(error)
    else:
        return
    with pytest.raises(HttpRuleError) as refused:
        generate(request_for(template), plugins={})
    where = "grammar.proto: method Grammar.Get: option (google.api.http)"
    assert str(refused.value) == f"{where}: {reason}"


@st.composite
def routed_paths(draw: st.DrawFn) -> tuple[str, str, dict[str, str]]:
    """A valid template, a raw path it matches and the raw values of its variables."""
    texts: list[str] = []
    path: list[str] = []
    values: dict[str, str] = {}
    value = st.text(PCHARS + ":", min_size=1, max_size=4)
    names = draw(st.permutations(FIELD_PATHS))
    for position in range(draw(st.integers(0, len(names)))):
        kind = draw(st.sampled_from(["literal", "*", "variable", "multi"]))
        if kind == "literal":
            texts.append(draw(LITERAL))
            path.append(texts[-1])
        elif kind == "*":
            texts.append("*")
            path.append(draw(value))
        else:
            one = draw(value) if kind == "variable" else "shelves/" + draw(value)
            texts.append("{" + names[position] + ("}" if kind == "variable" else "=shelves/*}"))
            values[names[position]] = one
            path.append(one)
    verb = draw(st.sampled_from(["", ":cancel"]))
    return "/" + "/".join(texts) + verb, "/" + "/".join(path) + verb, values


@given(routed_paths())
def test_the_router_finds_the_route_and_its_values(case: tuple[str, str, dict[str, str]]) -> None:
    text, path, values = case
    router: Router[str] = Router()
    router.add("GET", PathTemplate.parse(text), text, label=text)
    found = router.match("GET", path)
    assert found is not None
    route, raw = found
    assert route.target == text
    assert dict(zip(PathTemplate.parse(text).variables, raw, strict=True)) == values
