"""``ChannelPool``: one channel per service, targets from the environment."""

from __future__ import annotations

from typing import Any

import pytest

from lbtoolkit.client import DEFAULT_GRPC_PORT, ChannelPool, GrpcChannel, target_variable


class FakeChannel:
    def __init__(self, target: str) -> None:
        self.target = target
        self.closed = False

    async def close(self) -> None:
        self.closed = True

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)


@pytest.mark.parametrize(
    ("prefix", "service", "variable"),
    [
        ("MYSERVICE", "users", "MYSERVICE_CLIENT_USERS_TARGET"),
        ("myservice", "user-service", "MYSERVICE_CLIENT_USER_SERVICE_TARGET"),
        ("", "helloworld", "CLIENT_HELLOWORLD_TARGET"),
        ("LB", "billing.v1", "LB_CLIENT_BILLING_V1_TARGET"),
    ],
)
def test_target_variable(prefix: str, service: str, variable: str) -> None:
    assert target_variable(prefix, service) == variable


def test_target_from_the_environment_else_the_service_name() -> None:
    pool = ChannelPool(
        env_prefix="MYSERVICE", environ={"MYSERVICE_CLIENT_USERS_TARGET": "10.0.0.5:7000"}
    )
    assert pool.target("users") == "10.0.0.5:7000"
    assert pool.target("billing") == f"billing:{DEFAULT_GRPC_PORT}"


def test_default_channel_is_grpc() -> None:
    channel = ChannelPool(environ={}).channel("users")
    assert isinstance(channel, GrpcChannel)
    assert repr(channel) == "GrpcChannel('users:9000')"


async def test_channels_are_shared_and_closed_together() -> None:
    made: list[FakeChannel] = []

    def factory(target: str) -> FakeChannel:
        made.append(FakeChannel(target))
        return made[-1]

    pool = ChannelPool(environ={}, factory=factory)
    assert pool.channel("users") is pool.channel("users")
    pool.channel("billing")
    assert [c.target for c in made] == ["users:9000", "billing:9000"]
    await pool.close()
    assert all(c.closed for c in made)
    assert pool.channel("users") is not made[0]
