"""Building the mailer: ``new_plugin`` for services, ``new_test_plugin`` for tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lbtoolkit.plugins import build_test_plugin
from lbtoolkit_mailer._config import Options
from lbtoolkit_mailer._plugin import MailerPlugin, Plugin

if TYPE_CHECKING:
    from collections.abc import Mapping

    from lbtoolkit import Runtime

__all__ = ["new_plugin", "new_test_plugin"]


def new_plugin(runtime: Runtime, options: Options) -> Plugin:
    """Create the mailer and parse its config under ``options.name``.

    Nothing connects here: ``pre_start`` does. Configuration problems are
    reported with all others when the service starts.
    """
    return MailerPlugin(runtime, options)


def new_test_plugin(
    options: Options | None = None, *, environ: Mapping[str, str] | None = None
) -> Plugin:
    """The guide's ``NewTestPlugin``: a mailer on a runtime of its own.

    It reads only ``environ``, under the plugin prefix alone
    (``{"MAILER_HOST": ..., "MAILER_FROM": ...}`` for the default
    ``Options()``), and raises ``ConfigError`` at once for bad or missing
    variables. Run its hooks with ``lbtoolkit.testing.open_plugin``.
    """
    return build_test_plugin(new_plugin, options or Options(), environ=environ)
