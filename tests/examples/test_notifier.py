"""The notifier example: fresh generated code, the welcome with mocks, both services together."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from lbtoolkit.testing import open_service
from lbtoolkit_mailer import RecordingMailer
from notifier_service.gen import users_pb2
from notifier_service.gen.notifier_toolkit import as_mail_plugin
from notifier_service.gen.notifier_toolkit_mocks import (
    mock_events_plugin,
    mock_notifier_services,
)
from notifier_service.service import NotifierConfig, Outbox, Welcomer, welcome_text
from notifier_service.service import build as build_notifier
from tests.examples.examples_support import (
    EXAMPLES,
    delete_broker_objects,
    notifier_environ,
    scratch_database,
    stale_generated_files,
    unique,
    users_environ,
    wait_for,
)
from tests.examples.test_mailer_smtp import open_smtp_server
from users_service.service import build as build_users

NOTIFIER = EXAMPLES / "notifier"


def test_checked_in_generated_code_is_fresh(tmp_path: Path) -> None:
    # Regenerate with: lbtoolkit generate -I examples/notifier/protos -I examples/users/protos
    #   -o examples/notifier/notifier_service/gen examples/notifier/protos/notifier.proto
    stale = stale_generated_files(
        [NOTIFIER / "protos" / "notifier.proto"],
        [NOTIFIER / "protos", EXAMPLES / "users" / "protos"],
        NOTIFIER / "notifier_service" / "gen",
        tmp_path / "gen",
    )
    assert stale == []


async def test_welcome_reads_the_user_back_and_mails_it_once() -> None:
    services = mock_notifier_services()
    user = users_pb2.User(id=str(uuid.uuid4()), email="ada@example.com", name="Ada")
    services.users.get_user.return_value = user
    mailer, outbox = RecordingMailer(), Outbox()
    welcomer = Welcomer(
        mock_events_plugin(),
        as_mail_plugin(mailer),  # named "mail", as the service names its mailer
        services,
        outbox,
        NotifierConfig(users_timeout=timedelta(seconds=5)),
    )
    event = json.dumps({"id": user.id, "email": "stale@example.com"}).encode()

    await welcomer.welcome(event)
    await welcomer.welcome(event)  # delivered again: at least once delivery

    subject, body = welcome_text(user)
    assert [(m.to, m.subject, m.body) for m in mailer.sent] == [
        (("ada@example.com",), subject, body)
    ]
    services.users.get_user.assert_awaited_once_with(
        users_pb2.GetUserRequest(id=user.id), rpc_timeout=5.0
    )
    assert [(m.user_id, m.to) for m in outbox.sent] == [(user.id, "ada@example.com")]


@pytest.mark.integration
async def test_a_user_created_over_http_is_welcomed_by_mail() -> None:
    users_name, notifier_name = unique("users"), unique("notifier")
    queue = f"{notifier_name}:{users_name}:user.created"
    try:
        async with scratch_database() as database, open_smtp_server() as smtp:
            users = build_users(
                name=users_name, environ=users_environ(database, users_name), argv=[]
            )
            async with open_service(users):
                target = f"127.0.0.1:{users.server.grpc.port}"
                environ = notifier_environ(
                    target, smtp.port, notifier_name, NOTIFIER_USERS_SERVICE=users_name
                )
                notifier = build_notifier(name=notifier_name, environ=environ, argv=[])
                async with open_service(notifier), httpx.AsyncClient(timeout=5) as client:
                    created = (
                        await client.post(
                            f"http://127.0.0.1:{users.server.http.port}/v1/users",
                            json={"email": "grace@example.com", "name": "Grace"},
                        )
                    ).json()
                    mails_url = f"http://127.0.0.1:{notifier.server.http.port}/v1/mails"

                    async def mailed() -> list[dict[str, str]] | None:
                        answer = (
                            await client.get(mails_url, params={"userId": created["id"]})
                        ).json()
                        return answer.get("mails") or None

                    mails = await wait_for(mailed, 20, "the welcome mail")
            received = list(smtp.mails)
    finally:
        await delete_broker_objects([users_name], [queue])

    assert [(m["userId"], m["to"], m["subject"]) for m in mails] == [
        (created["id"], "grace@example.com", "Welcome, Grace!")
    ]
    assert [m.recipients for m in received] == [("grace@example.com",)]
    assert received[0].message["Subject"] == "Welcome, Grace!"
    assert "grace@example.com is ready" in received[0].message.get_content()
