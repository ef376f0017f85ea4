"""Peer hello service: FastStream's ASGI app on uvicorn, a RabbitMQ subscriber and one GET route.

Usage: ``python -m bench.servers.peer_faststream_hello PORT``. The app starts
its broker (connects, declares the subscriber's queue, consumes) in the
lifespan, so uvicorn answers once the broker is up.
"""

from __future__ import annotations

import json
import sys

import uvicorn
from faststream.asgi import AsgiFastStream, AsgiResponse, get
from faststream.asgi.types import Scope
from faststream.rabbit import RabbitBroker, RabbitQueue

from bench.servers.handlers import ITEM_NAME, ITEM_QUANTITY, ITEM_TAGS

__all__ = ["build"]

URL = "amqp://guest:guest@127.0.0.1:5672/"
QUEUE = "lbtoolkit-bench.hello"


def build() -> AsgiFastStream:
    broker = RabbitBroker(URL)

    @broker.subscriber(RabbitQueue(QUEUE, durable=True))
    async def on_hello(body: bytes) -> None:
        del body

    @get
    async def get_item(scope: Scope) -> AsgiResponse:
        item_id = scope["path"].rsplit("/", 1)[1]
        item = {"id": item_id, "name": ITEM_NAME, "quantity": ITEM_QUANTITY, "tags": ITEM_TAGS}
        return AsgiResponse(json.dumps(item).encode(), 200, {"content-type": "application/json"})

    # FastStream's ASGI routes match whole paths: the one item the scenario asks for.
    return AsgiFastStream(broker, asgi_routes=[("/v1/items/item-42", get_item)])


def main() -> None:
    config = uvicorn.Config(
        build(), host="127.0.0.1", port=int(sys.argv[1]), access_log=False, log_level="warning"
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
