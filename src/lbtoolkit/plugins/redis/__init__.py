"""Redis through redis-py's asyncio client: ``client()``, ``db()``, ``cluster_db()``, ``info()``.

Declared in a .proto file as ``{prefix: "session_cache" plugin: "redis"}``;
configured by ``{SERVICE}_{PREFIX}_ADDR``, ``_USERNAME``, ``_PASSWORD``,
``_DATABASE``, ``_DIAL_TIMEOUT``, ``_READ_TIMEOUT``, ``_WRITE_TIMEOUT``,
``_POOL_SIZE`` and ``_CLUSTER_MODE``.
"""

from __future__ import annotations

from lbtoolkit._public import export
from lbtoolkit.plugins.redis._config import Config
from lbtoolkit.plugins.redis._errors import RedisConnectError, RedisStateError
from lbtoolkit.plugins.redis._plugin import Options, Plugin, new_plugin
from lbtoolkit.plugins.redis._testing import new_test_plugin

__all__ = [
    "Config",
    "Options",
    "Plugin",
    "RedisConnectError",
    "RedisStateError",
    "new_plugin",
    "new_test_plugin",
]

export(__name__, __all__)
