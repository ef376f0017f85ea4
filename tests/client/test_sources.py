"""Resolver sources that know nothing useful: the call fails UNAVAILABLE, naming why."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
import pytest

from lbtoolkit.client import ChannelPool, ClientCallError
from lbtoolkit.client._resolvers import ResolveError
from lbtoolkit.config import ConfigController
from tests.client.support import WHO, Text, declare_replica_service

if TYPE_CHECKING:
    from collections.abc import Callable


class Source:
    """A resolver source answering from a fixed reply (or raising it)."""

    def __init__(self, reply: list[str] | ResolveError | None) -> None:
        self.name = "test registry"
        self._reply = reply

    def addresses(self, service: str) -> list[str] | None:
        del service
        if isinstance(self._reply, ResolveError):
            raise self._reply
        return self._reply

    def subscribe(self, service: str, on_change: Callable[[list[str]], None]) -> None:
        del service, on_change


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ([], "service 'users' has no live address in test registry"),
        (ResolveError("the registry is unreachable"), "the registry is unreachable"),
        (["not an address"], "service 'users' from test registry:"),
        (
            None,
            (
                "no resolver knows service 'users' (asked: test registry; "
                "or set LB_CLIENT_USERS_TARGET)"
            ),
        ),
    ],
)
async def test_a_call_fails_unavailable_naming_what_the_source_said(
    reply: list[str] | ResolveError | None, message: str
) -> None:
    declare_replica_service()
    environ: dict[str, str] = {}
    pool = ChannelPool.configured(
        ConfigController("LB", environ=environ), environ=environ, tools=None
    )
    pool.add_source(Source(reply))
    try:
        with pytest.raises(ClientCallError) as caught:
            await pool.channel("users").unary_unary(WHO, Text(value="x"), Text)
    finally:
        await pool.close()
    assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
    assert message in (caught.value.details() or "")
