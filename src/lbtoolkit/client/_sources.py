"""Where a service's addresses come from: the seam a service registry plugs into."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["ResolverSource"]


@runtime_checkable
class ResolverSource(Protocol):
    """A live source of service addresses (a registry), added with ``ChannelPool.add_source``.

    ``name`` describes the source in errors (``'etcd registry at 127.0.0.1:2379'``).
    ``addresses(service)`` returns the service's ``host:port`` addresses now,
    an empty list when the source knows the service but has no live replica,
    or ``None`` when the source does not know the service at all (the pool
    then asks the next source). ``subscribe(service, on_change)`` asks the
    source to call ``on_change(addresses)`` whenever the service's addresses
    change; the pool subscribes once per service, when it first opens a
    channel to it from this source, and swaps in a channel to the new
    addresses (the old one closes once its calls finish). ``on_change`` may
    be called from any thread.
    """

    name: str

    def addresses(self, service: str) -> list[str] | None: ...

    def subscribe(self, service: str, on_change: Callable[[list[str]], None]) -> None: ...
