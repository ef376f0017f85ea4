"""uvicorn run inside the service's event loop, without uvicorn's ticking task.

How, and why without the ticking task: :mod:`lbtoolkit._shortcuts._uvicorn`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import uvicorn

from lbtoolkit._shortcuts._uvicorn import json_bad_request_protocol, start_without_ticking

if TYPE_CHECKING:
    import socket
    from collections.abc import Awaitable, Callable

    Asgi = Callable[[Any, Any, Any], Awaitable[None]]

__all__ = ["start_server"]


async def start_server(
    app: Asgi, sock: socket.socket, *, bad_request_body: bytes | None = None, **options: Any
) -> uvicorn.Server:
    """A uvicorn server for ``app`` accepting on ``sock``; returns once it is listening.

    ``options`` go to ``uvicorn.Config``; lifespan events are off and logging
    is left to the service. ``bad_request_body`` (JSON) replaces uvicorn's
    plain-text answer to a request it cannot parse. Stop the server with
    ``await server.shutdown()``, or close its listeners and connections as
    the caller sees fit. If it cannot start, the socket is closed.
    """
    if bad_request_body is not None and "http" not in options:
        options["http"] = json_bad_request_protocol(bad_request_body)
    config = uvicorn.Config(app, lifespan="off", log_config=None, **options)
    config.load()
    server = uvicorn.Server(config)
    try:
        await start_without_ticking(server, sock)
    except BaseException:
        sock.close()
        raise
    return server
