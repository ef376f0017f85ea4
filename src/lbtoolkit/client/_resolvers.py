"""The configured resolvers and how an address list becomes one gRPC target.

grpcio offers no resolver plugin API in Python, so a list of addresses is
handed to gRPC as its multi-address target (``ipv4:10.0.0.1:9000,10.0.0.2:9000``)
that gRPC's ``round_robin`` balances over; host names in a list are looked
up once, when the channel opens (``dns:///name:port`` keeps gRPC's own
resolver, which looks again whenever a connection fails).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
from typing import TYPE_CHECKING

from lbtoolkit.client._config import parse_endpoint

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

__all__ = ["EndpointsResolver", "FileResolver", "ResolveError", "target_of"]


class ResolveError(Exception):
    """Addresses that give no target; the message says which and why."""


class EndpointsResolver:
    """``{PREFIX}_RESOLVER_ENDPOINTS``: a fixed table from the environment."""

    def __init__(self, variable: str, table: Mapping[str, list[str]]) -> None:
        self.name = f"{variable}"
        self._table = dict(table)

    def addresses(self, service: str) -> list[str] | None:
        found = self._table.get(service)
        return list(found) if found is not None else None

    def subscribe(self, service: str, on_change: Callable[[list[str]], None]) -> None:
        """The table never changes."""


class FileResolver:
    """The Go toolkit's file resolver: a JSON route table, read again when it changes.

    The file holds ``{"routes": {"<service>": {"<key>": {"route": {"service":
    "<service>", "address": "host:port"}}}}}`` (the Go toolkit writes a hash
    as each key and ``updated`` times, which are ignored).
    """

    def __init__(self, variable: str, path: Path) -> None:
        self.name = f"{variable} ({path})"
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._table: dict[str, list[str]] = {}

    def addresses(self, service: str) -> list[str] | None:
        self._reload()
        found = self._table.get(service)
        return list(found) if found is not None else None

    def subscribe(self, service: str, on_change: Callable[[list[str]], None]) -> None:
        """Changes are read when the service's channel is next opened."""

    def _reload(self) -> None:
        try:
            status = self.path.stat()
        except OSError as error:
            message = f"{self.name}: cannot read the route table: {error.strerror or error}"
            raise ResolveError(message) from None
        stamp = (status.st_mtime_ns, status.st_size)
        if stamp == self._stamp:
            return
        self._table = read_route_table(self.path)
        self._stamp = stamp


def read_route_table(path: Path) -> dict[str, list[str]]:
    """The addresses per service in a route table file; ``ResolveError`` says what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        message = f"{path}: cannot read the route table: {error.strerror or error}"
        raise ResolveError(message) from None
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as error:
        message = f"{path}: not JSON ({error})"
        raise ResolveError(message) from None
    routes = data.get("routes") if isinstance(data, dict) else None
    if routes is None:
        return {}
    if not isinstance(routes, dict):
        message = f"{path}: 'routes' is not an object of services"
        raise ResolveError(message)
    return {service: _addresses_of(path, service, entries) for service, entries in routes.items()}


def _addresses_of(path: Path, service: str, entries: object) -> list[str]:
    if not isinstance(entries, dict):
        message = f"{path}: routes of {service!r} are not an object"
        raise ResolveError(message)
    addresses = []
    for key, entry in entries.items():
        route = entry.get("route") if isinstance(entry, dict) else None
        address = route.get("address") if isinstance(route, dict) else None
        if not isinstance(address, str):
            message = f"{path}: route {key!r} of {service!r} has no address"
            raise ResolveError(message)
        try:
            parse_endpoint(address)
        except ValueError as error:
            message = f"{path}: route {key!r} of {service!r}: {error}"
            raise ResolveError(message) from None
        addresses.append(address)
    return addresses


async def target_of(addresses: list[str]) -> str:
    """The gRPC target reaching every one of ``addresses`` (``host:port`` each).

    A single ``dns:///`` target is kept as it is. Host names are looked up
    now; when IPv4 addresses are found, IPv6 ones are left out, since one
    gRPC target holds one family.
    """
    if len(addresses) == 1 and addresses[0].startswith("dns:///"):
        return addresses[0]
    v4: list[str] = []
    v6: list[str] = []
    loop = asyncio.get_running_loop()
    for address in addresses:
        try:
            host, port = parse_endpoint(address)
        except ValueError as error:
            raise ResolveError(str(error)) from None
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            try:
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except OSError as error:
                message = f"cannot look up {host!r}: {error.strerror or error}"
                raise ResolveError(message) from None
            found = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        else:
            found = [ip]
        for one in dict.fromkeys(found):
            (v4 if one.version == 4 else v6).append(  # noqa: PLR2004 - IP version
                f"{one}:{port}" if one.version == 4 else f"[{one}]:{port}"  # noqa: PLR2004
            )
    if v4:
        return "ipv4:" + ",".join(dict.fromkeys(v4))
    if v6:
        return "ipv6:" + ",".join(dict.fromkeys(v6))
    message = "no address"
    raise ResolveError(message)
