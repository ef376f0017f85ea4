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
from lbtoolkit.tools._lifecycle_metrics import HookTiming, LifecycleCollector
from lbtoolkit.tools._listen import (
    ListenError,
    PortConflictError,
    blames_address,
    listen_tcp,
    listening_ports_shared,
    reserve_shared_port,
    share_listening_ports,
)
from lbtoolkit.tools._metrics import Metrics
from lbtoolkit.tools._outages import Outages, PluginOutage
from lbtoolkit.tools._request_metrics import MethodMetrics, RedCollector, RequestMetrics
from lbtoolkit.tools._tools import Tools
from lbtoolkit.tools._traces import ServerSpan, Traces, TracingConfigError
from lbtoolkit.tools._uvicorn import start_server
from lbtoolkit.tools.probes import Check, CheckKind, DuplicateCheckError, Probes, ReadinessListener

__all__ = [
    "Check",
    "CheckKind",
    "DuplicateCheckError",
    "HookTiming",
    "LifecycleCollector",
    "ListenError",
    "MethodMetrics",
    "Metrics",
    "Outages",
    "PluginOutage",
    "PortConflictError",
    "Probes",
    "ReadinessListener",
    "RedCollector",
    "RequestMetrics",
    "ServerSpan",
    "Tools",
    "Traces",
    "TracingConfigError",
    "blames_address",
    "listen_tcp",
    "listening_ports_shared",
    "reserve_shared_port",
    "share_listening_ports",
    "start_server",
]

export(__name__, __all__)
