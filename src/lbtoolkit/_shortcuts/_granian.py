"""granian: one ASGI worker serving a socket the service already bound, in its loop.

granian's public embedded server (``granian.server.embed.Server``) binds its
own listener from a host and port: the port it got for port 0 is never
known, and a socket bound beforehand (port sharing, the HTTP server's
listen errors) cannot be handed to it. Its ``serve()`` also runs until
stopped and has no graceful stop with a deadline. So the worker it would
spawn is built here directly: the same Rust worker, the listening socket
handed over by file descriptor, the ASGI callbacks scheduled on the running
event loop exactly as the embedded server schedules them.

The sockets are read and written by granian's Rust runtime on a thread of
its own; every ASGI call runs as an asyncio task of the running loop, so the
application shares the loop with everything else the service runs.

Relies on ``granian._granian`` (``ASGIWorker`` built with the arguments the
2.8 embedded server passes, ``SocketHolder(fd, uds, backlog)``,
``WorkerSignal``, ``serve_async``), ``granian._futures``
(``_future_watcher_wrapper``, ``_new_cbscheduler``) and
``granian.asgi._callback_wrapper``. granian is imported only when called.
"""

from __future__ import annotations

import asyncio
import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import socket
    from collections.abc import Awaitable, Callable

    Asgi = Callable[[Any, Any, Any], Awaitable[None]]

__all__ = ["GRANIAN_TESTED", "serve_granian"]

# The granian release whose worker arguments the call below matches.
GRANIAN_TESTED = "2.8"
_BLOCKING_THREADS = 512  # granian's default for the Rust runtime's blocking pool
_PY_THREADS = 1  # ASGI runs on the event loop: no Python thread pool
_PY_THREADS_IDLE = 30  # seconds; unused with one Python thread, but range-checked by granian


def serve_granian(
    app: Asgi,
    sock: socket.socket,
    *,
    backlog: int,
    header_read_timeout: float,
    websockets: bool,
) -> Callable[[], None]:
    """Serve ``app`` on ``sock`` (listening) in the running loop; return the stop signal.

    ``sock`` is handed over: granian closes it when stopped. Calling the
    returned function stops accepting, closes idle connections and closes
    busy ones once their response is sent. ``header_read_timeout`` (seconds)
    bounds the wait for a request's head, the next one's on a kept-alive
    connection included. HTTP/1.1 only, as uvicorn serves.
    """
    native: Any = importlib.import_module("granian._granian")
    futures: Any = importlib.import_module("granian._futures")
    asgi: Any = importlib.import_module("granian.asgi")
    http: Any = importlib.import_module("granian.http")
    loop = asyncio.get_running_loop()
    signal = native.WorkerSignal()
    http1 = http.HTTP1Settings(header_read_timeout=max(1, round(header_read_timeout * 1000)))
    # Enabled, certificate, key, password, lowest protocol, CA, CRLs, client verification.
    no_tls: tuple[Any, ...] = (False, None, None, None, "tls1.3", None, [], False)
    holder = native.SocketHolder(sock.fileno(), False, backlog)  # noqa: FBT003 - not a Unix socket
    # The Rust side owns the descriptor from here and closes it when stopped.
    sock.detach()
    try:
        worker = native.ASGIWorker(
            1,
            (None, holder),
            None,  # no inter-process channel: a single worker in this process
            1,  # one Rust thread for the sockets
            _BLOCKING_THREADS,
            _PY_THREADS,
            _PY_THREADS_IDLE,
            backlog,  # backpressure: requests handed to Python at once
            "1",
            http1,
            None,
            websockets,
            None,  # no static files
            *no_tls,
            (None, None),  # no metrics
        )
    except TypeError as error:
        version = getattr(importlib.import_module("granian"), "__version__", "?")
        msg = f"granian {version} is not supported (the HTTP engine is made for {GRANIAN_TESTED})"
        raise RuntimeError(msg) from error
    callback = futures._future_watcher_wrapper(
        asgi._callback_wrapper(app, {"url_path_prefix": None}, {}, None)
    )
    scheduler = futures._new_cbscheduler(loop, callback, impl_asyncio=True)
    worker.serve_async(scheduler, loop, signal)
    stop: Callable[[], None] = signal.set
    return stop
