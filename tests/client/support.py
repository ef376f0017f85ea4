"""Replicas of a small service for the client tests, and a front service that calls them.

The ``lbclient.test.Replica`` service is declared in the default descriptor
pool from a ``FileDescriptorProto`` built here, so that its idempotency
options are read as a generated ``_pb2`` module's would be: ``Who`` has
``idempotency_level = NO_SIDE_EFFECTS``, ``Write`` has none.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
import grpc.aio
from google.protobuf import descriptor_pb2, descriptor_pool, wrappers_pb2

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

Text = wrappers_pb2.StringValue
SERVICE = "lbclient.test.Replica"
WHO = f"/{SERVICE}/Who"
WRITE = f"/{SERVICE}/Write"
REPLICA_SCRIPT = Path(__file__).with_name("replica_process.py")


def declare_replica_service() -> None:
    """Put ``lbclient.test.Replica`` into the default descriptor pool (once)."""
    pool = descriptor_pool.Default()
    try:
        pool.FindServiceByName(SERVICE)
    except KeyError:
        pass
    else:
        return
    file = descriptor_pb2.FileDescriptorProto(
        name="lbclient_test_replica.proto",
        package="lbclient.test",
        syntax="proto3",
        dependency=["google/protobuf/wrappers.proto"],
    )
    service = file.service.add(name="Replica")
    who = service.method.add(
        name="Who",
        input_type=".google.protobuf.StringValue",
        output_type=".google.protobuf.StringValue",
    )
    who.options.idempotency_level = descriptor_pb2.MethodOptions.NO_SIDE_EFFECTS
    service.method.add(
        name="Write",
        input_type=".google.protobuf.StringValue",
        output_type=".google.protobuf.StringValue",
    )
    pool.AddSerializedFile(file.SerializeToString())


@dataclass
class Replica:
    """One in-process replica: what it was called with."""

    name: str
    server: grpc.aio.Server
    port: int
    calls: Counter[str] = field(default_factory=Counter)
    metadata: list[dict[str, str]] = field(default_factory=list)
    remaining: list[float | None] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def total(self) -> int:
        return sum(self.calls.values())


def replica_handlers(replica: Replica) -> grpc.GenericRpcHandler:
    async def who(request: Text, context: grpc.aio.ServicerContext[Any, Any]) -> Text:
        replica.calls["Who"] += 1
        replica.metadata.append(
            {k: v for k, v in context.invocation_metadata() or () if isinstance(v, str)}
        )
        replica.remaining.append(context.time_remaining())
        return Text(value=replica.name)

    async def write(request: Text, context: grpc.aio.ServicerContext[Any, Any]) -> Text:
        replica.calls["Write"] += 1
        return Text(value=replica.name)

    codec: dict[str, Any] = {
        "request_deserializer": Text.FromString,
        "response_serializer": Text.SerializeToString,
    }
    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Who": grpc.unary_unary_rpc_method_handler(who, **codec),
            "Write": grpc.unary_unary_rpc_method_handler(write, **codec),
        },
    )


async def start_replica(name: str, credentials: grpc.ServerCredentials | None = None) -> Replica:
    server = grpc.aio.server()
    if credentials is None:
        port = server.add_insecure_port("127.0.0.1:0")
    else:
        port = server.add_secure_port("127.0.0.1:0", credentials)
    replica = Replica(name, server, port)
    server.add_generic_rpc_handlers((replica_handlers(replica),))
    await server.start()
    return replica


async def start_replicas(count: int) -> list[Replica]:
    return [await start_replica(f"r{index}") for index in range(count)]


async def stop_replicas(replicas: list[Replica]) -> None:
    await asyncio.gather(*(r.server.stop(None) for r in replicas))


@dataclass
class ReplicaProcess:
    """A replica in its own process, to be killed with SIGKILL."""

    process: subprocess.Popen[str]
    port: int

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def spawn_replica(name: str) -> ReplicaProcess:
    process = subprocess.Popen(
        [sys.executable, str(REPLICA_SCRIPT), name],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.strip().isdigit():
        process.kill()
        raise RuntimeError(f"replica process did not report its port: {line!r}")
    return ReplicaProcess(process, int(line))


async def texts(*values: str) -> AsyncIterator[Text]:
    for value in values:
        yield Text(value=value)
