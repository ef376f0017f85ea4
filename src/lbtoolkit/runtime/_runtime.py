"""The runtime behind a service: configuration, managers, tools, injector."""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lbtoolkit._di import Injector
from lbtoolkit.client import ChannelPool
from lbtoolkit.config import ConfigController
from lbtoolkit.runtime._components import PackageManager, PluginManager
from lbtoolkit.runtime._lifecycle import Lifecycle
from lbtoolkit.runtime._settings import ServiceSettings
from lbtoolkit.runtime._timeline import Timeline
from lbtoolkit.server._manager import ServerContext, ServerManager
from lbtoolkit.tools import Tools

__all__ = ["Meta", "Runtime"]


@dataclass(frozen=True, slots=True)
class Meta:
    """Who the service is: name, version, description and environment prefix."""

    name: str
    version: str | None
    description: str | None
    env_prefix: str


class Runtime:
    """What plugins receive: ``config``, ``log``, ``plugin``, ``tools`` and the rest.

    ``client`` holds the gRPC channels to other services (one per service,
    opened on first use, closed at the end of stop).
    """

    def __init__(
        self,
        meta: Meta,
        *,
        environ: Mapping[str, str] | None = None,
        argv: Sequence[str] | None = None,
    ) -> None:
        self.meta = meta
        self.argv = list(sys.argv[1:] if argv is None else argv)
        # One snapshot of the environment for every reader: configs and client targets.
        self.environ = dict(os.environ if environ is None else environ)
        self.config = ConfigController(meta.env_prefix, self.environ)
        self.log = logging.getLogger(meta.name)
        self.injector = Injector()
        self.plugin = PluginManager(self.injector, self.config)
        self.package = PackageManager(self.injector, self.config)
        self.tools = Tools(meta.name, _metric_namespace(meta.name))
        self.tools.traces.version = meta.version
        self.settings = self.config.parse(ServiceSettings, "", owner=f"service {meta.name!r}")
        self.client = ChannelPool.configured(self.config, environ=self.environ, tools=self.tools)
        self.server = ServerManager(
            ServerContext(
                meta.name,
                self.config,
                self.injector,
                self.tools,
                self.client,
                validation=self.settings.validation_enabled,
            )
        )
        self.lifecycle = Lifecycle(self)

    @property
    def timeline(self) -> Timeline:
        """The hook calls of the last start (and of its rollback, if it failed).

        ``timeline.records`` holds one :class:`HookRecord` per call, in the
        order they ended; ``render_timeline(timeline.records)`` draws them.
        """
        return self.lifecycle.timeline


def _metric_namespace(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_]", "_", name).strip("_").lower()
