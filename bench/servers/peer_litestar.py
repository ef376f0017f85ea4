"""Peer: the two REST endpoints in Litestar, msgspec structs mirroring the messages.

Usage: ``python -m bench.servers.peer_litestar PORT`` (uvicorn), or
``granian --interface asgi bench.servers.peer_litestar:app``.
"""

from __future__ import annotations

import sys

import msgspec
from litestar import Litestar, get, post

from bench.servers.handlers import ITEM_NAME, ITEM_QUANTITY, ITEM_TAGS
from bench.servers.uvicorn_run import serve


class CreateItemRequest(msgspec.Struct):
    name: str = ""
    quantity: int = 0
    tags: list[str] = msgspec.field(default_factory=list)


class Item(msgspec.Struct):
    id: str = ""
    name: str = ""
    quantity: int = 0
    tags: list[str] = msgspec.field(default_factory=list)


# Litestar answers a POST with 201 by default; the other variants answer 200.
@post("/v1/items", status_code=200)
async def create_item(data: CreateItemRequest) -> Item:
    return Item(id="item-1", name=data.name, quantity=data.quantity, tags=data.tags)


@get("/v1/items/{item_id:str}")
async def get_item(item_id: str) -> Item:
    return Item(id=item_id, name=ITEM_NAME, quantity=ITEM_QUANTITY, tags=list(ITEM_TAGS))


app = Litestar([create_item, get_item], openapi_config=None, logging_config=None)

if __name__ == "__main__":
    serve(app, int(sys.argv[1]))
