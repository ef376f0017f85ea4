"""outbox: transactional outbox with a relay, and idempotent consumers (inbox).

``async with outbox.transaction(session) as tx: await tx.publish(event, payload,
key=...)`` writes messages in the caller's database transaction; a relay sends
committed ones to the broker in order per key; ``outbox.idempotent(handler,
consumer=...)`` runs a subscription's handler once per message id. Declared in
a ``.proto`` file as ``{prefix: "outbox" plugin: "outbox"}``; variables
``{SERVICE}_{PREFIX}_DATABASE`` and ``_BROKER`` name the plugins it uses.
"""

from __future__ import annotations

from lbtoolkit._public import export
from lbtoolkit.plugins.outbox._config import Config, Options
from lbtoolkit.plugins.outbox._errors import (
    OutboxDependencyError,
    OutboxMessageError,
    OutboxStateError,
)
from lbtoolkit.plugins.outbox._factory import new_plugin, new_test_plugin
from lbtoolkit.plugins.outbox._inbox import IdempotentHandler, message_id_of
from lbtoolkit.plugins.outbox._plugin import MessageBroker, OutboxPlugin, Plugin
from lbtoolkit.plugins.outbox._relay import KEY_HEADER, MESSAGE_ID_HEADER
from lbtoolkit.plugins.outbox._transaction import OutboxTransaction

__all__ = [
    "KEY_HEADER",
    "MESSAGE_ID_HEADER",
    "Config",
    "IdempotentHandler",
    "MessageBroker",
    "Options",
    "OutboxDependencyError",
    "OutboxMessageError",
    "OutboxPlugin",
    "OutboxStateError",
    "OutboxTransaction",
    "Plugin",
    "message_id_of",
    "new_plugin",
    "new_test_plugin",
]

export(__name__, __all__)
