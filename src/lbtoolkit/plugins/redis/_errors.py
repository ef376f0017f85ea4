"""Errors of the redis plugin: each names the plugin prefix and what to do."""

from __future__ import annotations

from lbtoolkit import LbToolkitError

__all__ = ["RedisConnectError", "RedisStateError"]


class RedisConnectError(LbToolkitError, ConnectionError):
    """The server could not be reached (or refused us) when the plugin started.

    ``cause`` is the driver's message with the password, if any, masked;
    ``variable`` names the address variables, or, when ``credentials`` is
    true (the server refused the login), the username and password ones.
    """

    def __init__(
        self, prefix: str, address: str, cause: str, *, variable: str, credentials: bool = False
    ) -> None:
        super().__init__(prefix, address, cause)
        self.prefix = prefix
        self.address = address
        self.cause = cause
        self.variable = variable
        self.credentials = credentials

    def __str__(self) -> str:
        hint = f"check that Redis is running there, or point {self.variable} at it"
        if self.credentials:
            hint = f"check {self.variable} against the server's users (ACL LIST)"
        return (
            f'plugin "{self.prefix}" (redis): cannot connect to {self.address}: {self.cause}\n'
            f"Hint: {hint}"
        )


class RedisStateError(LbToolkitError, RuntimeError):
    """A method was called when the plugin cannot answer it (not started, wrong mode)."""

    def __init__(self, prefix: str, method: str, problem: str, hint: str = "") -> None:
        super().__init__(prefix, method, problem)
        self.prefix = prefix
        self.method = method
        self.problem = problem
        self.hint = hint

    def __str__(self) -> str:
        text = f'plugin "{self.prefix}" (redis): {self.method}() {self.problem}'
        return f"{text}\nHint: {self.hint}" if self.hint else text
