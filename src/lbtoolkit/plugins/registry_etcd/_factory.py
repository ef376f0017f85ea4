"""Building the plugin: ``new_plugin`` for services, ``new_test_plugin`` for tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lbtoolkit.plugins._support import plugin_factories
from lbtoolkit.plugins.registry_etcd._config import Options
from lbtoolkit.plugins.registry_etcd._plugin import EtcdRegistryPlugin, Plugin

if TYPE_CHECKING:
    from lbtoolkit.plugins._support import NewPlugin, NewTestPlugin

__all__ = ["new_plugin", "new_test_plugin"]

new_plugin: NewPlugin[Options, Plugin]
new_test_plugin: NewTestPlugin[Options, Plugin]
new_plugin, new_test_plugin = plugin_factories(EtcdRegistryPlugin, Options)
