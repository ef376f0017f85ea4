"""Sentry plugin (sentry-sdk): errors logged by handlers and lifecycle hooks go to Sentry.

Declared in a ``.proto`` file as ``plugin: "sentry"``; variables are
``{SERVICE}_{PREFIX}_DSN`` (empty: off), ``_ENVIRONMENT``, ``_SAMPLE_RATE``,
``_RELEASE`` and a few more. Declare it first, so it reports the other
plugins' start failures too. The SDK is process-wide: one per process.
"""

from __future__ import annotations

from lbtoolkit._public import export
from lbtoolkit.plugins.sentry._config import Config, Options
from lbtoolkit.plugins.sentry._errors import SentryConnectionError, SentryNotStartedError
from lbtoolkit.plugins.sentry._factory import new_plugin, new_test_plugin
from lbtoolkit.plugins.sentry._plugin import Level, Plugin, SentryPlugin

__all__ = [
    "Config",
    "Level",
    "Options",
    "Plugin",
    "SentryConnectionError",
    "SentryNotStartedError",
    "SentryPlugin",
    "new_plugin",
    "new_test_plugin",
]

export(__name__, __all__)
