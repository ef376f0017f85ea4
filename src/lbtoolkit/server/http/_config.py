"""The HTTP server's settings, read under ``{SERVICE_PREFIX}_{SERVER_NAME}_``."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel

from lbtoolkit.config import (
    ByteSize,
    ListenAddress,
    NonNegativeDuration,
    Port,
    PositiveDuration,
    env,
)

__all__ = ["HttpServerConfig"]

_MiB = 1024 * 1024


class HttpServerConfig(BaseModel):
    """``{P}_SERVER_LISTEN``, ``{P}_SERVER_PORT``, ``{P}_SERVER_CORS_ENABLED`` and the rest.

    ``{P}`` is the service prefix and the server's name: the server of service
    ``example`` with prefix ``LB`` reads ``LB_EXAMPLE_SERVER_PORT``. The first
    three are the Go toolkit's names; the others follow their style.
    """

    listen: ListenAddress = env(
        "SERVER_LISTEN",
        default="0.0.0.0",  # noqa: S104 - a service listens on every interface of its pod
        comment="HTTP server listen address",
    )
    port: Port = env("SERVER_PORT", default=8080, comment="HTTP server listen port")
    cors_enabled: bool = env(
        "SERVER_CORS_ENABLED",
        default=False,
        comment="Answer CORS requests from the origins in SERVER_CORS_ALLOWED_ORIGINS",
    )
    cors_allowed_origins: list[str] = env(
        "SERVER_CORS_ALLOWED_ORIGINS",
        default=[],
        comment="Origins allowed by CORS, comma-separated (https://app.example.com); * for any",
    )
    cors_allowed_methods: list[str] = env(
        "SERVER_CORS_ALLOWED_METHODS",
        default=["GET", "POST", "PUT", "PATCH", "DELETE"],
        comment="Methods allowed by CORS, comma-separated",
    )
    cors_allowed_headers: list[str] = env(
        "SERVER_CORS_ALLOWED_HEADERS",
        default=["Authorization", "Content-Type"],
        comment="Request headers allowed by CORS, comma-separated",
    )
    cors_allow_credentials: bool = env(
        "SERVER_CORS_ALLOW_CREDENTIALS",
        default=False,
        comment="Let browsers send cookies and credentials with CORS requests",
    )
    cors_max_age: NonNegativeDuration = env(
        "SERVER_CORS_MAX_AGE",
        default=timedelta(minutes=10),
        comment="How long browsers may cache a CORS preflight answer",
    )
    max_body_size: ByteSize = env(
        "SERVER_MAX_BODY_SIZE",
        default=4 * _MiB,
        comment="Largest request body in bytes (larger ones get 413); 0 for no limit",
    )
    json_names: Literal["json", "proto"] = env(
        "SERVER_JSON_NAMES",
        default="json",
        comment="Field names in JSON answers: json (lowerCamelCase) or proto (.proto names)",
    )
    strict_json: bool = env(
        "SERVER_STRICT_JSON",
        default=False,
        comment="Refuse request bodies with fields the message does not have (400), "
        "instead of ignoring them",
    )
    read_timeout: PositiveDuration = env(
        "SERVER_READ_TIMEOUT",
        default=timedelta(seconds=30),
        comment="Time a client has to send a whole request body (408 after it)",
    )
    keepalive_timeout: PositiveDuration = env(
        "SERVER_KEEPALIVE_TIMEOUT",
        default=timedelta(seconds=5),
        comment="How long an idle keep-alive connection stays open",
    )
    engine: Literal["uvicorn", "granian"] = env(
        "SERVER_ENGINE",
        default="uvicorn",
        comment="What serves HTTP: uvicorn, or granian if installed (pip install granian)",
    )
    docs_enabled: bool = env(
        "SERVER_DOCS_ENABLED",
        default=True,
        comment="Serve the OpenAPI document at /openapi.json and Swagger UI at /docs",
    )
