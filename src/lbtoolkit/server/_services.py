"""Which class implements which declared service, shared by every transport.

``set_service(ImplClass)`` provides the class through dependency injection
under the spec's generated ``RpcServer`` protocol (app scope), so the gRPC
and HTTP servers resolve the same instance and its constructor receives
plugins like any other component.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from lbtoolkit._names import qualified_name
from lbtoolkit.server._errors import ImplementationError, ServiceNotSetError

if TYPE_CHECKING:
    from lbtoolkit._di import Injector
    from lbtoolkit.spec import ServiceSpec

__all__ = ["ServiceRegistry", "check_implementation"]


class ServiceRegistry:
    """Declared specs and the dependency-injection key of each one's implementation."""

    def __init__(self, injector: Injector) -> None:
        self._injector = injector
        self._specs: dict[str, ServiceSpec] = {}
        self._keys: dict[str, Any] = {}
        self._served_by: dict[str, type] = {}

    def add(self, spec: ServiceSpec) -> None:
        self._specs.setdefault(spec.full_name, spec)

    def set_service(self, implementation: type, *, spec: ServiceSpec | None = None) -> None:
        """Answer ``spec`` (default: every declared spec the class implements) with it.

        Raises :class:`ImplementationError` when the class lacks a method of
        the spec (or of every declared spec), or when the spec already has one.
        """
        if spec is not None:
            self.add(spec)
            targets = [spec]
        else:
            targets = [
                s for s in self._specs.values() if not check_implementation(implementation, s)
            ]
            if not targets:
                self._raise_for_no_match(implementation)
        for target in targets:
            if target.full_name in self._served_by:
                problem = f"already served by {qualified_name(self._served_by[target.full_name])}"
                hint = "call set_service once per service"
                raise ImplementationError(
                    qualified_name(implementation), target.full_name, [problem], hint
                )
            problems = check_implementation(implementation, target)
            if problems:
                raise ImplementationError(
                    qualified_name(implementation), target.full_name, problems
                )
        keys = [t.rpc_server or implementation for t in targets]
        if len(set(keys)) == 1:
            self._injector.provide(implementation, provides=keys[0])
        else:
            # One instance under several protocols: the class, then aliases to it.
            self._injector.provide(implementation, provides=implementation)
            for key in dict.fromkeys(keys):
                if key is not implementation:
                    self._injector.alias(implementation, provides=key)
        for target, key in zip(targets, keys, strict=True):
            self._keys[target.full_name] = key
            self._served_by[target.full_name] = implementation

    def key(self, spec: ServiceSpec, server: str) -> Any:
        """The key to resolve ``spec``'s implementation with; ``server`` names the asker.

        Without ``set_service``, the spec's ``rpc_server`` protocol: generated
        ``register_<service>_rpc_server`` functions provide the class under it.
        """
        key = self._keys.get(spec.full_name, spec.rpc_server)
        if key is None:
            raise ServiceNotSetError(spec.full_name, server)
        return key

    def _raise_for_no_match(self, implementation: type) -> None:
        if not self._specs:
            problem = "no service is declared yet"
            hint = "call app.server.declare(spec) (generated constructors do) before set_service"
            raise ImplementationError(
                qualified_name(implementation), "any service", [problem], hint
            )
        first = next(iter(self._specs.values()))
        raise ImplementationError(
            qualified_name(implementation),
            first.full_name,
            check_implementation(implementation, first),
        )


def check_implementation(implementation: type, spec: ServiceSpec) -> list[str]:
    """What ``implementation`` lacks to serve ``spec`` (empty when nothing)."""
    problems: list[str] = []
    for method in spec.grpc_methods:
        fn = getattr(implementation, method.handler, None)
        if fn is None:
            problems.append(f"missing method {method.handler}() for rpc {method.name}")
        elif method.server_streaming:
            if not (inspect.isasyncgenfunction(fn) or inspect.iscoroutinefunction(fn)):
                problems.append(f"{method.handler}() must be an `async def` generator")
        elif not inspect.iscoroutinefunction(fn):
            problems.append(f"{method.handler}() must be `async def`")
    return problems
