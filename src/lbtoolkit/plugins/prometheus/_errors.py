"""Errors of the Prometheus plugin."""

from __future__ import annotations

from lbtoolkit._exceptions import LbToolkitError
from lbtoolkit.plugins._support import PluginAddressError

__all__ = ["PrometheusMetricError", "PrometheusNotServingError", "PrometheusServerError"]


class PrometheusServerError(PluginAddressError):
    """The metrics server could not listen (port taken, address not local, ...)."""

    action = "listen on"


class PrometheusNotServingError(LbToolkitError, ConnectionError):
    """The readiness check found the plugin's listener down."""

    def __init__(self, owner: str, address: tuple[str, int] | None, cause: str) -> None:
        super().__init__(owner, address, cause)
        self.owner = owner
        self.address = address
        self.cause = cause

    def __str__(self) -> str:
        where = f" at {self.address[0]}:{self.address[1]}" if self.address else ""
        return f"{self.owner}: the metrics server{where} is not serving ({self.cause})"


class PrometheusMetricError(LbToolkitError, ValueError):
    """A metric cannot be declared: bad name, or the name is taken by another kind."""

    def __init__(self, owner: str, name: str, problem: str) -> None:
        super().__init__(owner, name, problem)
        self.owner = owner
        self.name = name
        self.problem = problem

    def __str__(self) -> str:
        return f"{self.owner}: metric {self.name!r}: {self.problem}"
