"""``/openapi.json`` and ``/docs``: the services' merged document, and Swagger UI."""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from lbtoolkit.codegen import generate_package
from lbtoolkit.server import RequestContext
from lbtoolkit.server.http._docs import load_document, merge_documents, proto_named
from lbtoolkit.testing import open_service

SHOP = Path(__file__).parent / "protos" / "httpshop" / "shop.proto"

# Two HTTP services in one file: each service's app serves its own routes only.
PAIR = """
syntax = "proto3";
package docspair;

import "github.com/lastbackend/toolkit/protoc-gen-toolkit/toolkit/options/annotations.proto";
import "google/api/annotations.proto";

message Ping {
  string user_name = 1;
}

service Left {
  option (toolkit.runtime) = {servers: [HTTP]};
  rpc Echo(Ping) returns (Ping) {
    option (google.api.http) = {post: "/v1/left" body: "*"};
  }
}

service Right {
  option (toolkit.runtime) = {servers: [HTTP]};
  rpc Echo(Ping) returns (Ping) {
    option (google.api.http) = {get: "/v1/right/{user_name}"};
  }
}
"""


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("docs")
    pair = out / "apis" / "docspair" / "pair.proto"
    pair.parent.mkdir(parents=True)
    pair.write_text(PAIR, encoding="utf-8")
    generate_package([SHOP], include=[SHOP.parents[1]], out=out / "docs_gen")
    generate_package([pair], include=[out / "apis"], out=out / "docs_gen")
    sys.path.insert(0, str(out))
    return out / "docs_gen"


@pytest.fixture(scope="module")
def shop(generated: Path) -> ModuleType:
    return importlib.import_module("docs_gen.httpshop.shop_toolkit")


@pytest.fixture(scope="module")
def pair(generated: Path) -> ModuleType:
    return importlib.import_module("docs_gen.docspair.pair_toolkit")


def _environ(**extra: str) -> dict[str, str]:
    return {
        "LB_SHOP_SERVER_LISTEN": "127.0.0.1",
        "LB_SHOP_SERVER_PORT": "0",
        "LB_SHOP_GRPC_SERVER_LISTEN": "127.0.0.1",
        "LB_SHOP_GRPC_SERVER_PORT": "0",
        "LB_PROBES_SERVER_LISTEN": "127.0.0.1",
        "LB_PROBES_SERVER_PORT": "0",
        **extra,
    }


class Shop:
    async def get_item(self, request: Any, context: RequestContext) -> Any:
        del context
        items = importlib.import_module("docs_gen.httpshop.shop_pb2")
        return items.Item(id=request.id, title="hat")

    async def put_item(self, request: Any, context: RequestContext) -> Any:
        del context
        return request


def _shop_app(shop: ModuleType, **extra: str) -> Any:
    app = shop.new_shop_service("shop", env_prefix="LB", environ=_environ(**extra), argv=[])
    shop.register_shop_rpc_server(app, Shop)
    app.server.http.set_middleware("audit", _passing)
    app.server.http.set_middleware("auth", _passing)
    return app


def _passing() -> Any:
    async def middleware(request: Any, call_next: Any) -> Any:
        return await call_next(request)

    return middleware


async def test_openapi_json_is_the_generated_document(shop: ModuleType, generated: Path) -> None:
    app = _shop_app(shop)
    async with open_service(app):
        base = f"http://127.0.0.1:{app.server.http.port}"
        async with httpx.AsyncClient(base_url=base) as http:
            answer = await http.get("/openapi.json")
            head = await http.head("/openapi.json")
            post = await http.post("/openapi.json")
            item = await http.get("/v1/items/5")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    served = answer.json()
    on_disk = json.loads((generated / "httpshop" / "shop.openapi.json").read_text())
    assert served == on_disk
    assert served == merge_documents([(shop.SHOP_SPEC, on_disk)], "shop")
    validate(served)
    assert served["servers"] == [{"url": "/"}]
    assert set(served["paths"]["/v1/items/{id}"]) == {"get", "put"}
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] == str(len(answer.content))
    assert (post.status_code, post.headers["allow"]) == (405, "GET, HEAD")
    assert post.json()["code"] == 12  # UNIMPLEMENTED, as grpc-gateway answers a 405
    # The document describes what the route answers.
    assert item.json() == {"id": "5", "title": "hat"}
    item_schema = served["components"]["schemas"]["httpshop.Item"]["properties"]
    assert item_schema["id"]["type"] == ["string", "null"]


