"""etcd service registry plugin (aetcd): register this service's servers, resolve others'.

Declared in a ``.proto`` file as ``plugin: "registry_etcd"``; variables are
``{SERVICE}_{PREFIX}_ENDPOINTS``, ``_DIAL_TIMEOUT``, ``_LEASE_TTL``,
``_KEY_PREFIX``, ``_USERNAME``, ``_PASSWORD`` and ``_ADVERTISE_HOST``.

Once the servers listen, each is written under
``KEY_PREFIX<service>/<grpc|http>/<host:port>`` on one lease kept alive; when
stop begins (readiness false) the lease is revoked before the servers drain.
:attr:`Plugin.resolver` follows other services' gRPC addresses through etcd
watches and is offered to the client's channel pool.
"""

from __future__ import annotations

from lbtoolkit._public import export
from lbtoolkit.plugins.registry_etcd._config import Config, Options
from lbtoolkit.plugins.registry_etcd._errors import EtcdRegistrationError, EtcdUnreachableError
from lbtoolkit.plugins.registry_etcd._factory import new_plugin, new_test_plugin
from lbtoolkit.plugins.registry_etcd._plugin import EtcdRegistryPlugin, Plugin
from lbtoolkit.plugins.registry_etcd._resolver import EtcdResolver

__all__ = [
    "Config",
    "EtcdRegistrationError",
    "EtcdRegistryPlugin",
    "EtcdResolver",
    "EtcdUnreachableError",
    "Options",
    "Plugin",
    "new_plugin",
    "new_test_plugin",
]

export(__name__, __all__)
