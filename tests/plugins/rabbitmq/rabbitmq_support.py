"""Helpers of the RabbitMQ tests: unique names, broker control, waiting."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import aio_pika
import pytest

from lbtoolkit.plugins.rabbitmq import RabbitMQPlugin
from lbtoolkit.plugins.rabbitmq._subscription import queue_name

BROKER = "amqp://guest:guest@127.0.0.1:5672/"
RABBITMQCTL_TIMEOUT = 60.0


async def rabbitmqctl(*args: str, timeout: float = RABBITMQCTL_TIMEOUT) -> str:
    """Run ``rabbitmqctl`` and return its output; fail the test on error or timeout."""
    process = await asyncio.create_subprocess_exec(
        "rabbitmqctl",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, f"rabbitmqctl {' '.join(args)}: {err.decode()}"
    return out.decode()


async def connection_names() -> list[str]:
    """``connection_name`` of every client connection the broker lists."""
    out = await rabbitmqctl(
        "-q", "list_connections", "name", "client_properties", "--formatter", "json"
    )
    names = []
    for row in json.loads(out or "[]"):
        properties = {key: value for key, _, value in row["client_properties"]}
        names.append(str(properties.get("connection_name", "")))
    return names


async def wait_broker_up(timeout: float = 60.0) -> None:
    """Wait until the broker accepts an AMQP login again."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            connection = await aio_pika.connect(BROKER, timeout=2)
        except (OSError, aio_pika.exceptions.AMQPError, TimeoutError):
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.2)
        else:
            await connection.close()
            return


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def wait_for(
    condition: Callable[[], bool], timeout: float, message: str, step: float = 0.02
) -> None:
    """Poll ``condition`` until true; fail with ``message`` after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            pytest.fail(f"timed out after {timeout}s: {message}")
        await asyncio.sleep(step)


@dataclass
class Names:
    """Unique service names for one test, and the broker objects to delete after it."""

    tag: str
    exchanges: set[str] = field(default_factory=set)
    queues: set[str] = field(default_factory=set)

    def service(self, role: str) -> str:
        name = f"t-{self.tag}-{role}"
        self.exchanges.add(name)
        return name

    def queue(self, subscriber: str, publisher: str, event: str) -> str:
        name = queue_name(subscriber, publisher, event)
        self.queues.update({name, f"{name}.dead-letter"})
        return name


@contextlib.asynccontextmanager
async def broker_restart_guard() -> AsyncIterator[None]:
    """Whatever happens inside, leave the broker running."""
    try:
        yield
    finally:
        await rabbitmqctl("start_app")
        await wait_broker_up()


Waiter = Callable[[], Awaitable[None]]

PluginFactory = Callable[..., RabbitMQPlugin]
