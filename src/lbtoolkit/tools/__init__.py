"""Tools every service carries: probes, metrics, traces and outages.

``runtime.tools.probes`` holds the health checks plugins register,
``runtime.tools.metrics`` the service's Prometheus registry and the
transports' request metrics, ``runtime.tools.traces`` the OpenTelemetry
tracers, ``runtime.tools.outages`` which errors mean a plugin's server is
unreachable. :mod:`lbtoolkit.tools.probes` also holds the server that answers
the probes.
"""

from __future__ import annotations

from lbtoolkit._public import export
from lbtoolkit.tools._listen import ListenError, PortConflictError
from lbtoolkit.tools._metrics import Metrics
from lbtoolkit.tools._outages import Outages, PluginOutage
from lbtoolkit.tools._tools import Tools
from lbtoolkit.tools._traces import Traces, TracingConfigError
from lbtoolkit.tools.probes import Check, CheckKind, DuplicateCheckError, Probes, ReadinessListener

# Not public (left out of ``__all__``): the toolkit's own listening sockets and
# request metrics, re-exported for its plugins, which reach another part only
# through its package (never a private module), and for the HTTP server.
from lbtoolkit.tools._listen import (  # isort: skip
    blames_address as blames_address,
    listen_tcp as listen_tcp,
    listening_ports_shared as listening_ports_shared,
)
from lbtoolkit.tools._request_metrics import (  # isort: skip
    MethodMetrics as MethodMetrics,
    RedCollector as RedCollector,
)
from lbtoolkit.tools._uvicorn import start_server as start_server  # isort: skip

__all__ = [
    "Check",
    "CheckKind",
    "DuplicateCheckError",
    "ListenError",
    "Metrics",
    "Outages",
    "PluginOutage",
    "PortConflictError",
    "Probes",
    "ReadinessListener",
    "Tools",
    "Traces",
    "TracingConfigError",
]

export(__name__, __all__)
