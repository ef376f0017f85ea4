"""The Go toolkit's route table file and the gRPC target built from addresses: bad input named."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from lbtoolkit.client._resolvers import FileResolver, ResolveError, read_route_table, target_of

if TYPE_CHECKING:
    from pathlib import Path


def route_table(path: Path, routes: object) -> Path:
    path.write_text(json.dumps({"routes": routes}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {}),
        ("{}", {}),
        (
            json.dumps({"routes": {"users": {"a": {"route": {"address": "127.0.0.1:1"}}}}}),
            {"users": ["127.0.0.1:1"]},
        ),
    ],
)
def test_a_route_table_is_read(tmp_path: Path, text: str, expected: object) -> None:
    path = tmp_path / "routes.json"
    path.write_text(text, encoding="utf-8")
    assert read_route_table(path) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not JSON"),
        (json.dumps({"routes": ["users"]}), "'routes' is not an object of services"),
        (json.dumps({"routes": {"users": ["x"]}}), "routes of 'users' are not an object"),
        (json.dumps({"routes": {"users": {"a": {}}}}), "route 'a' of 'users' has no address"),
        (
            json.dumps({"routes": {"users": {"a": {"route": {"address": "no-port"}}}}}),
            "route 'a' of 'users':",
        ),
    ],
)
def test_a_bad_route_table_is_refused_naming_the_file_and_the_entry(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "routes.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ResolveError) as caught:
        read_route_table(path)
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)


def test_a_missing_route_table_is_named(tmp_path: Path) -> None:
    with pytest.raises(ResolveError, match="cannot read the route table"):
        read_route_table(tmp_path / "missing.json")
    resolver = FileResolver("LB_RESOLVER_FILE", tmp_path / "missing.json")
    with pytest.raises(ResolveError, match=r"LB_RESOLVER_FILE .*cannot read the route table"):
        resolver.addresses("users")


def test_the_file_resolver_reads_the_table_again_once_it_changed(tmp_path: Path) -> None:
    path = route_table(
        tmp_path / "routes.json", {"users": {"a": {"route": {"address": "127.0.0.1:1"}}}}
    )
    resolver = FileResolver("LB_RESOLVER_FILE", path)
    assert resolver.addresses("users") == ["127.0.0.1:1"]
    assert resolver.addresses("orders") is None
    route_table(path, {"users": {"b": {"route": {"address": "127.0.0.1:22"}}}})
    assert resolver.addresses("users") == ["127.0.0.1:22"]


@pytest.mark.parametrize(
    ("addresses", "target"),
    [
        (["dns:///users:9000"], "dns:///users:9000"),
        (["127.0.0.1:1", "127.0.0.2:2", "127.0.0.1:1"], "ipv4:127.0.0.1:1,127.0.0.2:2"),
        (["[::1]:5"], "ipv6:[::1]:5"),
        (["127.0.0.1:1", "[::1]:5"], "ipv4:127.0.0.1:1"),
    ],
)
async def test_addresses_become_one_grpc_target(addresses: list[str], target: str) -> None:
    assert await target_of(addresses) == target
