"""The metrics listener: prometheus_client's ASGI app on uvicorn, inside the service's loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import TYPE_CHECKING, Any

import uvicorn
from prometheus_client import make_asgi_app

if TYPE_CHECKING:
    from collections.abc import Iterator

    from prometheus_client import CollectorRegistry

__all__ = ["MetricsServer", "bind"]

Scope = dict[str, Any]

_START_TIMEOUT = 5.0


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; binding here (not in uvicorn) makes errors ours and port 0 readable."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)  # noqa: FBT003 - socket's own API
    except BaseException:
        sock.close()
        raise
    return sock


class _OnePath:
    """The metrics app at one path; 404 elsewhere."""

    def __init__(self, path: str, registry: CollectorRegistry) -> None:
        self._path = path
        self._metrics = make_asgi_app(registry)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["path"] == self._path:
            await self._metrics(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b"not found\n"})


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: the service owns SIGINT and SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class MetricsServer:
    """Serves ``registry`` at ``path`` on an already bound socket."""

    def __init__(self, sock: socket.socket, path: str, registry: CollectorRegistry) -> None:
        self._sock = sock
        self.address: tuple[str, int] = sock.getsockname()[:2]
        config = uvicorn.Config(
            _OnePath(path, registry),
            lifespan="off",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        self._server = _Server(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def serving(self) -> bool:
        """Whether the server started and has not stopped."""
        task = self._task
        return task is not None and not task.done() and self._server.started

    async def start(self) -> None:
        """Return once the server accepts connections; raise what stopped it otherwise."""
        self._task = asyncio.create_task(self._server.serve(sockets=[self._sock]))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _START_TIMEOUT
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises the failure
                msg = "the server stopped while starting"
                raise OSError(msg)
            if loop.time() > deadline:
                await self.stop(0)
                msg = f"not serving after {_START_TIMEOUT:g}s"
                raise TimeoutError(msg)
            await asyncio.sleep(0.01)

    async def stop(self, grace: float) -> None:
        """Stop accepting, close open connections (after ``grace`` seconds), release the port."""
        task, self._task = self._task, None
        if task is None:
            self._sock.close()
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(task), grace)
        except TimeoutError:
            self._server.force_exit = True
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        finally:
            self._sock.close()
