"""Run a directory's tests on every HTTP engine (``{P}_SERVER_ENGINE``).

A conftest imports :func:`http_engine` (autouse: every test of the
directory uses it), calls :func:`register_marker` from its
``pytest_configure`` and :func:`parametrize_http_engine` from its
``pytest_generate_tests``; each of its tests then runs once per engine, with ids ``[uvicorn]`` and
``[granian]``. A test about one engine only (it sets the variable itself, or
it checks the documented default) carries ``@pytest.mark.one_engine`` and
runs once, on the default engine. A module that starts no server at all (the
codec, the router) carries ``pytestmark = pytest.mark.no_engine``: running it
twice would prove nothing more.

The engine is chosen by patching the default of ``HttpServerConfig.engine``
rather than by setting the variable: the tests build servers along many
paths (the test helpers, generated ``new_*_service`` functions,
``lbtoolkit.new_service``, each with an environment of its own), and the
variable would have to be threaded through every one of them. A server that
sets ``{P}_SERVER_ENGINE`` still gets what it asks for. A server in a child
process does not see the patch: such tests are ``one_engine``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from lbtoolkit.server.http import HttpServerConfig

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "ENGINES",
    "NO_ENGINE",
    "ONE_ENGINE",
    "http_engine",
    "parametrize_http_engine",
    "register_marker",
]

ENGINES = ("uvicorn", "granian")
ONE_ENGINE = "one_engine"
NO_ENGINE = "no_engine"


def register_marker(config: pytest.Config) -> None:
    """Declare ``one_engine`` and ``no_engine`` (the suite runs with ``--strict-markers``)."""
    config.addinivalue_line(
        "markers", f"{ONE_ENGINE}: about one HTTP engine; run once, not on every engine"
    )
    config.addinivalue_line(
        "markers", f"{NO_ENGINE}: starts no HTTP server; run once, not on every engine"
    )


def parametrize_http_engine(metafunc: pytest.Metafunc) -> None:
    """Run the test once per engine, unless it is marked ``one_engine``."""
    if "http_engine" not in metafunc.fixturenames:
        return
    if any(metafunc.definition.get_closest_marker(m) for m in (ONE_ENGINE, NO_ENGINE)):
        return
    metafunc.parametrize("http_engine", ENGINES, indirect=True, ids=ENGINES)


@pytest.fixture(autouse=True)
def http_engine(request: pytest.FixtureRequest) -> Iterator[str]:
    """The engine every ``HttpServerConfig`` parsed during the test defaults to."""
    engine: str | None = getattr(request, "param", None)
    if engine is None:  # a one_engine or no_engine test: the default, untouched
        default = HttpServerConfig.model_fields["engine"].default
        assert isinstance(default, str)
        yield default
        return
    field = HttpServerConfig.model_fields["engine"]
    original = field.default
    try:
        field.default = engine
        HttpServerConfig.model_rebuild(force=True)
        # A pydantic release that stops reading the patched default must not
        # pass as a second run on uvicorn.
        assert HttpServerConfig.model_validate({}).engine == engine
        yield engine
    finally:
        field.default = original
        HttpServerConfig.model_rebuild(force=True)
