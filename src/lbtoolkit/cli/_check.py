"""``lbtoolkit check MODULE:APP``: what would stop a service from starting, without starting it.

Configuration, the dependency graph, the start order and the ports, all
checked and all reported at once; the start and stop order printed wave by
wave, as the runtime plans them. Nothing is connected to: plugins and packages
are built (constructors never connect) but none of their hooks runs, and a port
is only bound for a moment, to see whether it is free, and released.

``--timeline`` is the exception, asked for by name: once every check passed it
starts the service for real (its hooks connect to their servers, its servers
listen on the configured ports), prints the start-up timeline and stops it.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lbtoolkit.cli._app import app
from lbtoolkit.cli._common import fail, load_service, say

if TYPE_CHECKING:
    from lbtoolkit.runtime import Service

__all__ = ["check"]

_WILDCARDS = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 - compared, never bound here


@dataclass(frozen=True, slots=True)
class Binding:
    """A port a server would listen on."""

    server: str
    listen: str
    port: int
    variable: str
    shared_with: str = ""


@app.command()
def check(
    target: Annotated[
        str, typer.Argument(metavar="MODULE:APP", help="The service, or a factory building it.")
    ],
    timeline: Annotated[
        bool,
        typer.Option(
            "--timeline",
            help=(
                "Then START the service (it connects to its servers and listens on the "
                "configured ports), print its start-up timeline and stop it."
            ),
        ),
    ] = False,
) -> None:
    """Check config, dependencies and ports; print the start and stop order.

    Exit 1 listing every problem: bad or missing variables, types nothing
    provides, a dependency cycle, ports taken by another process or used twice.
    """
    service = load_service(target)
    # The start reuses the plugins and packages built to plan the waves.
    waves = plan(service, keep_built=timeline)
    problems = [*_config_problems(service), *waves.problems]
    start, stop = lifecycle_order(service, waves)
    say("start order:")
    for number, step in enumerate(start, 1):
        say(f"  {number}. {step}")
    say("stop order:")
    for number, step in enumerate(stop, 1):
        say(f"  {number}. {step}")
    bindings = ports(service)
    say("ports:" if bindings else "ports: none (the service declares no server)")
    for binding in bindings:
        shared = f" (shared with {binding.shared_with})" if binding.shared_with else ""
        say(f"  {binding.server}: {binding.listen}:{binding.port}{shared}  [{binding.variable}]")
    problems += _port_problems(bindings)
    if problems:
        for problem in problems:
            say(f"problem: {problem}")
        fail(f"{target}: {len(problems)} problem(s) would stop the start (listed above)")
    say(f"{target}: ready to start")
    if timeline:
        start_and_stop(service, target)


def start_and_stop(service: Service, target: str) -> None:
    """Start the service, print its start-up timeline, stop it; exit 1 if the start failed.

    A failed start has rolled back by the time ``start()`` raises, so the
    timeline printed then shows the failure and the stop hooks of the rollback.
    """
    from lbtoolkit.runtime import render_timeline  # noqa: PLC0415

    say(f"starting {target} (connecting to its servers, listening on the ports above)")

    async def run() -> str:
        """What went wrong, or "" when it started and stopped."""
        try:
            await service.start()
        except Exception as error:  # noqa: BLE001 - reported with the timeline
            return f"the start failed: {type(error).__name__}: {error}"
        try:
            await service.stop()
        except Exception as error:  # noqa: BLE001 - reported with the timeline
            return f"it started, but the stop failed: {type(error).__name__}: {error}"
        return ""

    failure = asyncio.run(run())
    say("start-up timeline:")
    say(render_timeline(service.runtime.timeline.records))
    if failure:
        fail(f"{target}: {failure}")
    say(f"{target}: started and stopped")


def _config_problems(service: Service) -> list[str]:
    from lbtoolkit.runtime._settings import unread_variables  # noqa: PLC0415

    runtime = service.runtime
    found = []
    for issue in runtime.config.issues:
        hint = f" ({issue.hint})" if issue.hint else ""
        found.append(f"config: {issue}{hint} [{issue.owner}]")
    if getattr(runtime.settings, "strict_env", False):
        found += [f"config: {variable}" for variable in unread_variables(runtime)]
    return found


@dataclass(frozen=True, slots=True)
class Plan:
    """The plugins and packages in start waves; declaration order, one wave, when unknown."""

    plugins: list[list[str]]
    packages: list[list[str]]
    problems: list[str]


def plan(service: Service, *, keep_built: bool = False) -> Plan:
    """Validate the graph and compute the start waves as the runtime will.

    Plugins and packages are built (their constructors never connect), no hook
    runs. A type no one provides, a failing constructor and a cycle are problems.
    With ``keep_built`` what was built stays open, for a start that follows.
    """
    from lbtoolkit.runtime import (  # noqa: PLC0415
        DependencyCycleError,
        DependencyError,
        PluginConstructionError,
    )

    runtime = service.runtime

    async def waves() -> tuple[list[list[str]], list[list[str]]]:
        try:
            planned = await service.plan_waves()
        except BaseException:
            await runtime.injector.close()
            raise
        if not keep_built:
            # Finalizers of what was built (nothing connected, so nothing to close).
            await runtime.injector.close()
        return planned

    try:
        plugins, packages = asyncio.run(waves())
    except (DependencyError, DependencyCycleError, PluginConstructionError) as error:
        declared = [runtime.plugin.owners()], [runtime.package.owners()]
        return Plan(*declared, [f"dependencies: {error}"])
    return Plan(plugins, packages, [])


def lifecycle_order(service: Service, waves: Plan) -> tuple[list[str], list[str]]:
    """The start and stop steps, each with who takes part, in the lifecycle's order.

    Plugins and packages appear wave by wave: the members of one wave run
    their hook concurrently, waves in order; stop runs the waves in reverse.
    """
    runtime = service.runtime
    invokes = [label for label, _ in getattr(runtime.lifecycle, "_invokes", ())]
    tools = [f"{s.name} server" for s in runtime.server.tool_servers]
    servers = [_server_label(s) for s in runtime.server.servers]
    user = runtime.lifecycle.user
    start_hooks = [str(h) for h in (*user.on_start_sync, *user.on_start)]
    stop_hooks = [str(h) for h in (*user.on_stop_sync, *user.on_stop)]
    backwards = [wave[::-1] for wave in waves.packages[::-1]]
    start = [
        *_waves("plugins pre_start", waves.plugins),
        *_waves("packages pre_start", waves.packages),
        _step("invokes", invokes),
        _step("probes and metrics servers", tools),
        _step("servers", servers),
        *_waves("plugins on_start", waves.plugins),
        *_waves("packages on_start", waves.packages),
        _step("user start hooks", start_hooks),
    ]
    stop = [
        _step("servers (drain)", servers[::-1]),
        _step("user stop hooks", stop_hooks),
        *_waves("packages on_stop", backwards, numbers=range(len(backwards), 0, -1)),
        *_waves(
            "plugins on_stop",
            [wave[::-1] for wave in waves.plugins[::-1]],
            numbers=range(len(waves.plugins), 0, -1),
        ),
        _step("probes and metrics servers", tools[::-1]),
        "clients, dependency container",
    ]
    return start, stop


def _waves(name: str, waves: list[list[str]], numbers: Iterable[int] | None = None) -> list[str]:
    """One step per wave (``plugins pre_start, wave 2: ...``); one step alone keeps no number."""
    members = [wave for wave in waves if wave]
    if len(members) <= 1:
        return [_step(name, members[0] if members else [])]
    labels = numbers if numbers is not None else range(1, len(members) + 1)
    return [_step(f"{name}, wave {n}", wave) for n, wave in zip(labels, members, strict=True)]


def _step(name: str, members: list[str]) -> str:
    return f"{name}: {', '.join(members) if members else '-'}"


def ports(service: Service) -> list[Binding]:
    """Where each enabled server would listen, from its configuration."""
    runtime = service.runtime
    found: list[Binding] = []
    http_ports: dict[int, str] = {}
    for server in runtime.server.servers:
        config = getattr(server, "config", None)
        if config is None or getattr(config, "disabled", False):
            continue
        label = _server_label(server)
        variable = getattr(server, "port_variable", "") or runtime.config.variable_name(
            "SERVER_PORT", server.name
        )
        found.append(Binding(label, str(config.listen), int(config.port), variable))
        if label.startswith("http"):
            http_ports[int(config.port)] = label
    for server in runtime.server.tool_servers:
        config = getattr(server, "config", None)
        if config is None:
            continue
        port = int(config.port)
        variable = str(getattr(server, "port_variable", ""))
        # The probes answer on the HTTP server's port when both are the same.
        shared = http_ports.get(port, "") if port else ""
        found.append(Binding(f"{server.name} server", str(config.listen), port, variable, shared))
    return found


def _server_label(server: Any) -> str:
    name = type(server).__name__
    kind = {"GrpcServer": "grpc", "HttpServer": "http"}.get(name, name)
    return f"{kind} server {server.name}"


def _port_problems(bindings: list[Binding]) -> list[str]:
    problems: list[str] = []
    own = [b for b in bindings if b.port and not b.shared_with]
    problems.extend(
        f"port {first.port}: both {first.server} ({first.variable}) and "
        f"{second.server} ({second.variable}) listen on it"
        for number, first in enumerate(own)
        for second in own[number + 1 :]
        if first.port == second.port and _overlap(first.listen, second.listen)
    )
    for binding in own:
        reason = _unavailable(binding.listen, binding.port)
        if reason:
            problems.append(
                f"port {binding.listen}:{binding.port} of {binding.server}: {reason}; "
                f"set {binding.variable} to another port (0: any free one)"
            )
    return problems


def _overlap(first: str, second: str) -> bool:
    return first == second or first in _WILDCARDS or second in _WILDCARDS


def _unavailable(listen: str, port: int) -> str:
    """Why ``listen:port`` cannot be bound now, or "" when it can (it is released at once)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            listen or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as error:
        return f"the address does not resolve ({error.strerror})"
    with socket.socket(family, kind, proto) as probe:
        # As servers bind: a port left in TIME_WAIT by a stopped service counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return "already in use by another process"
            if error.errno == errno.EACCES:
                return "permission denied (ports below 1024 need privileges)"
            if error.errno == errno.EADDRNOTAVAIL:
                return "the address is not one of this machine's"
            return error.strerror or str(error)
    return ""
