"""The private servers: started, killed, restarted on the same port and data, cleaned up."""

from __future__ import annotations

import socket
from pathlib import Path

import asyncpg
import pytest
from tests.support.servers import (
    LOOPBACK,
    PrivatePostgres,
    PrivateRabbitMQ,
    PrivateRedis,
    PrivateServerError,
    free_port,
)

pytestmark = pytest.mark.integration


def listening(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), 1):
            return True
    except OSError:
        return False


def gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


def test_redis_is_killed_and_restarted_on_its_port_and_removed_at_exit() -> None:
    with PrivateRedis() as server:
        first = server.pid
        assert first is not None
        assert listening(server.port)
        assert server.url == f"redis://127.0.0.1:{server.port}/0"
        server.kill()
        assert gone(first)
        assert not listening(server.port)
        server.start()
        assert server.pid not in {None, first}
        assert listening(server.port)
        directory = server.directory
    assert not listening(server.port)
    assert not directory.exists()


async def test_postgres_keeps_its_data_across_a_kill_and_a_restart() -> None:
    with PrivatePostgres() as server:
        connection = await asyncpg.connect(server.url)
        await connection.execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)")
        await connection.close()
        first = server.pid
        assert first is not None
        server.kill()
        assert gone(first)
        assert not listening(server.port)
        server.start()
        server.restart()
        connection = await asyncpg.connect(server.url)
        assert await connection.fetchval("SELECT n FROM kept") == 7
        assert await connection.fetchval("SELECT current_database()") == "test"
        await connection.close()
        directory, pid = server.directory, server.pid
    assert pid is not None
    assert gone(pid)
    assert not directory.exists()


def test_rabbitmq_restart_keeps_the_node_and_stop_ends_it() -> None:
    with PrivateRabbitMQ() as broker:
        pid = broker.pid
        assert pid is not None
        assert broker.url == f"amqp://guest:guest@127.0.0.1:{broker.port}/"
        assert broker.node.endswith("@localhost")
        broker.restart()
        assert broker.pid == pid
        assert listening(broker.port)
        assert "Closed 0 connections" in broker.ctl("close_all_connections", "test")
        broker.stop()
        assert gone(pid)
        assert not listening(broker.port)
        broker.ensure_stopped()  # twice is fine
        directory = broker.directory
    assert not directory.exists()


def test_a_failed_start_names_the_server_and_shows_its_log() -> None:
    with socket.socket() as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = PrivateRedis(port)
        with pytest.raises(PrivateServerError) as caught:
            server.start()
        server.ensure_stopped()
    text = str(caught.value)
    assert text.startswith(f"<private redis on 127.0.0.1:{port}>: did not answer PING\n")
    assert f"last lines of {server.log}:\n" in text
    assert "Address already in use" in text


def test_free_port_is_not_listening() -> None:
    assert not listening(free_port())
