"""Reading one client's commands and answering them, in order."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from lbtoolkit.plugins.centrifuge._errors import CentrifugePublishError, CentrifugeValueError
from lbtoolkit.plugins.centrifuge._hooks import ConnectRequest, call
from lbtoolkit.plugins.centrifuge._protocol import (
    BAD_REQUEST,
    CONNECT_TIMEOUT,
    INTERNAL,
    UNAUTHORIZED,
    Command,
    Disconnect,
    ErrorCode,
    FrameError,
    check_channel,
    error_frame,
    parse_command,
    reply_frame,
)
from lbtoolkit.plugins.centrifuge._session import Client, Session

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from lbtoolkit.plugins.centrifuge._hooks import Hooks
    from lbtoolkit.plugins.centrifuge._hub import Hub

__all__ = ["Conversation"]

log = logging.getLogger("lbtoolkit.plugins.centrifuge")


class Conversation:
    """The commands of one session: connect first, then any of the others."""

    def __init__(
        self,
        session: Session,
        *,
        hub: Hub,
        hooks: Hooks,
        publish: Callable[[str, Any], Awaitable[None]],
        channel_limit: int,
        connect_timeout: float,
    ) -> None:
        self._session = session
        self._hub = hub
        self._hooks = hooks
        self._publish = publish
        self._channel_limit = channel_limit
        self._connect_timeout = connect_timeout

    async def run(self) -> None:
        """Serve commands until the client leaves or breaks the protocol, then close."""
        try:
            disconnect = await self._converse()
        except Exception:
            log.exception("client %s: unexpected error", self._session.id)
            disconnect = INTERNAL
        self._session.close(disconnect)

    async def _converse(self) -> Disconnect:
        try:
            async with asyncio.timeout(self._connect_timeout):
                frame = await self._receive()
        except TimeoutError:
            return CONNECT_TIMEOUT
        while isinstance(frame, str):
            try:
                command = parse_command(frame)
            except FrameError as error:
                log.debug("client %s: %s", self._session.id, error)
                return BAD_REQUEST
            outcome = await self._handle(command)
            if outcome is not None:
                return outcome
            frame = await self._receive()
        return frame

    async def _receive(self) -> str | Disconnect:
        message = await self._session.websocket.receive()
        if message["type"] == "websocket.disconnect":
            # Codes below 3000 come from the peer or the transport: nothing to send back.
            return Disconnect(int(message.get("code") or 1005), "client disconnected")
        text = message.get("text")
        return text if isinstance(text, str) else BAD_REQUEST

    async def _handle(self, command: Command) -> Disconnect | None:
        session = self._session
        if session.client is None:
            if command.method != "connect":
                log.debug("client %s: first command is not connect", session.id)
                return BAD_REQUEST
            return await self._connect(command)
        if command.method == "subscribe":
            await self._subscribe(session.client, command)
        elif command.method == "unsubscribe":
            self._unsubscribe(command)
        elif command.method == "publish":
            await self._client_publish(session.client, command)
        elif command.method == "connect":
            self._error(command, ErrorCode.BAD_REQUEST, "already connected")
        else:
            self._error(command, ErrorCode.METHOD_NOT_FOUND, "unknown method")
        return None

    async def _connect(self, command: Command) -> Disconnect | None:
        session = self._session
        token = command.params.get("token", "")
        if not isinstance(token, str):
            return BAD_REQUEST
        user: str | None = ""
        if self._hooks.connect is not None:
            headers = dict(session.websocket.headers)
            request = ConnectRequest(session.id, token, command.params.get("data"), headers)
            try:
                user = await call(self._hooks.connect, request)
            except Exception:
                log.exception("client %s: the connect hook failed", session.id)
                return INTERNAL
        if user is None:
            return UNAUTHORIZED
        session.client = Client(session.id, user)
        self._reply(command, {"client": session.id, "user": user})
        return None

    async def _subscribe(self, client: Client, command: Command) -> None:
        channel = command.params.get("channel")
        problem = check_channel(channel)
        if problem is not None or not isinstance(channel, str):
            self._error(command, ErrorCode.BAD_REQUEST, problem or "bad channel")
            return
        if channel in self._session.channels:
            self._error(command, ErrorCode.ALREADY_SUBSCRIBED, "already subscribed")
            return
        if len(self._session.channels) >= self._channel_limit:
            self._error(command, ErrorCode.LIMIT_EXCEEDED, "channel limit exceeded")
            return
        allowed = await self._ask(command, self._hooks.subscribe, client, channel, default=True)
        if allowed is None or self._session.disconnect is not None:
            return
        if not allowed:
            self._error(command, ErrorCode.PERMISSION_DENIED, "permission denied")
            return
        # Subscribe and reply without awaiting in between: the reply comes
        # before the channel's next publication.
        self._hub.subscribe(self._session, channel)
        self._reply(command)

    def _unsubscribe(self, command: Command) -> None:
        channel = command.params.get("channel")
        problem = check_channel(channel)
        if problem is not None or not isinstance(channel, str):
            self._error(command, ErrorCode.BAD_REQUEST, problem or "bad channel")
            return
        self._hub.unsubscribe(self._session, channel)
        self._reply(command)

    async def _client_publish(self, client: Client, command: Command) -> None:
        channel = command.params.get("channel")
        problem = check_channel(channel)
        if problem is not None or not isinstance(channel, str):
            self._error(command, ErrorCode.BAD_REQUEST, problem or "bad channel")
            return
        if "data" not in command.params:
            self._error(command, ErrorCode.BAD_REQUEST, "data is required")
            return
        data = command.params["data"]
        allowed = await self._ask(
            command, self._hooks.publish, client, channel, data, default=False
        )
        if allowed is None:
            return
        if not allowed:
            self._error(command, ErrorCode.PERMISSION_DENIED, "permission denied")
            return
        try:
            await self._publish(channel, data)
        except CentrifugeValueError as error:
            self._error(command, ErrorCode.BAD_REQUEST, error.problem)
            return
        except CentrifugePublishError:
            log.exception("client %s: publish to %r failed", client.id, channel)
            self._error(command, ErrorCode.INTERNAL, "internal server error")
            return
        self._reply(command)

    async def _ask(
        self, command: Command, hook: Callable[..., Any] | None, *args: object, default: bool
    ) -> bool | None:
        """The hook's answer; ``None`` (after an error reply) when the hook failed."""
        if hook is None:
            return default
        try:
            return bool(await call(hook, *args))
        except Exception:
            log.exception("client %s: the %s hook failed", self._session.id, command.method)
            self._error(command, ErrorCode.INTERNAL, "internal server error")
            return None

    def _reply(self, command: Command, result: dict[str, Any] | None = None) -> None:
        assert command.method is not None  # noqa: S101 - only known methods get replies
        frame = reply_frame(command.id, command.method, result)
        self._session.send(frame, len(frame.encode()))

    def _error(self, command: Command, code: int, message: str) -> None:
        frame = error_frame(command.id, code, message)
        self._session.send(frame, len(frame.encode()))
