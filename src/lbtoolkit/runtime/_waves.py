"""Start order: which plugins and packages need which, grouped into waves.

A component needs another when it says so (``depends_on``: a class
attribute, or the managers' ``depends_on=`` argument) or when its constructor
takes it, directly or through other providers of the dependency graph. Wave 1
holds the components that need nothing; wave n those whose needs all lie in
earlier waves. The hooks of one wave run concurrently, waves in order, so
independent components overlap and dependent ones keep their order.

Plugins and packages get waves of their own: packages start after every
plugin anyway, so a package needing a plugin adds nothing, and a plugin
needing a package can never be honoured (reported as a cycle).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lbtoolkit._di import DependencyError
from lbtoolkit._names import qualified_name
from lbtoolkit.runtime._errors import DependencyCycleError
from lbtoolkit.runtime._hooks import Component

__all__ = ["Node", "declared_dependencies", "plan_waves"]


@dataclass(frozen=True, slots=True, eq=False)
class Node:
    """A plugin or package in the start order: its component, DI key and declared needs."""

    component: Component
    provides: Any
    depends_on: tuple[Any, ...]
    kind: str


@dataclass(frozen=True, slots=True)
class _Need:
    node: Node
    reason: str


def declared_dependencies(instance: object, given: Sequence[Any]) -> tuple[Any, ...]:
    """``given`` plus the ``depends_on`` class attribute of ``instance``, if it has one."""
    attribute = getattr(type(instance), "depends_on", ())
    if isinstance(attribute, type):
        attribute = (attribute,)
    if not isinstance(attribute, tuple | list):
        msg = (
            f"{qualified_name(type(instance))}.depends_on must be a tuple of plugin or "
            f"package types, not {type(attribute).__name__}"
        )
        raise TypeError(msg)
    return (*given, *attribute)


def plan_waves(
    plugins: Sequence[Node], packages: Sequence[Node], graph: Mapping[Any, Sequence[Any]]
) -> tuple[list[list[Component]], list[list[Component]]]:
    """The waves of the plugins and of the packages; raise before anything starts.

    Raises ``DependencyCycleError`` with the path of a cycle, or
    ``DependencyError`` when ``depends_on`` names something that is neither a
    plugin nor a package.
    """
    nodes = [*plugins, *packages]
    needs = {id(node): _needs(node, nodes, graph) for node in nodes}
    for plugin in plugins:
        for need in needs[id(plugin)]:
            if need.node.kind == "package":
                owners = (plugin.component.owner, need.node.component.owner)
                raise DependencyCycleError(
                    (*owners, owners[0]), (need.reason, "packages start after every plugin")
                )
    return _layers(plugins, needs), _layers(packages, needs)


def _needs(node: Node, nodes: Sequence[Node], graph: Mapping[Any, Sequence[Any]]) -> list[_Need]:
    found: dict[int, _Need] = {}
    for wanted in node.depends_on:
        matches = [other for other in nodes if other is not node and _is(other, wanted)]
        if not matches:
            named = qualified_name(wanted) if isinstance(wanted, type) else repr(wanted)
            raise DependencyError(
                None,
                None,
                f"{node.component.owner} depends_on {named}, which is no plugin or package "
                "of this service. Hint: register it as one, or drop it from depends_on",
            )
        for other in matches:
            found.setdefault(
                id(other), _Need(other, f"depends_on {qualified_name(wanted, short=True)}")
            )
    if node.provides is not None:
        by_key = {id(other.provides): other for other in nodes if other.provides is not None}
        for other, reason in _through_graph(node.provides, graph, by_key):
            if other is not node:
                found.setdefault(id(other), _Need(other, reason))
    return list(found.values())


def _through_graph(
    start: Any, graph: Mapping[Any, Sequence[Any]], by_key: Mapping[int, Node]
) -> list[tuple[Node, str]]:
    """The components the provider of ``start`` takes, directly or through other providers."""
    found: list[tuple[Node, str]] = []
    seen: set[int] = {id(start)}
    pending: list[tuple[Any, tuple[Any, ...]]] = [(start, ())]
    while pending:
        key, via = pending.pop(0)
        for dependency in graph.get(key, ()):
            if id(dependency) in seen:
                continue
            seen.add(id(dependency))
            other = by_key.get(id(dependency))
            if other is not None:
                route = "".join(f" through {qualified_name(step, short=True)}" for step in via)
                found.append(
                    (other, f"constructor takes {qualified_name(dependency, short=True)}{route}")
                )
            else:
                pending.append((dependency, (*via, dependency)))
    return found


def _is(node: Node, wanted: Any) -> bool:
    if node.provides is wanted:
        return True
    if not isinstance(wanted, type):
        return False
    try:
        return isinstance(node.component.instance, wanted)
    except TypeError:  # a Protocol that is not runtime-checkable: only its key matches
        return False


def _layers(nodes: Sequence[Node], needs: Mapping[int, list[_Need]]) -> list[list[Component]]:
    """Group ``nodes`` into waves; within a wave they keep their declaration order."""
    members = {id(node) for node in nodes}
    wave: dict[int, int] = {}
    visiting: list[Node] = []

    def depth(node: Node) -> int:
        if id(node) in wave:
            return wave[id(node)]
        if any(v is node for v in visiting):
            at = next(i for i, v in enumerate(visiting) if v is node)
            raise _cycle(visiting[at:], node, needs)
        visiting.append(node)
        below = [depth(n.node) for n in needs[id(node)] if id(n.node) in members]
        visiting.pop()
        wave[id(node)] = 1 + max(below, default=0)
        return wave[id(node)]

    for node in nodes:
        depth(node)
    layers: list[list[Component]] = [[] for _ in range(max(wave.values(), default=0))]
    for node in nodes:
        layers[wave[id(node)] - 1].append(node.component)
    return layers


def _cycle(chain: Sequence[Node], back_to: Node, needs: Mapping[int, list[_Need]]) -> Exception:
    path = [*chain, back_to]
    reasons = [
        next(n.reason for n in needs[id(before)] if n.node is after)
        for before, after in itertools.pairwise(path)
    ]
    return DependencyCycleError([node.component.owner for node in path], reasons)
