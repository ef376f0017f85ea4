"""The client's settings: TLS and mutual TLS, interceptors, service config, help and ranges."""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING, Any

import grpc
import grpc.aio
import pytest

import lbtoolkit
from lbtoolkit.client import (
    ChannelPool,
    ClientInterceptorError,
    GrpcChannel,
    GrpcClientConfig,
    RetrySettings,
)
from lbtoolkit.client._channel import service_config
from lbtoolkit.config import ConfigController, ConfigError
from tests.client.support import (
    SERVICE,
    WHO,
    Text,
    declare_replica_service,
    start_replica,
    texts,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, both signed by it."""
    d = tmp_path_factory.mktemp("pki")
    files = {name: d / name for name in ("ca.crt", "ca.key")}
    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test-ca",
        "-keyout", str(files["ca.key"]), "-out", str(files["ca.crt"]),
    )  # fmt: skip
    for name, extension in (
        ("server", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
        ("client", "extendedKeyUsage=clientAuth"),
    ):
        key, csr, crt = d / f"{name}.key", d / f"{name}.csr", d / f"{name}.crt"
        ext = d / f"{name}.ext"
        ext.write_text(extension + "\n")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
                "-keyout", str(key), "-out", str(csr))  # fmt: skip
        openssl("x509", "-req", "-in", str(csr), "-CA", str(files["ca.crt"]),
                "-CAkey", str(files["ca.key"]), "-CAcreateserial", "-days", "1",
                "-extfile", str(ext), "-out", str(crt))  # fmt: skip
        files[f"{name}.key"], files[f"{name}.crt"] = key, crt
    return files


def make_pool(env: dict[str, str]) -> ChannelPool:
    controller = ConfigController("LB", env)
    pool = ChannelPool.configured(controller, environ=env, tools=None)
    controller.raise_for_issues()
    return pool


async def who(pool: ChannelPool) -> str:
    reply = await pool.channel("replica").unary_unary(WHO, Text(value="x"), Text, rpc_timeout=5)
    return reply.value


async def test_tls_with_the_ca_file(pki: dict[str, Path]) -> None:
    declare_replica_service()
    credentials = grpc.ssl_server_credentials(
        [(pki["server.key"].read_bytes(), pki["server.crt"].read_bytes())]
    )
    replica = await start_replica("tls", credentials)
    try:
        pool = make_pool(
            {
                "LB_RESOLVER_ENDPOINTS": f"replica={replica.address}",
                "LB_GRPC_CLIENT_TLS_CA_FILE": str(pki["ca.crt"]),
            }
        )
        assert await who(pool) == "tls"
        await pool.close()
        plain = make_pool({"LB_RESOLVER_ENDPOINTS": f"replica={replica.address}"})
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await who(plain)
        await plain.close()
        assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
    finally:
        await replica.server.stop(None)


async def test_mutual_tls(pki: dict[str, Path]) -> None:
    declare_replica_service()
    credentials = grpc.ssl_server_credentials(
        [(pki["server.key"].read_bytes(), pki["server.crt"].read_bytes())],
        root_certificates=pki["ca.crt"].read_bytes(),
        require_client_auth=True,
    )
    replica = await start_replica("mtls", credentials)
    env = {
        "LB_RESOLVER_ENDPOINTS": f"replica={replica.address}",
        "LB_GRPC_CLIENT_TLS_CA_FILE": str(pki["ca.crt"]),
    }
    try:
        with_cert = make_pool(
            {
                **env,
                "LB_GRPC_CLIENT_TLS_CERT_FILE": str(pki["client.crt"]),
                "LB_GRPC_CLIENT_TLS_KEY_FILE": str(pki["client.key"]),
            }
        )
        assert await who(with_cert) == "mtls"
        await with_cert.close()
        without_cert = make_pool(env)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await who(without_cert)
        await without_cert.close()
        assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
        assert replica.total == 1
    finally:
        await replica.server.stop(None)


def test_tls_files_are_checked_at_start(pki: dict[str, Path], tmp_path: Path) -> None:
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello")
    env = {
        "LB_GRPC_CLIENT_TLS_CA_FILE": str(tmp_path / "missing.crt"),
        "LB_GRPC_CLIENT_TLS_CERT_FILE": str(not_pem),
    }
    with pytest.raises(ConfigError) as caught:
        make_pool(env)
    message = str(caught.value)
    assert f"LB_GRPC_CLIENT_TLS_CA_FILE: cannot read {tmp_path / 'missing.crt'}" in message
    assert "LB_GRPC_CLIENT_TLS_KEY_FILE: required when LB_GRPC_CLIENT_TLS_CERT_FILE is set" in (
        message
    )
    assert f"LB_GRPC_CLIENT_TLS_CERT_FILE: {not_pem} holds no PEM certificate" in message


class Recorder(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, name: str, seen: list[str]) -> None:
        self.name = name
        self.seen = seen

    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        method = client_call_details.method
        if isinstance(method, bytes):
            method = method.decode()
        self.seen.append(f"{self.name} {method}")
        return await continuation(client_call_details, request)


async def test_interceptors_run_by_name_in_order() -> None:
    declare_replica_service()
    replica = await start_replica("r")
    seen: list[str] = []
    pool = make_pool({"LB_RESOLVER_ENDPOINTS": f"replica={replica.address}"})
    pool.register_interceptor("outer", Recorder("outer", seen))
    pool.register_interceptor("inner", Recorder("inner", seen))
    with pytest.raises(ClientInterceptorError, match="'outer' is already registered"):
        pool.register_interceptor("outer", Recorder("again", seen))
    try:
        assert await who(pool) == "r"
        with pytest.raises(ClientInterceptorError, match="after the first call"):
            pool.register_interceptor("late", Recorder("late", seen))
    finally:
        await pool.close()
        await replica.server.stop(None)
    assert seen == [f"outer {WHO}", f"inner {WHO}"]
    assert pool.interceptors == ["outer", "inner"]


def test_service_config_asks_for_round_robin_and_retries_idempotent_methods_more() -> None:
    declare_replica_service()
    retry = RetrySettings(max_attempts=4, initial_backoff=0.05, max_backoff=1.0)
    config = json.loads(service_config([SERVICE], retry))
    assert config["loadBalancingConfig"] == [{"round_robin": {}}]
    every, idempotent = config["methodConfig"]
    assert every["name"] == [{"service": SERVICE}]
    assert every["retryPolicy"] == {
        "maxAttempts": 4,
        "initialBackoff": "0.050000000s",
        "maxBackoff": "1.000000000s",
        "backoffMultiplier": 2.0,
        "retryableStatusCodes": ["UNAVAILABLE"],
    }
    assert idempotent["name"] == [{"service": SERVICE, "method": "Who"}]
    assert idempotent["retryPolicy"]["retryableStatusCodes"] == [
        "UNAVAILABLE",
        "ABORTED",
        "RESOURCE_EXHAUSTED",
    ]
    assert config["retryThrottling"] == {"maxTokens": 100, "tokenRatio": 0.1}


def test_one_attempt_means_no_retry_policy() -> None:
    config = json.loads(service_config([SERVICE], RetrySettings(max_attempts=1)))
    assert config == {"loadBalancingConfig": [{"round_robin": {}}]}


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("LB_GRPC_CLIENT_RETRY_MAX_ATTEMPTS", "6", "5"),
        ("LB_GRPC_CLIENT_RETRY_MAX_ATTEMPTS", "0", "1"),
        ("LB_GRPC_CLIENT_TIMEOUT", "0s", "duration"),
        ("LB_GRPC_CLIENT_RETRY_BUDGET_TOKENS", "1001", "1000"),
        ("LB_GRPC_CLIENT_RETRY_BUDGET_TOKEN_RATIO", "0", "0"),
        ("LB_GRPC_CLIENT_RETRY_CODES", "UNAVAILABLE,OK", "'OK' is not a gRPC status code"),
        ("LB_GRPC_CLIENT_PROPAGATE_HEADERS", "x-trace-bin", "'x-trace-bin'"),
        ("LB_GRPC_CLIENT_MAX_RECEIVE_MESSAGE_SIZE", "0", "1"),
    ],
)
def test_values_out_of_range_are_config_errors(variable: str, value: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_pool({variable: value})
    message = str(caught.value)
    assert variable in message
    assert problem in message


def test_every_variable_is_shown_in_help() -> None:
    app = lbtoolkit.new_service("front", env_prefix="LB", environ={}, argv=[])
    table = app.config.print_table(all=True, no_comments=False)
    for field in GrpcClientConfig.model_fields.values():
        name = next(m.name for m in field.metadata if hasattr(m, "aliases"))
        assert f"LB_{name}" in table


def test_bare_channel_keeps_the_target_it_is_given() -> None:
    channel = GrpcChannel("127.0.0.1:1")
    assert repr(channel) == "GrpcChannel('127.0.0.1:1')"
    assert channel.settings.timeout is None


async def test_streaming_calls_through_a_resolved_channel_are_counted() -> None:
    from lbtoolkit.tools import Tools  # noqa: PLC0415 - only this test needs the tools
    from tests.client.test_channel import handlers  # noqa: PLC0415

    server = grpc.aio.server()
    port = server.add_insecure_port("127.0.0.1:0")
    server.add_generic_rpc_handlers((handlers(),))
    await server.start()
    env = {"LB_RESOLVER_ENDPOINTS": f"echo=127.0.0.1:{port}"}
    controller = ConfigController("LB", env)
    tools = Tools("front", "front")
    pool = ChannelPool.configured(controller, environ=env, tools=tools)
    channel = pool.channel("echo")
    try:
        repeated = [
            r.value async for r in channel.unary_stream("/test.Echo/Repeat", Text(value="a"), Text)
        ]
        joined = await channel.stream_unary("/test.Echo/Join", texts("a", "b"), Text)
        upper = [
            r.value async for r in channel.stream_stream("/test.Echo/Upper", texts("x", "y"), Text)
        ]
    finally:
        await pool.close()
        await server.stop(None)
    assert (repeated, joined.value, upper) == (["a0", "a1", "a2"], "a+b", ["X", "Y"])
    registry = tools.metrics.registry
    for method in ("/test.Echo/Repeat", "/test.Echo/Join", "/test.Echo/Upper"):
        labels = {"service": "echo", "method": method}
        assert registry.get_sample_value("front_grpc_client_started_total", labels) == 1
        handled = {**labels, "code": "OK"}
        assert registry.get_sample_value("front_grpc_client_handled_total", handled) == 1
