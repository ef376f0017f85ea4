"""Logging: stdlib ``logging`` with the service name on every record."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import TextIO

__all__ = ["LIBRARY_LOGGERS", "JsonFormatter", "ServiceFilter", "configure_logging"]

_TEXT_FORMAT = "%(asctime)s %(levelname)-5s [%(service)s] %(name)s: %(message)s"

# Libraries under the plugins and servers that report routine events at INFO
# (SQLAlchemy's "Pool disposed" on every failed connect, uvicorn's "Shutting
# down"): their INFO lines would drown the service's own.
LIBRARY_LOGGERS = ("aio_pika", "aiormq", "asyncpg", "grpc", "sqlalchemy", "uvicorn")


class ServiceFilter(logging.Filter):
    """Stamps ``record.service`` so every line says which service wrote it."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": getattr(record, "service", None),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(
    service: str, level: str, fmt: str, stream: TextIO | None = None
) -> logging.Handler:
    """Install one handler on the root logger (replacing a previous one of ours).

    The loggers of ``LIBRARY_LOGGERS`` keep to warnings and errors unless the
    service logs at ``DEBUG``, where they follow it.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ServiceFilter(service))
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(_TEXT_FORMAT))
    handler.set_name("lbtoolkit")
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == "lbtoolkit":
            root.removeHandler(existing)
    root.addHandler(handler)
    service_level = logging.getLevelNamesMapping()[level.upper()]
    root.setLevel(service_level)
    # A library logger's own level decides alone: the root's is not consulted again.
    library_level = (
        service_level if service_level < logging.INFO else max(service_level, logging.WARNING)
    )
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(library_level)
    return handler
