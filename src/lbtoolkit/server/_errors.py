"""Errors of the server registry and the transports."""

from __future__ import annotations

from lbtoolkit._exceptions import LbToolkitError
from lbtoolkit._names import qualified_name

__all__ = [
    "ImplementationError",
    "NoRequestScopeError",
    "ServerNotDeclaredError",
    "ServiceNotSetError",
]


class ServerNotDeclaredError(LbToolkitError, LookupError):
    """``app.server.grpc`` (or ``.http``) asked for, but no declared service uses it."""

    def __init__(self, kind: str, service: str) -> None:
        super().__init__(kind, service)
        self.kind = kind
        self.service = service

    def __str__(self) -> str:
        return (
            f"service {self.service!r} has no {self.kind} server: no declared service lists it\n"
            f"Hint: add {self.kind.upper()} to `option (toolkit.runtime).servers` in the .proto "
            "file and regenerate, or call app.server.declare(spec) with such a spec"
        )


class ImplementationError(LbToolkitError, TypeError):
    """A class given to ``set_service`` cannot answer a declared service."""

    def __init__(
        self, implementation: str, service: str, problems: list[str], hint: str = ""
    ) -> None:
        super().__init__(implementation, service, problems)
        self.implementation = implementation
        self.service = service
        self.problems = problems
        self.hint = hint or (
            "implement every method of the generated RpcServer protocol "
            "as `async def name(self, request, context)`"
        )

    def __str__(self) -> str:
        lines = [f"{self.implementation} cannot serve {self.service}:"]
        lines += [f"  {problem}" for problem in self.problems]
        lines.append(f"Hint: {self.hint}")
        return "\n".join(lines)


class ServiceNotSetError(LbToolkitError, LookupError):
    """A declared service has no implementation when its server is built."""

    def __init__(self, service: str, server: str) -> None:
        super().__init__(service, server)
        self.service = service
        self.server = server

    def __str__(self) -> str:
        return (
            f"{self.server} serves {self.service}, but no implementation was given\n"
            "Hint: call app.server.set_service(YourImplementation) "
            "(or the generated register_<service>_rpc_server(app, YourImplementation)) before start"
        )


class NoRequestScopeError(LbToolkitError, LookupError):
    """``context.get(...)`` on a request context that no transport built."""

    def __init__(self, dependency: object) -> None:
        super().__init__(dependency)
        self.dependency = dependency

    def __str__(self) -> str:
        name = qualified_name(self.dependency, short=True)
        return (
            f"cannot resolve {name}: this RequestContext has no request scope\n"
            "Hint: contexts built by hand (in tests) need scope=RequestScope(container)"
        )
