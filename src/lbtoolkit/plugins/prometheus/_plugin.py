"""The Prometheus plugin: the service's metrics registry, typed helpers and an optional listener."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from prometheus_client import Counter, Gauge, Histogram, Summary

from lbtoolkit.plugins._support import describe
from lbtoolkit.plugins.prometheus._config import Config, Options
from lbtoolkit.plugins.prometheus._errors import PrometheusNotServingError, PrometheusServerError
from lbtoolkit.plugins.prometheus._metrics import GaugeMode, MetricFactory
from lbtoolkit.plugins.prometheus._server import MetricsServer
from lbtoolkit.tools import listen_tcp

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from lbtoolkit.runtime import Runtime

__all__ = ["Plugin", "PrometheusPlugin"]

_READINESS_TIMEOUT = 2.0
_STOP_GRACE = 2.0


class Plugin(Protocol):
    """Prometheus metrics of the service: declare them here, scrape them at ``/metrics``."""

    @property
    def registry(self) -> CollectorRegistry:
        """The service's registry (``runtime.tools.metrics.registry``)."""
        ...

    @property
    def namespace(self) -> str:
        """The prefix of the metric names declared through the plugin."""
        ...

    @property
    def address(self) -> tuple[str, int] | None:
        """Where the plugin's own listener is bound (``None`` when it is off or stopped)."""
        ...

    def counter(
        self, name: str, documentation: str, labelnames: Sequence[str] = (), *, unit: str = ""
    ) -> Counter:
        """A counter ``{namespace}_{name}[_{unit}]_total``; declaring it again returns it."""
        ...

    def gauge(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        unit: str = "",
        multiprocess_mode: GaugeMode = "livesum",
    ) -> Gauge:
        """A gauge ``{namespace}_{name}[_{unit}]``; declaring it again returns it.

        ``multiprocess_mode``: how workers' values combine (``{PREFIX}_WORKERS`` > 1).
        """
        ...

    def histogram(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        *,
        unit: str = "",
        buckets: Sequence[float] = Histogram.DEFAULT_BUCKETS,
    ) -> Histogram:
        """A histogram ``{namespace}_{name}[_{unit}]``; declaring it again returns it."""
        ...

    def summary(
        self, name: str, documentation: str, labelnames: Sequence[str] = (), *, unit: str = ""
    ) -> Summary:
        """A summary ``{namespace}_{name}[_{unit}]``; declaring it again returns it."""
        ...

    async def health_check(self) -> None:
        """Raise unless the plugin's listener accepts connections (the readiness check)."""
        ...

    def info(self) -> str:
        """Print the plugin's variables and values; return the text."""
        ...

    async def pre_start(self) -> None:
        """Start the listener when ``SERVER_ENABLED``."""
        ...

    async def on_stop(self) -> None:
        """Stop the listener and close its connections."""
        ...


class PrometheusPlugin(MetricFactory):
    """The implementation behind :class:`Plugin`; build it with ``new_plugin``."""

    def __init__(self, runtime: Runtime, options: Options) -> None:
        owner = f'plugin "{options.name}" (prometheus)'
        self.config = runtime.config.parse(Config, options.name, owner=owner)
        metrics = runtime.tools.metrics
        super().__init__(owner, metrics.registry, self.config.namespace or metrics.namespace)
        self._runtime = runtime
        self._prefix = options.name
        self._server: MetricsServer | None = None
        self._delegated = False
        runtime.tools.probes.register_check(
            options.name, "readiness", self.health_check, timeout=_READINESS_TIMEOUT
        )

    @property
    def address(self) -> tuple[str, int] | None:
        """Where the plugin's own listener is bound (``None`` when it is off or stopped)."""
        return self._server.address if self._server is not None else None

    async def pre_start(self) -> None:
        """Start the listener when ``SERVER_ENABLED``; fail naming the address if it cannot."""
        config = self.config
        if not config.server_enabled:
            return
        host, port = config.server_listen, config.server_port
        delegate = self._runtime.tools.metrics.delegate_listener
        if delegate is not None:
            # One of several workers: the supervisor serves every worker's metrics there.
            delegate(host, port, config.server_path)
            self._delegated = True
            return
        try:
            server = MetricsServer(listen_tcp(host, port), config.server_path, self.registry)
            await server.start()
        except (OSError, TimeoutError) as error:
            cause = describe(error)
            raise PrometheusServerError(self._owner, host, port, cause, self._hint()) from error
        self._server = server
        bound_host, bound_port = server.address
        self._runtime.log.getChild(self._prefix).info(
            "%s serves %s on %s:%d", self._owner, config.server_path, bound_host, bound_port
        )

    async def on_stop(self) -> None:
        """Stop the listener and close its connections."""
        server, self._server = self._server, None
        if server is not None:
            await server.stop(_STOP_GRACE)

    def info(self) -> str:
        """Print the plugin's variables and values; return the text."""
        text = self._runtime.config.describe(self._owner, self.config)
        sys.stdout.write(text + "\n")
        return text

    async def health_check(self) -> None:
        """Raise unless the plugin's listener accepts connections (when enabled)."""
        if not self.config.server_enabled or self._delegated:
            return
        server = self._server
        if server is None or not server.serving:
            raise PrometheusNotServingError(self._owner, None, "not started, or stopped")
        host, port = server.address
        # A wildcard address is reached through the loopback of its family.
        host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104
        try:
            async with asyncio.timeout(_READINESS_TIMEOUT):
                _, writer = await asyncio.open_connection(host, port)
            writer.close()
            await writer.wait_closed()
        except (OSError, TimeoutError) as error:
            cause = describe(error)
            raise PrometheusNotServingError(self._owner, (host, port), cause) from error

    def _hint(self) -> str:
        name = self._runtime.config.variable_name
        port, listen = name("SERVER_PORT", self._prefix), name("SERVER_LISTEN", self._prefix)
        return f"set {port} to a free port (or 0) and {listen} to a local address"
