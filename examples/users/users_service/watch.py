"""Watch new users live: ``python -m users_service.watch ws://127.0.0.1:8080/connection/websocket``.

Speaks the centrifuge plugin's protocol as a browser would: connect,
subscribe to the "users" channel, print each publication; Ctrl+C stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys

from websockets.asyncio.client import connect

from users_service.realtime import CHANNEL


async def watch(url: str) -> None:
    async with connect(url) as websocket:
        await websocket.send(json.dumps({"id": 1, "connect": {}}))
        await websocket.send(json.dumps({"id": 2, "subscribe": {"channel": CHANNEL}}))
        async for frame in websocket:
            message = json.loads(frame)
            if "error" in message:
                raise SystemExit(f"refused: {message['error']}")
            if "push" in message:
                print(json.dumps(message["push"]["pub"]["data"]), flush=True)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            watch(sys.argv[1] if len(sys.argv) > 1 else "ws://127.0.0.1:8080/connection/websocket")
        )
