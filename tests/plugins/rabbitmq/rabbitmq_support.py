"""Helpers of the RabbitMQ tests: unique names, broker listings, waiting, the shared-broker witness.

Tests that stop, restart or disconnect a broker do it to a private node
(``tests.support.servers.PrivateRabbitMQ``), never to the shared one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tests.support.servers import LOOPBACK, PrivateRabbitMQ

from lbtoolkit.plugins.rabbitmq import RabbitMQPlugin
from lbtoolkit.plugins.rabbitmq._subscription import queue_name

BROKER = "amqp://guest:guest@127.0.0.1:5672/"
RABBITMQCTL_TIMEOUT = 60.0
WITNESS_TIMEOUT = 30.0


async def rabbitmqctl(*args: str, timeout: float = RABBITMQCTL_TIMEOUT) -> str:
    """Run ``rabbitmqctl`` on the shared node, to read its state; fail on error or timeout."""
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


def private_broker_environ(broker: PrivateRabbitMQ, prefix: str = "QUEUE") -> dict[str, str]:
    """The variables pointing a plugin with prefix ``prefix`` at ``broker``."""
    return {f"{prefix}_HOST": LOOPBACK, f"{prefix}_PORT": str(broker.port)}


@dataclass(frozen=True)
class WitnessReport:
    """What the witness did on the shared broker so far."""

    published: int
    consumed: int
    errors: list[str]


class SharedBrokerWitness:
    """A separate process publishing to and consuming from the shared broker the whole time.

    Its own queue, its own plain (not robust) connection: if anything done to
    a private broker reached the shared one, the witness would report errors
    or stall. See ``shared_broker_witness.py``.
    """

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process

    async def report(self) -> WitnessReport:
        """The counts so far."""
        return await self._ask("count")

    async def finish(self) -> WitnessReport:
        """Stop publishing, let the last messages arrive, and return the final counts."""
        report = await self._ask("stop")
        async with asyncio.timeout(WITNESS_TIMEOUT):
            await self._process.wait()
        return report

    async def wait_for_more(self, than: WitnessReport, timeout: float = WITNESS_TIMEOUT) -> None:
        """Wait until messages were published and consumed since ``than``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            now = await self.report()
            if now.errors or (now.published > than.published and now.consumed > than.consumed):
                return
            if loop.time() > deadline:
                pytest.fail(f"the shared broker's messages stopped flowing: {now} after {than}")
            await asyncio.sleep(0.05)

    async def _ask(self, command: str) -> WitnessReport:
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None
        assert stdout is not None
        stdin.write(f"{command}\n".encode())
        async with asyncio.timeout(WITNESS_TIMEOUT):
            await stdin.drain()
            line = await stdout.readline()
        if not line:
            pytest.fail(f"the shared-broker witness exited with {await self._process.wait()}")
        return WitnessReport(**json.loads(line))


@contextlib.asynccontextmanager
async def open_shared_broker_witness() -> AsyncIterator[SharedBrokerWitness]:
    """Start the witness; yield once its first messages went round; kill it by PID at the end."""
    queue = f"lbtoolkit-witness-{uuid.uuid4().hex}"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).with_name("shared_broker_witness.py")),
        BROKER,
        queue,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        witness = SharedBrokerWitness(process)
        await witness.wait_for_more(WitnessReport(0, 0, []))
        yield witness
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def assert_undisturbed(report: WitnessReport) -> None:
    """The shared broker served the witness without a fault, and every message came back."""
    assert report.errors == []
    assert report.published > 0
    assert report.consumed == report.published


Waiter = Callable[[], Awaitable[None]]

PluginFactory = Callable[..., RabbitMQPlugin]
