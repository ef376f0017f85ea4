"""What plugin packages share: building a test plugin, describing a failure, address errors.

``build_test_plugin`` and ``new_test_runtime`` are public (re-exported by
``lbtoolkit.plugins`` and ``lbtoolkit.testing``): a plugin package builds its
``new_test_plugin`` with them without importing ``lbtoolkit.testing``, which
production code never does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, TypeVar

from lbtoolkit._exceptions import LbToolkitError
from lbtoolkit.config import mask_secrets
from lbtoolkit.runtime import Meta, Runtime

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

__all__ = [
    "PluginAddressError",
    "PluginConnectionError",
    "build_test_plugin",
    "describe",
    "new_test_runtime",
]

OptionsT = TypeVar("OptionsT")
PluginT = TypeVar("PluginT")


def new_test_runtime(
    name: str = "test",
    *,
    env_prefix: str = "",
    environ: Mapping[str, str] | None = None,
) -> Runtime:
    """A runtime for building one plugin in isolation.

    It reads only ``environ`` (empty by default), never the process
    environment nor the command line, so a test states every variable it
    relies on.
    """
    return Runtime(Meta(name, None, None, env_prefix), environ=environ or {}, argv=[])


def build_test_plugin(
    new_plugin: Callable[[Runtime, OptionsT], PluginT],
    options: OptionsT,
    *,
    environ: Mapping[str, str] | None = None,
) -> PluginT:
    """The guide's ``NewTestPlugin``: ``new_plugin(runtime, options)`` on a runtime of its own.

    The runtime reads only ``environ``, under the plugin prefix alone
    (``{"CACHE_PORT": "7"}`` for ``options.name == "cache"``). Raises
    ``ConfigError`` at once for bad or missing variables, where a service
    would collect them and report them all when it starts.
    """
    runtime = new_test_runtime(environ=environ)
    plugin = new_plugin(runtime, options)
    runtime.config.raise_for_issues()
    return plugin


def describe(error: BaseException, secrets: Iterable[str | None] = ()) -> str:
    """``Type: text`` of ``error``, with ``secrets`` and passwords in URLs masked."""
    text = mask_secrets(str(error), secrets)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class PluginAddressError(LbToolkitError, OSError):
    """A plugin could not use a network address: ``host:port`` would not connect or listen.

    ``owner`` is ``plugin "<prefix>" (<kind>)``; ``cause`` is the error met,
    secrets already removed; ``hint`` names the variables to check. Subclasses
    set ``action``, the verb of the message (``cannot <action> host:port``).
    """

    action: ClassVar[str]

    def __init__(self, owner: str, host: str, port: int, cause: str, hint: str) -> None:
        super().__init__(owner, host, port, cause)
        self.owner = owner
        self.host = host
        self.port = port
        self.cause = cause
        self.hint = hint

    def __str__(self) -> str:
        return (
            f"{self.owner}: cannot {self.action} {self.host}:{self.port}: {self.cause}. "
            f"Hint: {self.hint}"
        )


class PluginConnectionError(PluginAddressError, ConnectionError):
    """A server the plugin needs could not be reached, or refused it."""

    action = "connect to"
