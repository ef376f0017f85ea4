"""Prometheus plugin: typed helpers declaring the service's metrics, and a ``/metrics`` listener.

Declared in a ``.proto`` file as ``plugin: "prometheus"``. Metrics go to the
service's registry (``runtime.tools.metrics.registry``), which the probes
server exposes at ``/metrics``; ``{SERVICE}_{PREFIX}_SERVER_ENABLED=true``
adds a listener of the plugin's own (``_SERVER_LISTEN``, ``_SERVER_PORT``,
``_SERVER_PATH``).
"""

from __future__ import annotations

from lbtoolkit._public import export
from lbtoolkit.plugins.prometheus._config import Config, Options
from lbtoolkit.plugins.prometheus._errors import (
    PrometheusMetricError,
    PrometheusNotServingError,
    PrometheusServerError,
)
from lbtoolkit.plugins.prometheus._factory import new_plugin, new_test_plugin
from lbtoolkit.plugins.prometheus._plugin import Plugin, PrometheusPlugin

__all__ = [
    "Config",
    "Options",
    "Plugin",
    "PrometheusMetricError",
    "PrometheusNotServingError",
    "PrometheusPlugin",
    "PrometheusServerError",
    "new_plugin",
    "new_test_plugin",
]

export(__name__, __all__)
