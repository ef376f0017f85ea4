"""TLS from certificate and key files; client certificates when a CA is given."""

from __future__ import annotations

import subprocess
from pathlib import Path

import grpc
import pytest

import lbtoolkit
from lbtoolkit.config import ConfigError
from lbtoolkit.testing import open_service
from tests.server.grpc.support import GreeterKit


def self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, made by the openssl CLI."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    directory = tmp_path_factory.mktemp("tls")
    return {name: self_signed(directory, name) for name in ("server", "client")}


def tls_env(certificates: dict[str, tuple[Path, Path]]) -> dict[str, str]:
    cert, key = certificates["server"]
    return {
        "LB_EXAMPLE_GRPC_SERVER_TLS_CERT_FILE": str(cert),
        "LB_EXAMPLE_GRPC_SERVER_TLS_KEY_FILE": str(key),
    }


async def hello(greeter: GreeterKit, ch: grpc.aio.Channel) -> str:
    reply = await greeter.stub(ch).SayHello(greeter.pb2.HelloRequest(name="tls"), timeout=5)
    return str(reply.message)


async def test_tls_server_answers_a_client_that_trusts_its_certificate(
    greeter: GreeterKit, certificates: dict[str, tuple[Path, Path]]
) -> None:
    app = greeter.new_app(tls_env(certificates))
    credentials = grpc.ssl_channel_credentials(certificates["server"][0].read_bytes())
    async with open_service(app):
        target = f"127.0.0.1:{app.server.grpc.port}"
        async with grpc.aio.secure_channel(target, credentials) as ch:
            assert await hello(greeter, ch) == "Hello, tls!"
        async with grpc.aio.insecure_channel(target) as ch:
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await hello(greeter, ch)
    assert raised.value.code() is grpc.StatusCode.UNAVAILABLE


async def test_client_ca_requires_a_client_certificate(
    greeter: GreeterKit, certificates: dict[str, tuple[Path, Path]]
) -> None:
    client_cert, client_key = certificates["client"]
    environ = {
        **tls_env(certificates),
        "LB_EXAMPLE_GRPC_SERVER_TLS_CLIENT_CA_FILE": str(client_cert),
    }
    app = greeter.new_app(environ)
    root = certificates["server"][0].read_bytes()
    async with open_service(app):
        target = f"127.0.0.1:{app.server.grpc.port}"
        with_cert = grpc.ssl_channel_credentials(
            root, client_key.read_bytes(), client_cert.read_bytes()
        )
        async with grpc.aio.secure_channel(target, with_cert) as ch:
            assert await hello(greeter, ch) == "Hello, tls!"
        async with grpc.aio.secure_channel(target, grpc.ssl_channel_credentials(root)) as ch:
            with pytest.raises(grpc.aio.AioRpcError):
                await hello(greeter, ch)


async def test_a_certificate_without_key_is_a_configuration_error(
    greeter: GreeterKit, certificates: dict[str, tuple[Path, Path]]
) -> None:
    app = greeter.new_app({"LB_EXAMPLE_GRPC_SERVER_TLS_CERT_FILE": str(certificates["server"][0])})
    with pytest.raises(ConfigError) as raised:
        await app.start()
    assert str(raised.value) == (
        "invalid configuration: 1 problem\n"
        "  LB_EXAMPLE_GRPC_SERVER_TLS_KEY_FILE: "
        "required when LB_EXAMPLE_GRPC_SERVER_TLS_CERT_FILE is set"
    )


async def test_an_unreadable_certificate_names_its_variable(
    greeter: GreeterKit, tmp_path: Path
) -> None:
    app = greeter.new_app(
        {
            "LB_EXAMPLE_GRPC_SERVER_TLS_CERT_FILE": str(tmp_path / "missing.crt"),
            "LB_EXAMPLE_GRPC_SERVER_TLS_KEY_FILE": str(tmp_path / "missing.key"),
        }
    )
    with pytest.raises(lbtoolkit.StartError) as raised:
        await app.start()
    assert str(raised.value.__cause__) == (
        "invalid configuration: 1 problem\n"
        f"  LB_EXAMPLE_GRPC_SERVER_TLS_CERT_FILE: cannot read {tmp_path / 'missing.crt'}: "
        "No such file or directory"
    )
