"""lbtoolkit-mailer: an lbtoolkit plugin that sends email over SMTP.

Declared in a ``.proto`` file as ``plugin: "mailer"``; variables are
``{SERVICE}_{PREFIX}_HOST``, ``_PORT``, ``_USERNAME``, ``_PASSWORD``,
``_TIMEOUT`` and ``_FROM`` (required).
"""

from __future__ import annotations

from types import FunctionType

from lbtoolkit_mailer._config import Config, Options
from lbtoolkit_mailer._errors import MailerConnectionError, MailerNotStartedError, MailerSendError
from lbtoolkit_mailer._factory import new_plugin, new_test_plugin
from lbtoolkit_mailer._mock import RecordingMailer, SentMail
from lbtoolkit_mailer._plugin import MailerPlugin, Plugin

__all__ = [
    "Config",
    "MailerConnectionError",
    "MailerNotStartedError",
    "MailerPlugin",
    "MailerSendError",
    "Options",
    "Plugin",
    "RecordingMailer",
    "SentMail",
    "new_plugin",
    "new_test_plugin",
]

# Tracebacks and reprs show the public path, not the private module.
for _name in __all__:
    _value = globals()[_name]
    if isinstance(_value, type | FunctionType):
        _value.__module__ = __name__
del _name, _value
