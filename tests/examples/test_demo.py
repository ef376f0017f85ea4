"""The demo service: its generated code is fresh, and it answers over gRPC and HTTP."""

from __future__ import annotations

import uuid
from pathlib import Path

import grpc
import httpx
import pytest

from greeter_demo.call import call
from greeter_demo.gen.greeter_toolkit import CachePlugin
from greeter_demo.service import DEMO_DEFAULTS, build
from lbtoolkit.codegen import generate_package
from lbtoolkit.plugins.redis._config import Address
from lbtoolkit.testing import open_service
from tests.codegen.support import without_generator_stamps
from tests.examples.examples_support import DEMO_ON_FREE_PORTS, redis_target

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"


def test_checked_in_generated_code_is_fresh(tmp_path: Path) -> None:
    generate_package(
        [DEMO / "protos" / "greeter.proto"], include=[DEMO / "protos"], out=tmp_path / "gen"
    )
    checked_in = DEMO / "greeter_demo" / "gen"
    fresh = {
        p.relative_to(tmp_path / "gen"): p.read_text() for p in (tmp_path / "gen").rglob("*.py*")
    }
    stale = [
        str(name)
        for name, text in fresh.items()
        if without_generator_stamps((checked_in / name).read_text())
        != without_generator_stamps(text)
    ]
    # Regenerate with: lbtoolkit generate -I examples/demo/protos
    #   -o examples/demo/greeter_demo/gen examples/demo/protos/greeter.proto
    assert stale == []


@pytest.mark.parametrize(
    ("given", "address"),
    [
        ({"DEMO_CACHE_HOST": "cache.internal"}, Address("cache.internal", 6379)),
        ({"DEMO_CACHE_PORT": "6380"}, Address("127.0.0.1", 6380)),
        ({}, Address("127.0.0.1", 6379)),
    ],
)
def test_the_cache_is_pointed_elsewhere_by_host_and_port_over_the_demo_defaults(
    given: dict[str, str], address: Address
) -> None:
    # What ``python -m greeter_demo`` builds: the process's variables over DEMO_DEFAULTS.
    app = build(environ={**DEMO_DEFAULTS, **given}, argv=[])
    assert app.runtime.config.issues == []
    assert redis_target(app, "cache").addresses == (address,)


@pytest.mark.integration
async def test_demo_answers_alike_over_grpc_and_http() -> None:
    environ = {
        **DEMO_ON_FREE_PORTS,
        "DEMO_CACHE_ADDR": "127.0.0.1:6379",
    }
    name = f"tester-{uuid.uuid4().hex}"
    async with open_service(build(environ=environ, argv=[])) as app:
        base = f"http://127.0.0.1:{app.server.http.port}"
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            first = (await client.get(f"/v1/hello/{name}")).json()
        target = f"127.0.0.1:{app.server.grpc.port}"
        second = await call(target, name)
        with pytest.raises(grpc.aio.AioRpcError) as empty:
            await call(target, "")
        cache = await app.runtime.injector.get(CachePlugin)  # type: ignore[type-abstract]
        await cache.client().delete(f"demo:visits:{name}")
    # The greeting word is shared state in Redis; the visits are this test's own.
    assert first["message"].endswith(f", {name}!")
    assert first["visits"] == "1"  # int64 is a string in protobuf's JSON mapping
    assert second.message == first["message"]
    assert second.visits == 2
    assert empty.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert empty.value.details() == "name must not be empty"
