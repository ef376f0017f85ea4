"""``/openapi.json`` and ``/docs``: the services' OpenAPI documents, merged, and Swagger UI.

``lbtoolkit generate`` writes ``<file>.openapi.json`` beside each toolkit
module whose services serve HTTP routes, and the module names it in the
service's ``ServiceSpec.openapi``. The server merges the documents of the
services it serves into one, answered at ``/openapi.json``; ``/docs`` is
Swagger UI, shipped in this package (``static/swagger-ui``, swagger-ui-dist
5, which reads OpenAPI 3.1), so the page needs nothing from the network.

These pages answer the requests that no route takes, before the 404: they
are not RPC routes, so they get no middleware and no RPC metrics or spans,
and a request for a service's route pays nothing for them.
"""

from __future__ import annotations

import copy
import importlib
import json
import logging
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lbtoolkit.server.http._responses import json_error

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from starlette.types import Receive, Scope, Send

    from lbtoolkit.server.http._app import HttpApp
    from lbtoolkit.spec import ServiceSpec

__all__ = [
    "DOCS_PATH",
    "OPENAPI_PATH",
    "load_document",
    "merge_documents",
    "proto_named",
    "with_docs",
]

OPENAPI_PATH = "/openapi.json"
DOCS_PATH = "/docs"
_STATIC = "swagger-ui"
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "lbtoolkit-docs.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" type="image/png" href="docs/favicon-32x32.png">
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/lbtoolkit-docs.js"></script>
</body>
</html>
"""
_log = logging.getLogger("lbtoolkit.server.http")
_Json = dict[str, Any]


def load_document(spec: ServiceSpec) -> _Json | None:
    """The OpenAPI document ``spec`` names, or ``None`` when it names none."""
    if spec.openapi is None:
        return None
    module_name, file_name = spec.openapi
    module = importlib.import_module(module_name)
    package = module.__spec__.parent if module.__spec__ is not None else ""
    if package:
        text = resources.files(package).joinpath(file_name).read_text(encoding="utf-8")
    else:
        text = Path(module.__file__ or "").with_name(file_name).read_text(encoding="utf-8")
    document: _Json = json.loads(text)
    return document


def merge_documents(documents: Iterable[tuple[ServiceSpec, _Json]], title: str) -> _Json:
    """One document of the operations the ``ServiceSpec``s serve, and what they refer to.

    A file's document describes every HTTP service of the file; operations of
    services not served here are left out. The first of two operations on
    one path and method wins, as the router's first route does.
    """
    pairs = list(documents)
    infos = [document.get("info", {}) for _, document in pairs]
    info: _Json = dict(infos[0]) if len(infos) == 1 else {"title": title}
    if len(infos) != 1:
        info["version"] = next((i["version"] for i in infos if i.get("version")), "0.0.0")
    merged: _Json = {
        "openapi": "3.1.0",
        "info": info,
        "servers": [{"url": "/"}],
        "paths": {},
        "components": {},
        "tags": [],
    }
    tags: dict[str, _Json] = {}
    security: list[_Json] = []
    for spec, document in pairs:
        served = {method.grpc_path for method, _ in spec.http_routes}
        for path, item in document.get("paths", {}).items():
            for verb, operation in item.items():
                if operation.get("x-grpc-method") not in served:
                    continue
                merged["paths"].setdefault(path, {}).setdefault(verb, operation)
        for section, entries in document.get("components", {}).items():
            target = merged["components"].setdefault(section, {})
            for name, entry in entries.items():
                target.setdefault(name, entry)
        for tag in document.get("tags", []):
            tags.setdefault(tag["name"], tag)
        security += [r for r in document.get("security", []) if r not in security]
    used = {name for item in merged["paths"].values() for o in item.values() for name in o["tags"]}
    merged["tags"] = [tag for name, tag in tags.items() if name in used]
    if security:
        merged["security"] = security
    return merged


def proto_named(document: _Json) -> _Json:
    """``document`` with the ``.proto`` field names the server writes with ``JSON_NAMES=proto``."""
    from google.protobuf import descriptor_pool  # noqa: PLC0415 - only for this setting

    renamed = copy.deepcopy(document)
    pool = descriptor_pool.Default()
    for name, schema in renamed.get("components", {}).get("schemas", {}).items():
        try:
            message = pool.FindMessageTypeByName(name)
        except KeyError:
            continue
        names = {f.json_name: f.name for f in message.fields}
        properties = schema.get("properties")
        if properties:
            schema["properties"] = {names.get(k, k): v for k, v in properties.items()}
        if "required" in schema:
            schema["required"] = [names.get(k, k) for k in schema["required"]]
        _rename_required(schema.get("oneOf", []), names)
        for constraint in schema.get("allOf", []):
            _rename_required(constraint.get("oneOf", []), names)
    return renamed


def _rename_required(alternatives: list[_Json], names: dict[str, str]) -> None:
    for alternative in alternatives:
        if "required" in alternative:
            alternative["required"] = [names.get(k, k) for k in alternative["required"]]
        for inner in alternative.get("not", {}).get("anyOf", []):
            inner["required"] = [names.get(k, k) for k in inner["required"]]


class _Answer:
    """A fixed answer to GET and HEAD; other methods get a 405."""

    def __init__(self, body: Callable[[], bytes], content_type: str, cache: str) -> None:
        self._load = body
        self._content: bytes | None = None
        self._headers = [
            (b"content-type", content_type.encode()),
            (b"cache-control", cache.encode()),
            (b"x-content-type-options", b"nosniff"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method not in {"GET", "HEAD"}:
            refusal = json_error(
                405,
                f"method {method} is not allowed on {scope['path']}",
                headers={"allow": "GET, HEAD"},
            )
            await refusal(scope, receive, send)
            return
        if self._content is None:
            self._content = self._load()
        content = self._content
        headers = [*self._headers, (b"content-length", str(len(content)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        body = content if method == "GET" else b""
        await send({"type": "http.response.body", "body": body})


def _asset(name: str) -> Callable[[], bytes]:
    def read() -> bytes:
        folder = resources.files("lbtoolkit.server.http").joinpath("static", _STATIC)
        return folder.joinpath(name).read_bytes()

    return read


def with_docs(
    app: HttpApp,
    document: _Json,
    *,
    title: str,
    taken: Callable[[str], bool],
) -> HttpApp:
    """``app`` with ``/openapi.json`` and ``/docs`` answered where no route is.

    A path the service routes itself (``taken``) stays the service's.
    """
    text = json.dumps(document, ensure_ascii=False).encode()
    page = _PAGE.format(title=_escape(title)).encode()
    answers: dict[str, _Answer] = {
        OPENAPI_PATH: _Answer(lambda: text, "application/json", "no-cache"),
        DOCS_PATH: _Answer(lambda: page, "text/html; charset=utf-8", "no-cache"),
    }
    for name, content_type in _ASSETS.items():
        answers[f"{DOCS_PATH}/{name}"] = _Answer(_asset(name), content_type, "public, max-age=3600")
    for path, answer in answers.items():
        if taken(path):
            _log.warning("HTTP route GET %s is the service's own: the docs do not answer it", path)
        else:
            app.answer_unrouted(path, answer)
    return app


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
