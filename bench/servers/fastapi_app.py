"""Baseline: the two REST endpoints in FastAPI, pydantic models mirroring the messages.

Usage: ``python -m bench.servers.fastapi_app PORT``.
"""

from __future__ import annotations

import sys

from fastapi import FastAPI
from pydantic import BaseModel

from bench.servers.handlers import ITEM_NAME, ITEM_QUANTITY, ITEM_TAGS
from bench.servers.uvicorn_run import serve


class CreateItemRequest(BaseModel):
    name: str = ""
    quantity: int = 0
    tags: list[str] = []


class Item(BaseModel):
    id: str = ""
    name: str = ""
    quantity: int = 0
    tags: list[str] = []


app = FastAPI()


@app.post("/v1/items")
async def create_item(request: CreateItemRequest) -> Item:
    return Item(id="item-1", name=request.name, quantity=request.quantity, tags=request.tags)


@app.get("/v1/items/{id}")
async def get_item(id: str) -> Item:
    return Item(id=id, name=ITEM_NAME, quantity=ITEM_QUANTITY, tags=list(ITEM_TAGS))


if __name__ == "__main__":
    serve(app, int(sys.argv[1]))