async def test_docs_page_and_its_assets(shop: ModuleType) -> None:
    app = _shop_app(shop)
    async with open_service(app):
        base = f"http://127.0.0.1:{app.server.http.port}"
        async with httpx.AsyncClient(base_url=base) as http:
            page = await http.get("/docs")
            assert page.status_code == 200
            assert page.headers["content-type"] == "text/html; charset=utf-8"
            assert '<div id="swagger-ui">' in page.text
            references = re.findall(r'(?:src|href)="([^"]+)"', page.text)
            assets = {ref: await http.get(str(page.url.join(ref))) for ref in references}
            initializer = await http.get("/docs/lbtoolkit-docs.js")
        families = {ref: a.headers["content-type"].split(";")[0] for ref, a in assets.items()}
        metrics = app.runtime.tools.metrics.registry
    assert families == {
        "docs/favicon-32x32.png": "image/png",
        "docs/swagger-ui.css": "text/css",
        "docs/swagger-ui-bundle.js": "text/javascript",
        "docs/lbtoolkit-docs.js": "text/javascript",
    }
    assert all(a.status_code == 200 for a in assets.values())
    assert "SwaggerUIBundle" in assets["docs/swagger-ui-bundle.js"].text
    # The page loads the document of its own origin, relative to where it is served.
    assert 'url: "openapi.json"' in initializer.text
    # Not RPC routes: no series of their own in the request metrics.
    routes = {
        sample.labels.get("route")
        for family in metrics.collect()
        for sample in family.samples
        if "http_request" in sample.name
    }
    assert not any(route and ("docs" in route or "openapi" in route) for route in routes)


async def test_docs_disabled(shop: ModuleType) -> None:
    app = _shop_app(shop, LB_SHOP_SERVER_DOCS_ENABLED="false")
    async with open_service(app):
        base = f"http://127.0.0.1:{app.server.http.port}"
        async with httpx.AsyncClient(base_url=base) as http:
            document = await http.get("/openapi.json")
            page = await http.get("/docs")
            asset = await http.get("/docs/swagger-ui.css")
    assert (document.status_code, page.status_code, asset.status_code) == (404, 404, 404)


class Echo:
    async def echo(self, request: Any, context: RequestContext) -> Any:
        del context
        return request


async def test_only_the_served_services_are_documented(pair: ModuleType) -> None:
    environ = {
        "LB_LEFT_SERVER_LISTEN": "127.0.0.1",
        "LB_LEFT_SERVER_PORT": "0",
        "LB_PROBES_SERVER_LISTEN": "127.0.0.1",
        "LB_PROBES_SERVER_PORT": "0",
    }
    app = pair.new_left_service("left", env_prefix="LB", environ=environ, argv=[])
    pair.register_left_rpc_server(app, Echo)
    async with open_service(app):
        base = f"http://127.0.0.1:{app.server.http.port}"
        async with httpx.AsyncClient(base_url=base) as http:
            served = (await http.get("/openapi.json")).json()
    file_document = load_document(pair.LEFT_SPEC)
    assert file_document is not None
    assert set(file_document["paths"]) == {"/v1/left", "/v1/right/{user_name}"}
    assert set(served["paths"]) == {"/v1/left"}
    assert [t["name"] for t in served["tags"]] == ["Left"]
    validate(served)


def test_merging_two_services(pair: ModuleType) -> None:
    left, right = load_document(pair.LEFT_SPEC), load_document(pair.RIGHT_SPEC)
    assert left is not None
    assert right is not None
    merged = merge_documents([(pair.LEFT_SPEC, left), (pair.RIGHT_SPEC, right)], "both")
    assert set(merged["paths"]) == {"/v1/left", "/v1/right/{user_name}"}
    assert merged["info"]["title"] == "both"
    assert [t["name"] for t in merged["tags"]] == ["Left", "Right"]
    validate(merged)


def test_proto_names_rename_the_properties(pair: ModuleType) -> None:
    document = load_document(pair.LEFT_SPEC)
    assert document is not None
    assert "userName" in document["components"]["schemas"]["docspair.Ping"]["properties"]
    renamed = proto_named(document)
    assert set(renamed["components"]["schemas"]["docspair.Ping"]["properties"]) == {"user_name"}
    # The original is left as it was.
    assert "userName" in document["components"]["schemas"]["docspair.Ping"]["properties"]
