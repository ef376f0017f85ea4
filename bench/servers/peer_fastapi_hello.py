"""Peer hello service: FastAPI on uvicorn with a redis-py client opened at start.

Usage: ``python -m bench.servers.peer_fastapi_hello PORT``. uvicorn answers
once the lifespan has connected to Redis (127.0.0.1:6379), as lbtoolkit
answers once its plugins have started.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from redis.asyncio import Redis

from bench.servers.handlers import ITEM_NAME, ITEM_QUANTITY, ITEM_TAGS

__all__ = ["build"]


class Item(BaseModel):
    id: str = ""
    name: str = ""
    quantity: int = 0
    tags: list[str] = []


def build() -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = Redis(host="127.0.0.1", port=6379)
        await client.ping()
        app.state.redis = client
        yield
        await client.aclose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/v1/items/{id}")
    async def get_item(id: str) -> Item:
        return Item(id=id, name=ITEM_NAME, quantity=ITEM_QUANTITY, tags=list(ITEM_TAGS))

    return app


def main() -> None:
    config = uvicorn.Config(
        build(), host="127.0.0.1", port=int(sys.argv[1]), access_log=False, log_level="warning"
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
