"""The notifier example: welcomes every user the users example creates.

It subscribes to the users service's ``user.created`` events (RabbitMQ),
reads the user back over gRPC through the generated ``UsersClient`` (so the
mail uses what the users service holds now, not what the event carried),
sends a welcome mail with the mailer plugin, and keeps a record of what it
sent, served by ``ListSentMails`` (``GET /v1/mails``).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel

import lbtoolkit
from lbtoolkit.config import PositiveDuration, env
from lbtoolkit.server import RequestContext
from notifier_service.gen import notifier_pb2, users_pb2
from notifier_service.gen.notifier_toolkit import (
    EventsPlugin,
    MailPlugin,
    NotifierServices,
    new_notifier_service,
    register_notifier_rpc_server,
)

__all__ = [
    "DEFAULTS",
    "ENV_PREFIX",
    "NotifierConfig",
    "Outbox",
    "Welcomer",
    "build",
    "main",
    "welcome_text",
]

log = logging.getLogger("notifier.welcome")

ENV_PREFIX = "NOTIFIER"
USER_CREATED = "user.created"

DEFAULTS = {
    "NOTIFIER_NOTIFIER_GRPC_SERVER_LISTEN": "127.0.0.1",
    "NOTIFIER_NOTIFIER_GRPC_SERVER_PORT": "9091",
    "NOTIFIER_NOTIFIER_SERVER_LISTEN": "127.0.0.1",
    "NOTIFIER_NOTIFIER_SERVER_PORT": "8082",
    "NOTIFIER_PROBES_SERVER_LISTEN": "127.0.0.1",
    "NOTIFIER_PROBES_SERVER_PORT": "8083",
    "NOTIFIER_EVENTS_HOST": "127.0.0.1",
    "NOTIFIER_CLIENT_USERS_TARGET": "127.0.0.1:9090",
    "NOTIFIER_MAIL_HOST": "127.0.0.1",
    "NOTIFIER_MAIL_PORT": "2525",
    "NOTIFIER_MAIL_FROM": "welcome@example.com",
}


class NotifierConfig(BaseModel):
    """``{PREFIX}_USERS_SERVICE`` and ``{PREFIX}_USERS_TIMEOUT``."""

    users_service: str = env(
        "USERS_SERVICE",
        default="users",
        comment="Name of the users service whose user.created events are welcomed",
    )
    users_timeout: PositiveDuration = env(
        "USERS_TIMEOUT", default="5s", comment="Time a GetUser call to the users service may take"
    )


class Outbox:
    """The welcome mails sent, in order (one process's memory: a demo, not an archive)."""

    def __init__(self) -> None:
        self.sent: list[notifier_pb2.SentMail] = []

    def record(self, user_id: str, to: str, subject: str) -> None:
        sent_at = Timestamp()
        sent_at.FromDatetime(datetime.now(UTC))
        self.sent.append(
            notifier_pb2.SentMail(user_id=user_id, to=to, subject=subject, sent_at=sent_at)
        )

    def mails_to(self, user_id: str) -> list[notifier_pb2.SentMail]:
        return [m for m in self.sent if not user_id or m.user_id == user_id]


def welcome_text(user: users_pb2.User) -> tuple[str, str]:
    """The subject and body of ``user``'s welcome mail."""
    return f"Welcome, {user.name}!", f"Hello {user.name},\n\nyour account {user.email} is ready.\n"


class Welcomer:
    """A package: subscribes at start, and welcomes each user created."""

    def __init__(
        self,
        events: EventsPlugin,
        mail: MailPlugin,
        services: NotifierServices,
        outbox: Outbox,
        config: NotifierConfig,
    ) -> None:
        self._events = events
        self._mail = mail
        self._users = services.users
        self._outbox = outbox
        self._config = config

    async def pre_start(self) -> None:
        # Declared now, consumed once every plugin has started.
        await self._events.subscribe(self._config.users_service, USER_CREATED, self.welcome)

    async def welcome(self, data: bytes) -> None:
        """Handle one ``user.created``; raising sends the event back for another attempt."""
        user_id = json.loads(data)["id"]
        if self._outbox.mails_to(user_id):
            return  # delivered twice (at least once delivery): welcomed already
        user = await self._users.get_user(
            users_pb2.GetUserRequest(id=user_id),
            rpc_timeout=self._config.users_timeout.total_seconds(),
        )
        subject, body = welcome_text(user)
        await self._mail.send(user.email, subject, body)
        self._outbox.record(user.id, user.email, subject)
        log.info("welcomed user %s", user.id)


class Notifier:
    """The ``NotifierRpcServer``: what was mailed."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    async def list_sent_mails(
        self,
        request: notifier_pb2.ListSentMailsRequest,
        context: RequestContext,  # noqa: ARG002 - part of the RpcServer signature
    ) -> notifier_pb2.ListSentMailsResponse:
        return notifier_pb2.ListSentMailsResponse(mails=self._outbox.mails_to(request.user_id))


def build(
    *,
    name: str = "notifier",
    environ: Mapping[str, str] | None = None,
    argv: Sequence[str] | None = None,
) -> lbtoolkit.Service:
    """The notifier example, wired; ``name`` names its queue (``{name}:{users}:user.created``)."""
    app = new_notifier_service(
        name,
        version="0.1.0",
        description="lbtoolkit example: welcome mails for new users",
        env_prefix=ENV_PREFIX,
        environ=environ,
        argv=argv,
    )
    app.register_config(NotifierConfig)
    app.provide(Outbox)
    app.register_package(Welcomer)
    register_notifier_rpc_server(app, Notifier)
    return app


def main() -> int:
    app = build(environ={**DEFAULTS, **os.environ})
    app.register_on_start_sync_hook(lambda: _print_addresses(app))
    return app.run()


def _print_addresses(app: lbtoolkit.Service) -> None:
    probes = app.server.probes
    lines = [
        "notifier is running (Ctrl+C to stop)",
        f"  gRPC    127.0.0.1:{app.server.grpc.port}",
        f"  HTTP    http://127.0.0.1:{app.server.http.port}",
        f"  probes  http://127.0.0.1:{probes.port if probes else '-'}/_healthz/readiness",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
