"""Building the plugin: ``new_plugin`` for services, ``new_test_plugin`` for tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lbtoolkit.plugins import build_test_plugin
from lbtoolkit.plugins.registry_etcd._config import Options
from lbtoolkit.plugins.registry_etcd._plugin import EtcdRegistryPlugin, Plugin

if TYPE_CHECKING:
    from collections.abc import Mapping

    from lbtoolkit.runtime import Runtime

__all__ = ["new_plugin", "new_test_plugin"]


def new_plugin(runtime: Runtime, options: Options) -> Plugin:
    """Create the plugin and parse its config under ``options.name``.

    Nothing connects here: ``pre_start`` does. Configuration problems are
    reported with all others when the service starts.
    """
    return EtcdRegistryPlugin(runtime, options)


def new_test_plugin(
    options: Options | None = None, *, environ: Mapping[str, str] | None = None
) -> Plugin:
    """The plugin on a runtime of its own that reads only ``environ``.

    Raises ``ConfigError`` at once for bad variables. Run its hooks with
    ``lbtoolkit.testing.open_plugin``.
    """
    return build_test_plugin(new_plugin, options or Options(), environ=environ)
