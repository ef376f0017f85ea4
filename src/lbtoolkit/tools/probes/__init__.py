"""Probes: the health-check registry, the server answering them, and port sharing.

Plugins register checks on ``runtime.tools.probes`` (:class:`Probes`);
:class:`ProbesServer` answers liveness, readiness and ``/metrics`` over plain
HTTP; :class:`ProbesEndpoint` runs it as the service's tool server, on its own
port or on the HTTP server's.
"""

from __future__ import annotations

from lbtoolkit._public import export
from lbtoolkit.tools.probes._registry import (
    DEGRADED,
    Check,
    CheckKind,
    DuplicateCheckError,
    Probes,
    ReadinessListener,
    healthy,
)
from lbtoolkit.tools.probes._server import Endpoint, ProbesServer
from lbtoolkit.tools.probes._sharing import (
    DEFAULT_PROBES_PORT,
    ExclusivePort,
    HttpMount,
    ProbesConfig,
    ProbesEndpoint,
)

__all__ = [
    "DEFAULT_PROBES_PORT",
    "DEGRADED",
    "Check",
    "CheckKind",
    "DuplicateCheckError",
    "Endpoint",
    "ExclusivePort",
    "HttpMount",
    "Probes",
    "ProbesConfig",
    "ProbesEndpoint",
    "ProbesServer",
    "ReadinessListener",
    "healthy",
]

export(__name__, __all__)
