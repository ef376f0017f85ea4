"""One implementation, two transports: gRPC (grpcio's own stub) and HTTP answer alike."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf import json_format

from lbtoolkit.codegen import generate_package
from lbtoolkit.server import RequestContext
from lbtoolkit.testing import open_service

PROTOS = Path(__file__).parent / "protos"


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, ModuleType, ModuleType]:
    out = tmp_path_factory.mktemp("generated")
    generate_package(
        [PROTOS / "xcheck" / "catalog.proto"], include=[PROTOS], out=out / "xcheck_gen"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(out))
        return (
            importlib.import_module("xcheck_gen.xcheck.catalog_toolkit"),
            importlib.import_module("xcheck_gen.xcheck.catalog_pb2"),
            importlib.import_module("xcheck_gen.xcheck.catalog_pb2_grpc"),
        )


class Catalog:
    """Echoes what it received, so any difference in transcoding shows."""

    def __init__(self, messages: ModuleType) -> None:
        self._messages = messages

    def _reply(self, shelf: str, book: Any, view: int, context: RequestContext) -> Any:
        echoed = context.metadata.get("x-echo", "")
        return self._messages.BookReply(shelf=shelf, book=book, view=view, echoed=echoed)

    async def get_book(self, request: Any, context: RequestContext) -> Any:
        book = self._messages.Book(id=request.book.id, tags=list(request.tags))
        return self._reply(request.shelf, book, request.view, context)

    async def create_book(self, request: Any, context: RequestContext) -> Any:
        return self._reply(request.shelf, request.book, 0, context)

    async def get_title(self, request: Any, context: RequestContext) -> Any:
        book = self._messages.Book(id=request.book.id, title=f"book {request.book.id}")
        return self._reply("", book, 0, context)


@pytest.mark.parametrize(
    ("method", "request_fields", "http_call"),
    [
        (
            "GetBook",
            {"shelf": "s1", "book": {"id": "7"}, "view": "VIEW_FULL", "tags": ["a", "b"]},
            ("GET", "/v1/shelves/s1/books/7?view=VIEW_FULL&tags=a&tags=b", None),
        ),
        (
            "CreateBook",
            {"shelf": "s2", "book": {"id": "3", "title": "Dune", "tags": ["sf"]}},
            ("POST", "/v1/shelves/s2/books", {"id": "3", "title": "Dune", "tags": ["sf"]}),
        ),
        (
            "CreateBook",  # the additional binding: the whole request in the body
            {"book": {"id": "4", "title": "Emma"}},
            ("PUT", "/v1/books/4", {"book": {"title": "Emma"}}),
        ),
    ],
)
async def test_grpc_and_http_give_identical_answers(
    catalog: tuple[ModuleType, ModuleType, ModuleType],
    method: str,
    request_fields: dict[str, Any],
    http_call: tuple[str, str, dict[str, Any] | None],
) -> None:
    toolkit, messages, stubs = catalog
    async with _running(toolkit, messages) as (grpc_target, http_base):
        request = json_format.ParseDict(request_fields, getattr(messages, f"{method}Request")())
        async with grpc.aio.insecure_channel(grpc_target) as channel:
            stub = stubs.CatalogStub(channel)
            over_grpc = await getattr(stub, method)(request, metadata=[("x-echo", "grpc")])
        verb, path, body = http_call
        async with httpx.AsyncClient(base_url=http_base) as client:
            answer = await client.request(verb, path, json=body, headers={"x-echo": "http"})
    assert answer.status_code == 200, answer.text
    over_http = json_format.ParseDict(answer.json(), messages.BookReply())
    assert (over_grpc.echoed, over_http.echoed) == ("grpc", "http")  # headers are metadata
    over_grpc.echoed = over_http.echoed = ""
    assert over_http == over_grpc


async def test_response_body_sends_one_field(
    catalog: tuple[ModuleType, ModuleType, ModuleType],
) -> None:
    toolkit, messages, stubs = catalog
    async with _running(toolkit, messages) as (grpc_target, http_base):
        async with grpc.aio.insecure_channel(grpc_target) as channel:
            over_grpc = await stubs.CatalogStub(channel).GetTitle(
                messages.GetBookRequest(book=messages.Book(id=9))
            )
        async with httpx.AsyncClient(base_url=http_base) as client:
            answer = await client.get("/v1/titles/9")
    assert answer.json() == json_format.MessageToDict(over_grpc.book)
    assert answer.json() == {"id": "9", "title": "book 9"}


@asynccontextmanager
async def _running(toolkit: ModuleType, messages: ModuleType) -> AsyncIterator[tuple[str, str]]:
    """The generated service with ``Catalog`` on free loopback ports: (gRPC target, HTTP base)."""
    environ: dict[str, str] = {}
    for name in ("XC_CATALOG_GRPC_SERVER", "XC_CATALOG_SERVER", "XC_PROBES_SERVER"):
        environ[f"{name}_LISTEN"] = "127.0.0.1"
        environ[f"{name}_PORT"] = "0"
    app = toolkit.new_catalog_service("catalog", env_prefix="XC", environ=environ, argv=[])
    toolkit.register_catalog_rpc_server(app, lambda: Catalog(messages))
    async with open_service(app):
        yield f"127.0.0.1:{app.server.grpc.port}", f"http://127.0.0.1:{app.server.http.port}"
