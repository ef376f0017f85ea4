"""Fixtures of the generator's tests: plugin entry points on ``sys.path``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from lbtoolkit.codegen import generate_package
from tests.codegen.support import (
    GO_PROTOS,
    GOEXAMPLES,
    GUIDE,
    GUIDE_SITE,
    PLUGIN_SITE,
    TYPED,
    TYPED_PROTO,
)

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def test_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test plugins (fakesql, fakecache, myplugin), found by entry point."""
    monkeypatch.syspath_prepend(str(PLUGIN_SITE))


@pytest.fixture
def guide_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guide's plugin names (postgres_gorm, redis, ...) and myplugin."""
    monkeypatch.syspath_prepend(str(PLUGIN_SITE))
    monkeypatch.syspath_prepend(str(GUIDE_SITE))


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with ``gen_typed`` and ``gen_go``, generated once per session.

    ``gen_typed`` is the typed fixture on the test plugins (found by entry
    point); ``gen_guide_*`` the guide's examples and ``gen_go`` the Go toolkit's,
    both on the real plugins, so that every module imports and type-checks.
    """
    root = tmp_path_factory.mktemp("generated")
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(PLUGIN_SITE))
        generate_package([TYPED_PROTO], include=[TYPED], out=root / "gen_typed")
        # The guide's own examples, on the real plugins (myplugin is the test one).
        # Each declares the same proto package, so each gets its own Python package.
        for proto in GUIDE.glob("*.proto"):
            generate_package([proto], include=[GUIDE], out=root / f"gen_guide_{proto.stem}")
    generate_package(GO_PROTOS, include=[GOEXAMPLES], out=root / "gen_go")
    return root


@pytest.fixture
def on_path(generated: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``generated`` and the test plugins importable in this process."""
    monkeypatch.syspath_prepend(str(PLUGIN_SITE))
    monkeypatch.syspath_prepend(str(generated))
    return generated
