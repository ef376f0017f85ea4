"""The handlers every variant runs: the same work, whatever serves it."""

from __future__ import annotations

from typing import Any

from bench.servers.messages import pb

__all__ = ["ITEM_NAME", "ITEM_QUANTITY", "ITEM_TAGS", "create_item", "get_item", "ping"]

ITEM_NAME = "widget"
ITEM_QUANTITY = 3
ITEM_TAGS = ("a", "b")


def ping(request: Any) -> Any:
    return pb.PingResponse(message=request.message)


def create_item(request: Any) -> Any:
    return pb.Item(id="item-1", name=request.name, quantity=request.quantity, tags=request.tags)


def get_item(request: Any) -> Any:
    return pb.Item(id=request.id, name=ITEM_NAME, quantity=ITEM_QUANTITY, tags=ITEM_TAGS)
