"""WebSocket endpoints and ASGI applications mounted on an HTTP server beside its routes.

A plugin with a WebSocket endpoint of its own (a real-time node, say) or a
whole ASGI application shares the service's port this way instead of opening
a listener. The HTTP server's route table stays as it is: what is mounted is
looked at first, and a path two of them could both serve is refused when it
is declared or, at the latest, when the server is prepared, naming both.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from starlette.websockets import WebSocket, WebSocketState

from lbtoolkit._names import qualified_name
from lbtoolkit.server.http._errors import HttpRouteError
from lbtoolkit.server.http._router import Router
from lbtoolkit.spec import PathTemplate, PathVariable

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable

    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["Mounts", "WebSocketEndpoint"]

_log = logging.getLogger("lbtoolkit.server.http")

# ``async def endpoint(websocket)``: serves one connection, from ``accept()`` on.
WebSocketEndpoint: TypeAlias = "Callable[[WebSocket], Awaitable[None]]"

_SERVER_ERROR = 1011
_HINT = "give one of them another path"


@dataclass(frozen=True, slots=True)
class _Socket:
    template: PathTemplate
    endpoint: WebSocketEndpoint
    label: str


@dataclass(frozen=True, slots=True)
class _Mount:
    path: str  # literal, raw (percent-encoded as requests arrive), no trailing "/"
    segments: tuple[str, ...]
    app: ASGIApp
    label: str

    def serves(self, path: str) -> bool:
        return not self.segments or path == self.path or path.startswith(self.path + "/")


@dataclass(frozen=True, slots=True)
class _Taken:
    """A path someone serves: a route of the server (``owner`` None) or something mounted."""

    template: PathTemplate
    label: str
    websocket: bool
    owner: _Socket | _Mount | None = None


class Mounts:
    """The WebSocket endpoints and ASGI applications added to one HTTP server.

    The server's own routes are given as (template, label) pairs: ``http`` its
    HTTP routes, ``websockets`` the WebSocket routes of its services.
    """

    def __init__(self) -> None:
        self._sockets: list[_Socket] = []
        self._mounts: list[_Mount] = []

    @property
    def websockets(self) -> bool:
        """Whether WebSocket connections may reach something mounted (ASGI apps may take them)."""
        return bool(self._sockets or self._mounts)

    def add_websocket(
        self,
        path: str,
        endpoint: WebSocketEndpoint,
        *,
        http: Iterable[tuple[PathTemplate, str]],
        websockets: Iterable[tuple[PathTemplate, str]],
    ) -> None:
        """Add ``endpoint`` at the template ``path``; ``HttpRouteError`` if it clashes."""
        template = PathTemplate.parse(path)
        socket = _Socket(
            template, endpoint, f"WEBSOCKET {path} ({qualified_name(endpoint, short=True)})"
        )
        _refuse_clashes(socket, self._taken(http, websockets))
        self._sockets.append(socket)

    def add_asgi(
        self,
        path: str,
        app: ASGIApp,
        *,
        http: Iterable[tuple[PathTemplate, str]],
        websockets: Iterable[tuple[PathTemplate, str]],
    ) -> None:
        """Add ``app`` at the literal ``path`` and under it; ``HttpRouteError`` if it clashes."""
        label = f"ASGI {path} ({qualified_name(app, short=True)})"
        template = PathTemplate.parse(path)
        if not template.is_literal or template.verb:
            reason = "the path of an ASGI app must be literal (no variable, wildcard or verb)"
            raise HttpRouteError(label, reason, "mount it at a fixed path such as /realtime")
        segments = tuple(s for s in template.segments if isinstance(s, str))
        mount = _Mount("/" + "/".join(segments), segments, app, label)
        _refuse_clashes(mount, self._taken(http, websockets))
        self._mounts.append(mount)

    def mounted(self, path: str) -> bool:
        """Whether an ASGI app takes requests for ``path``."""
        return any(mount.serves(path) for mount in self._mounts)

    def check(
        self,
        *,
        http: Iterable[tuple[PathTemplate, str]],
        websockets: Iterable[tuple[PathTemplate, str]],
    ) -> None:
        """Refuse, with ``HttpRouteError``, what was mounted if it clashes with the server's routes.

        A WebSocket endpoint clashes with a WebSocket route of the same
        template; an ASGI app with any route that could match its path or a
        path under it.
        """
        taken = self._taken(http, websockets)
        items: list[_Socket | _Mount] = [*self._sockets, *self._mounts]
        for item in items:
            _refuse_clashes(item, [t for t in taken if t.owner is not item])

    def _taken(
        self,
        http: Iterable[tuple[PathTemplate, str]],
        websockets: Iterable[tuple[PathTemplate, str]],
    ) -> list[_Taken]:
        return [
            *(_Taken(template, label, websocket=False) for template, label in http),
            *(_Taken(template, label, websocket=True) for template, label in websockets),
            *(_Taken(s.template, s.label, websocket=True, owner=s) for s in self._sockets),
            *(
                _Taken(PathTemplate(m.segments), m.label, websocket=False, owner=m)
                for m in self._mounts
            ),
        ]

    def wrap(self, app: ASGIApp, *, refusing: Callable[[], bool]) -> ASGIApp:
        """``app`` with what was mounted looked at first.

        HTTP requests reach a mounted app only while the server is not
        draining (``refusing``): after that ``app`` answers them 503.
        """
        if not self._sockets and not self._mounts:
            return app
        router: Router[_Socket] = Router()
        for socket in self._sockets:
            router.add("GET", socket.template, socket, label=socket.label)
        mounts = tuple(self._mounts)

        def mount_of(path: str) -> _Mount | None:
            return next((mount for mount in mounts if mount.serves(path)), None)

        async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
            kind = scope["type"]
            if kind == "websocket":
                path = _raw_path(scope)
                found = router.match("GET", path)
                if found is not None:
                    route, values = found
                    scope["path_params"] = route.params(values) if values else {}
                    await _serve(route.target, scope, receive, send)
                    return
                mount = mount_of(path)
                if mount is not None:
                    await mount.app(_mounted(scope, mount), receive, send)
                    return
            elif kind == "http" and mounts and not refusing():
                mount = mount_of(_raw_path(scope))
                if mount is not None:
                    await mount.app(_mounted(scope, mount), receive, send)
                    return
            await app(scope, receive, send)

        return dispatch


def _raw_path(scope: Scope) -> str:
    raw_path: bytes | None = scope.get("raw_path")
    return raw_path.decode("latin-1") if raw_path else str(scope["path"])


def _mounted(scope: Scope, mount: _Mount) -> Scope:
    # As Starlette's Mount does: ``path`` stays whole, ``root_path`` says where the app sits.
    if not mount.segments:
        return scope
    return {**scope, "root_path": scope.get("root_path", "") + mount.path}


async def _serve(socket: _Socket, scope: Scope, receive: Receive, send: Send) -> None:
    websocket = WebSocket(scope, receive, send)
    try:
        await socket.endpoint(websocket)
    except Exception:  # noqa: BLE001 - the endpoint's failure, logged with its route
        _log.exception("%s failed", socket.label)
        # Before accept this refuses the handshake; after, it tells the client the server failed.
        with contextlib.suppress(Exception):
            if websocket.application_state is not WebSocketState.DISCONNECTED:
                await websocket.close(_SERVER_ERROR)


def _refuse_clashes(item: _Socket | _Mount, taken: Iterable[_Taken]) -> None:
    for other in taken:
        if isinstance(item, _Socket):
            if isinstance(other.owner, _Mount):
                clash = _overlaps(other.owner.segments, item.template)
            else:
                clash = other.websocket and other.template == item.template
            if clash:
                reason = f"{item.template} is already taken by {other.label}"
                raise HttpRouteError(item.label, reason, _HINT)
        else:
            clash = _overlaps(item.segments, other.template)
            if isinstance(other.owner, _Mount):
                clash = clash or _overlaps(other.owner.segments, PathTemplate(item.segments))
            if clash:
                reason = f"{item.path} and the paths under it overlap {other.label}"
                raise HttpRouteError(item.label, reason, _HINT)


def _overlaps(prefix: tuple[str, ...], template: PathTemplate) -> bool:
    """Whether ``template`` matches the path of the literal segments ``prefix`` or one under it."""
    flat: list[str] = []
    for segment in template.segments:
        flat.extend(segment.segments if isinstance(segment, PathVariable) else (segment,))
    for index, segment in enumerate(flat):
        if segment == "**" or index >= len(prefix):
            return True
        if segment != "*" and segment != prefix[index]:
            return False
    # A verb needs a ":" in the last segment, which a literal prefix never has.
    return len(flat) == len(prefix) and not template.verb
