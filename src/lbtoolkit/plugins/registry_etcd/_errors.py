"""Errors of the etcd registry plugin: each names the plugin, the endpoint and what to do."""

from __future__ import annotations

from lbtoolkit import LbToolkitError

__all__ = ["EtcdRegistrationError", "EtcdUnreachableError"]


class EtcdUnreachableError(LbToolkitError, ConnectionError):
    """No etcd endpoint answered (refused, timed out, or refused the login)."""

    def __init__(self, owner: str, endpoints: str, cause: str, hint: str) -> None:
        super().__init__(owner, endpoints, cause)
        self.owner = owner
        self.endpoints = endpoints
        self.cause = cause
        self.hint = hint

    def __str__(self) -> str:
        return (
            f"{self.owner}: cannot reach etcd at {self.endpoints}: {self.cause}. Hint: {self.hint}"
        )


class EtcdRegistrationError(LbToolkitError, RuntimeError):
    """A server of the service cannot be registered (no address others could dial)."""

    def __init__(self, owner: str, server: str, problem: str, hint: str) -> None:
        super().__init__(owner, server, problem)
        self.owner = owner
        self.server = server
        self.problem = problem
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.owner}: cannot register {self.server}: {self.problem}. Hint: {self.hint}"
