"""The Prometheus plugin's options and config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, Field

from lbtoolkit.config import HttpPath, ListenAddress, Port, env

__all__ = ["DEFAULT_PORT", "DEFAULT_PREFIX", "Config", "Options"]

DEFAULT_PREFIX = "prometheus"
# The OpenTelemetry Prometheus exporter's port: clear of the HTTP (8080), gRPC
# (9000) and Prometheus server (9090) defaults.
DEFAULT_PORT = 9464


@dataclass(frozen=True, slots=True)
class Options:
    """Which instance: ``name`` is its prefix, so ``MYSERVICE_{NAME}_SERVER_PORT``."""

    name: str = DEFAULT_PREFIX


class Config(BaseModel):
    """The metrics server (off by default: the probes server serves ``/metrics`` too)."""

    server_enabled: bool = env(
        "SERVER_ENABLED",
        default=False,
        comment="Serve the metrics on a port of their own",
    )
    server_listen: ListenAddress = env(
        "SERVER_LISTEN",
        # Every interface, as the other servers: scraped from outside the container.
        default="0.0.0.0",  # noqa: S104
        comment="Address the metrics server listens on",
    )
    server_port: Port = env(
        "SERVER_PORT", default=DEFAULT_PORT, comment="Port of the metrics server (0: any free one)"
    )
    server_path: HttpPath = env(
        "SERVER_PATH", default="/metrics", comment="Path the metrics are served at"
    )
    namespace: Annotated[str, Field(pattern=r"^([a-zA-Z_][a-zA-Z0-9_]*)?$")] = env(
        "NAMESPACE",
        default="",
        comment="Prefix of the metric names declared through the plugin (empty: the service's)",
    )
