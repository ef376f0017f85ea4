"""Peer: the two REST endpoints in BlackSheep, dataclasses mirroring the messages.

Usage: ``python -m bench.servers.peer_blacksheep PORT`` (uvicorn), or
``granian --interface asgi bench.servers.peer_blacksheep:app``.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field

from blacksheep import Application, FromJSON, Response, json

from bench.servers.handlers import ITEM_NAME, ITEM_QUANTITY, ITEM_TAGS
from bench.servers.uvicorn_run import serve


@dataclass(slots=True)
class CreateItemRequest:
    name: str = ""
    quantity: int = 0
    tags: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Item:
    id: str = ""
    name: str = ""
    quantity: int = 0
    tags: list[str] = field(default_factory=list)


app = Application()


@app.router.post("/v1/items")
async def create_item(data: FromJSON[CreateItemRequest]) -> Response:
    body = data.value
    return json(asdict(Item(id="item-1", name=body.name, quantity=body.quantity, tags=body.tags)))


@app.router.get("/v1/items/{item_id}")
async def get_item(item_id: str) -> Response:
    item = Item(id=item_id, name=ITEM_NAME, quantity=ITEM_QUANTITY, tags=list(ITEM_TAGS))
    return json(asdict(item))


if __name__ == "__main__":
    serve(app, int(sys.argv[1]))
