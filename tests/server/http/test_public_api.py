"""The public face of ``lbtoolkit.server.http``."""

from __future__ import annotations

from lbtoolkit.server import Server, http
from tests.server.http.support import new_server


def test_all_is_sorted_and_exported() -> None:
    assert list(http.__all__) == sorted(http.__all__)
    for name in http.__all__:
        assert hasattr(http, name), name


def test_the_http_server_is_a_server() -> None:
    server: Server = new_server()[0]
    assert server.name == "test"


def test_classes_show_the_public_module() -> None:
    for name in ("HttpServer", "HttpRouteError", "MiddlewareNotFoundError", "TranscodeError"):
        assert getattr(http, name).__module__ == "lbtoolkit.server.http"
