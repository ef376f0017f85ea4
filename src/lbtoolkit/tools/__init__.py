"""Tools every service carries: probes, metrics, traces and outages.

``runtime.tools.probes`` holds the health checks plugins register,
``runtime.tools.metrics`` the service's Prometheus registry and the
transports' request metrics, ``runtime.tools.traces`` the OpenTelemetry
tracers, ``runtime.tools.outages`` which errors mean a plugin's server is
unreachable. The servers that expose them live in :mod:`lbtoolkit.server`.
"""

from __future__ import annotations

from lbtoolkit.tools._lifecycle_metrics import HookTiming, LifecycleCollector
from lbtoolkit.tools._listen import blames_address, listen_tcp
from lbtoolkit.tools._metrics import Metrics
from lbtoolkit.tools._outages import Outages, PluginOutage
from lbtoolkit.tools._probes import (
    Check,
    CheckKind,
    DuplicateCheckError,
    Probes,
    ReadinessListener,
)
from lbtoolkit.tools._probes_server import Endpoint, ProbesServer
from lbtoolkit.tools._request_metrics import MethodMetrics, RedCollector, RequestMetrics
from lbtoolkit.tools._tools import Tools
from lbtoolkit.tools._traces import ServerSpan, Traces, TracingConfigError

__all__ = [
    "Check",
    "CheckKind",
    "DuplicateCheckError",
    "Endpoint",
    "HookTiming",
    "LifecycleCollector",
    "MethodMetrics",
    "Metrics",
    "Outages",
    "PluginOutage",
    "Probes",
    "ProbesServer",
    "ReadinessListener",
    "RedCollector",
    "RequestMetrics",
    "ServerSpan",
    "Tools",
    "Traces",
    "TracingConfigError",
    "blames_address",
    "listen_tcp",
]
