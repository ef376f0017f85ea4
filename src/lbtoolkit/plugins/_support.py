"""What plugin packages share: building a test plugin, describing a failure, address errors.

``build_test_plugin`` and ``new_test_runtime`` are public (re-exported by
``lbtoolkit.plugins`` and ``lbtoolkit.testing``): a plugin package builds its
``new_test_plugin`` with them without importing ``lbtoolkit.testing``, which
production code never does. ``plugin_factories`` writes a shipped plugin's
``new_plugin`` and ``new_test_plugin`` from its class and its options.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Protocol, TypeVar

from lbtoolkit._exceptions import LbToolkitError
from lbtoolkit.config import mask_secrets
from lbtoolkit.runtime import Meta, Runtime

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

__all__ = [
    "NewPlugin",
    "NewTestPlugin",
    "PluginAddressError",
    "PluginConnectionError",
    "build_test_plugin",
    "describe",
    "new_test_plugin_for",
    "new_test_runtime",
    "plugin_factories",
]

OptionsT = TypeVar("OptionsT")
PluginT = TypeVar("PluginT")
OptionsT_contra = TypeVar("OptionsT_contra", contravariant=True)
PluginT_co = TypeVar("PluginT_co", covariant=True)


class NewPlugin(Protocol[OptionsT_contra, PluginT_co]):
    """A plugin package's ``new_plugin(runtime, options)``, which generated code calls."""

    def __call__(self, runtime: Runtime, options: OptionsT_contra) -> PluginT_co: ...


class NewTestPlugin(Protocol[OptionsT_contra, PluginT_co]):
    """A plugin package's ``new_test_plugin(options=None, *, environ=None)``."""

    def __call__(
        self, options: OptionsT_contra | None = None, *, environ: Mapping[str, str] | None = None
    ) -> PluginT_co: ...


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


_NEW_PLUGIN_DOC = """Create the plugin and parse its config under ``options.name``.

    Nothing connects here: ``pre_start`` does. Configuration problems are
    reported with all others when the service starts.
    """

_NEW_TEST_PLUGIN_DOC = """The plugin on a runtime of its own that reads only ``environ``.

    ``environ`` uses the plugin prefix alone (no service prefix). Raises
    ``ConfigError`` at once for bad variables. Run its hooks with
    ``lbtoolkit.testing.open_plugin``.
    """


def plugin_factories(
    plugin: Callable[[Runtime, OptionsT], PluginT],
    default_options: Callable[[], OptionsT],
    *,
    test_doc: str | None = None,
) -> tuple[NewPlugin[OptionsT, PluginT], NewTestPlugin[OptionsT, PluginT]]:
    """A plugin package's ``new_plugin`` and ``new_test_plugin``, for its class ``plugin``.

    ``new_plugin(runtime, options)`` builds ``plugin(runtime, options)``;
    ``new_test_plugin`` does so on a runtime of its own (``build_test_plugin``),
    with ``default_options()`` when given no options. ``test_doc`` replaces the
    latter's docstring where the plugin needs more said.
    """

    def new_plugin(runtime: Runtime, options: OptionsT) -> PluginT:
        return plugin(runtime, options)

    _name(new_plugin, _NEW_PLUGIN_DOC)
    return new_plugin, new_test_plugin_for(new_plugin, default_options, doc=test_doc)


def new_test_plugin_for(
    new_plugin: Callable[[Runtime, OptionsT], PluginT],
    default_options: Callable[[], OptionsT],
    *,
    doc: str | None = None,
) -> NewTestPlugin[OptionsT, PluginT]:
    """A plugin package's ``new_test_plugin``, for a ``new_plugin`` written by hand."""

    def new_test_plugin(
        options: OptionsT | None = None, *, environ: Mapping[str, str] | None = None
    ) -> PluginT:
        chosen = default_options() if options is None else options
        return build_test_plugin(new_plugin, chosen, environ=environ)

    _name(new_test_plugin, doc or _NEW_TEST_PLUGIN_DOC)
    return new_test_plugin


def _name(function: Callable[..., object], doc: str) -> None:
    # Shown as the package's own function (``export`` sets the module), not as
    # ``plugin_factories.<locals>.new_plugin``.
    function.__qualname__ = function.__name__
    function.__doc__ = doc


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
