"""Servers: the declarations generated from .proto files and the transports."""

from __future__ import annotations

from lbtoolkit.server._manager import Server, ServerManager

__all__ = ["Server", "ServerManager"]
