"""Baseline: the two REST endpoints as bare Starlette JSON handlers on uvicorn.

Usage: ``python -m bench.servers.raw_starlette PORT``.
"""

from __future__ import annotations

import sys

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bench.servers.handlers import ITEM_NAME, ITEM_QUANTITY, ITEM_TAGS
from bench.servers.uvicorn_run import serve


async def create_item(request: Request) -> JSONResponse:
    data = await request.json()
    return JSONResponse(
        {
            "id": "item-1",
            "name": data.get("name", ""),
            "quantity": data.get("quantity", 0),
            "tags": data.get("tags", []),
        }
    )


async def get_item(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "id": request.path_params["id"],
            "name": ITEM_NAME,
            "quantity": ITEM_QUANTITY,
            "tags": list(ITEM_TAGS),
        }
    )


app = Starlette(
    routes=[
        Route("/v1/items", create_item, methods=["POST"]),
        Route("/v1/items/{id}", get_item, methods=["GET"]),
    ]
)

if __name__ == "__main__":
    serve(app, int(sys.argv[1]))
