"""A generated service end to end: ``lbtoolkit generate``, the service, its HTTP server."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response

from lbtoolkit.errors import NotFound
from lbtoolkit.server import RequestContext
from lbtoolkit.server.http import CallNext, Middleware
from lbtoolkit.testing import open_service

PROTOS = Path(__file__).parent / "protos"
LBTOOLKIT = Path(sys.executable).parent / "lbtoolkit"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    out = tmp_path_factory.mktemp("generated")
    command = [str(LBTOOLKIT), "generate", "-I", str(PROTOS), "-o", str(out / "httpshop_gen")]
    subprocess.run([*command, str(PROTOS / "httpshop" / "shop.proto")], check=True)
    sys.path.insert(0, str(out))
    return importlib.import_module("httpshop_gen.httpshop.shop_toolkit")


class Journal:
    def __init__(self) -> None:
        self.events: list[str] = []


def recording(name: str) -> Any:
    def construct(journal: Journal) -> Middleware:
        async def middleware(request: Request, call_next: CallNext) -> Response:
            journal.events.append(f"{name} {request.method}")
            return await call_next(request)

        return middleware

    return construct


async def test_generated_routes_and_middlewares(shop: ModuleType) -> None:
    items = importlib.import_module("httpshop_gen.httpshop.shop_pb2")

    class Shop:
        async def get_item(self, request: Any, context: RequestContext) -> Any:
            if request.id == 0:
                raise NotFound("no item 0")
            return items.Item(id=request.id, title=context.metadata.get("x-title", ""))

        async def put_item(self, request: Any, context: RequestContext) -> Any:
            del context
            return request

    environ = {
        "LB_SHOP_SERVER_LISTEN": "127.0.0.1",
        "LB_SHOP_SERVER_PORT": "0",
        "LB_SHOP_GRPC_SERVER_LISTEN": "127.0.0.1",
        "LB_SHOP_GRPC_SERVER_PORT": "0",
        "LB_PROBES_SERVER_LISTEN": "127.0.0.1",
        "LB_PROBES_SERVER_PORT": "0",
    }
    journal = Journal()
    app = shop.new_shop_service("shop", env_prefix="LB", environ=environ, argv=[])
    shop.register_shop_rpc_server(app, Shop)
    app.provide(lambda: journal, provides=Journal)
    app.server.http.set_middleware("audit", recording("audit"))
    app.server.http.set_middleware("auth", recording("auth"))
    async with open_service(app):
        base = f"http://127.0.0.1:{app.server.http.port}"
        async with httpx.AsyncClient(base_url=base) as http:
            found = await http.get("/v1/items/5", headers={"x-title": "hat"})
            missing = await http.get("/v1/items/0")
            put = await http.put("/v1/items/7", json={"title": "cap"})
    assert (found.status_code, found.json()) == (200, {"id": "5", "title": "hat"})
    assert (missing.status_code, missing.json()["message"]) == (404, "no item 0")
    assert (put.status_code, put.json()) == (200, {"id": "7", "title": "cap"})
    # "audit" is global (option (toolkit.server)), "auth" GetItem's own; PutItem excludes "audit".
    assert journal.events == ["audit GET", "auth GET", "audit GET", "auth GET"]
