"""The client's settings: ``{SERVICE_PREFIX}_GRPC_CLIENT_*`` and ``{SERVICE_PREFIX}_RESOLVER_*``."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path
from typing import Annotated

import grpc
from pydantic import AfterValidator, BaseModel, Field

from lbtoolkit.config import MessageSize, PositiveDuration, env

__all__ = ["GrpcClientConfig", "parse_endpoint", "split_endpoints"]

_16_MIB = 16 * 1024 * 1024
# gRPC's own ceiling: a retry policy with more attempts is cut down to 5.
MAX_RETRY_ATTEMPTS = 5
# gRPC accepts up to 1000 tokens in a retry throttling policy.
MAX_RETRY_TOKENS = 1000
_DNS_SCHEME = "dns:///"


def _check_codes(codes: list[str]) -> list[str]:
    known = {code.name for code in grpc.StatusCode if code is not grpc.StatusCode.OK}
    checked = []
    for code in codes:
        name = code.strip().upper()
        if name not in known:
            message = f"{code!r} is not a gRPC status code other than OK (e.g. UNAVAILABLE)"
            raise ValueError(message)
        checked.append(name)
    return checked


def _check_headers(names: list[str]) -> list[str]:
    checked = []
    for name in names:
        lowered = name.strip().lower()
        if not lowered or lowered.startswith(":") or lowered.endswith("-bin"):
            message = f"{name!r} is not a text metadata key (binary '-bin' keys are not forwarded)"
            raise ValueError(message)
        checked.append(lowered)
    return checked


def parse_endpoint(address: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` as ``(host, port)``; ``ValueError`` says what is wrong."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        message = f"{address!r} is not host:port"
        raise ValueError(message)
    port = int(port_text)
    if not 1 <= port <= 65535:  # noqa: PLR2004 - the TCP port range
        message = f"{address!r}: port {port} is not in 1-65535"
        raise ValueError(message)
    if host.startswith("["):
        if not host.endswith("]"):
            message = f"{address!r}: unbalanced brackets around an IPv6 address"
            raise ValueError(message)
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            message = f"{address!r}: {host[1:-1]!r} is not an IPv6 address"
            raise ValueError(message) from None
        return host[1:-1], port
    if ":" in host:
        message = f"{address!r}: write an IPv6 address in brackets ([::1]:9000)"
        raise ValueError(message)
    return host, port


def split_endpoints(entries: list[str]) -> dict[str, list[str]]:
    """``svc=host:port`` entries grouped by service, in order; ``ValueError`` names a bad entry."""
    table: dict[str, list[str]] = {}
    for entry in entries:
        service, sep, address = entry.partition("=")
        service, address = service.strip(), address.strip()
        if not sep or not service or not address:
            message = f"entry {entry!r} is not service=host:port"
            raise ValueError(message)
        try:
            parse_endpoint(address.removeprefix(_DNS_SCHEME))
        except ValueError as error:
            message = f"entry {entry!r}: {error}"
            raise ValueError(message) from None
        table.setdefault(service, []).append(address)
    for service, addresses in table.items():
        if len(addresses) > 1 and any(a.startswith(_DNS_SCHEME) for a in addresses):
            message = f"service {service!r}: a dns:/// target must be its only endpoint"
            raise ValueError(message)
    return table


def _check_endpoints(entries: list[str]) -> list[str]:
    split_endpoints(entries)
    return entries


def _check_readable(path: Path | None) -> Path | None:
    if path is None:
        return None
    try:
        with path.open("rb") as file:
            file.read(1)
    except OSError as error:
        message = f"cannot read {path}: {error.strerror or error}"
        raise ValueError(message) from None
    return path


StatusCodes = Annotated[list[str], AfterValidator(_check_codes)]
HeaderNames = Annotated[list[str], AfterValidator(_check_headers)]
Endpoints = Annotated[list[str], AfterValidator(_check_endpoints)]
ReadableFile = Annotated[Path | None, AfterValidator(_check_readable)]


class GrpcClientConfig(BaseModel):
    """How this service calls others: deadlines, retries, sizes, TLS, propagation, resolvers."""

    timeout: PositiveDuration = env(
        "GRPC_CLIENT_TIMEOUT",
        default=dt.timedelta(seconds=15),
        comment="Deadline of a call to another service, shortened to the caller's remaining "
        "deadline inside a request",
    )
    retry_max_attempts: Annotated[int, Field(ge=1, le=MAX_RETRY_ATTEMPTS)] = env(
        "GRPC_CLIENT_RETRY_MAX_ATTEMPTS",
        default=3,
        comment="Attempts per call, the first included (1: no retries), through gRPC's retry "
        "policy",
    )
    retry_initial_backoff: PositiveDuration = env(
        "GRPC_CLIENT_RETRY_INITIAL_BACKOFF",
        default=dt.timedelta(milliseconds=100),
        comment="Longest pause before the first retry (each pause is random up to its bound)",
    )
    retry_max_backoff: PositiveDuration = env(
        "GRPC_CLIENT_RETRY_MAX_BACKOFF",
        default=dt.timedelta(seconds=2),
        comment="Upper bound of the pause between retries",
    )
    retry_backoff_multiplier: Annotated[float, Field(ge=1, le=10)] = env(
        "GRPC_CLIENT_RETRY_BACKOFF_MULTIPLIER",
        default=2.0,
        comment="Growth of the pause bound from one retry to the next",
    )
    retry_codes: StatusCodes = env(
        "GRPC_CLIENT_RETRY_CODES",
        default=["UNAVAILABLE"],
        comment="Status codes retried for every method (empty: only idempotent methods retry)",
    )
    retry_idempotent_codes: StatusCodes = env(
        "GRPC_CLIENT_RETRY_IDEMPOTENT_CODES",
        default=["UNAVAILABLE", "ABORTED", "RESOURCE_EXHAUSTED"],
        comment="Status codes retried for methods marked idempotency_level = IDEMPOTENT or "
        "NO_SIDE_EFFECTS",
    )
    retry_budget_tokens: Annotated[int, Field(ge=1, le=MAX_RETRY_TOKENS)] = env(
        "GRPC_CLIENT_RETRY_BUDGET_TOKENS",
        default=100,
        comment="Retry budget per service: each failure spends a token, retries stop below half",
    )
    retry_budget_token_ratio: Annotated[float, Field(gt=0, le=1)] = env(
        "GRPC_CLIENT_RETRY_BUDGET_TOKEN_RATIO",
        default=0.1,
        comment="Tokens each successful call gives back to the retry budget",
    )
    max_receive_message_size: MessageSize = env(
        "GRPC_CLIENT_MAX_RECEIVE_MESSAGE_SIZE",
        default=_16_MIB,
        comment="Largest response message accepted, in bytes (default 16 MiB)",
    )
    max_send_message_size: MessageSize = env(
        "GRPC_CLIENT_MAX_SEND_MESSAGE_SIZE",
        default=_16_MIB,
        comment="Largest request message sent, in bytes (default 16 MiB)",
    )
    propagate_headers: HeaderNames = env(
        "GRPC_CLIENT_PROPAGATE_HEADERS",
        default=[],
        comment="Incoming metadata keys forwarded on calls made inside a request "
        "(x-request-id always is)",
    )
    tls_enabled: bool = env(
        "GRPC_CLIENT_TLS_ENABLED",
        default=False,
        comment="Call other services over TLS (implied by the CA, certificate and key files)",
    )
    tls_ca_file: ReadableFile = env(
        "GRPC_CLIENT_TLS_CA_FILE",
        default=None,
        comment="PEM CA bundle the servers' certificates must chain to (default: system roots)",
    )
    tls_cert_file: ReadableFile = env(
        "GRPC_CLIENT_TLS_CERT_FILE",
        default=None,
        comment="PEM client certificate chain for mutual TLS (with the key file)",
    )
    tls_key_file: ReadableFile = env(
        "GRPC_CLIENT_TLS_KEY_FILE",
        default=None,
        comment="PEM private key of the client certificate",
    )
    tls_server_name: str = env(
        "GRPC_CLIENT_TLS_SERVER_NAME",
        default="",
        comment="Name the servers' certificates must carry (default: the host called)",
    )
    resolver_endpoints: Endpoints = env(
        "RESOLVER_ENDPOINTS",
        default=[],
        comment="Static addresses: service=host:port, comma separated, several per service "
        "(or service=dns:///host:port)",
    )
    resolver_file: ReadableFile = env(
        "RESOLVER_FILE",
        default=None,
        comment="JSON route table of the Go toolkit's file resolver",
        aliases=("RESOLVER_FILEPATH",),
    )

    @property
    def uses_tls(self) -> bool:
        return self.tls_enabled or any(
            f is not None for f in (self.tls_ca_file, self.tls_cert_file, self.tls_key_file)
        )
