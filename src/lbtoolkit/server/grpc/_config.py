"""The gRPC server's settings: ``{SERVICE_PREFIX}_{SERVER_NAME}_GRPC_SERVER_*``."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from lbtoolkit.config import ListenAddress, MessageSize, Port, env

__all__ = ["GrpcServerConfig"]

_16_MIB = 16 * 1024 * 1024


class GrpcServerConfig(BaseModel):
    """Names and defaults as in the Go toolkit, plus reflection and TLS."""

    listen: ListenAddress = env(
        "GRPC_SERVER_LISTEN",
        default="0.0.0.0",  # noqa: S104 - a service listens on every interface of its pod
        comment="Address the gRPC server listens on",
    )
    port: Port = env(
        "GRPC_SERVER_PORT", default=9000, comment="gRPC server port (0: any free port)"
    )
    max_receive_message_size: MessageSize = env(
        "GRPC_SERVER_MAX_RECEIVE_MESSAGE_SIZE",
        default=_16_MIB,
        comment="Largest request message accepted, in bytes (default 16 MiB)",
    )
    max_send_message_size: MessageSize = env(
        "GRPC_SERVER_MAX_SEND_MESSAGE_SIZE",
        default=_16_MIB,
        comment="Largest response message sent, in bytes (default 16 MiB)",
    )
    disabled: bool = env(
        "GRPC_SERVER_DISABLED", default=False, comment="Do not start the gRPC server"
    )
    reflection: bool = env(
        "GRPC_SERVER_REFLECTION_ENABLED",
        default=False,
        comment="Serve gRPC server reflection (grpcurl, grpcui)",
    )
    tls_cert_file: Path | None = env(
        "GRPC_SERVER_TLS_CERT_FILE",
        default=None,
        comment="PEM certificate chain; with the key file, the server speaks TLS",
    )
    tls_key_file: Path | None = env(
        "GRPC_SERVER_TLS_KEY_FILE", default=None, comment="PEM private key of the certificate"
    )
    tls_client_ca_file: Path | None = env(
        "GRPC_SERVER_TLS_CLIENT_CA_FILE",
        default=None,
        comment="PEM CA bundle; when set, clients must present a certificate it signed",
    )
