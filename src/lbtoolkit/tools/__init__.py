"""Tools every service carries: probes, metrics and traces."""

from __future__ import annotations

from lbtoolkit.tools._metrics import Metrics
from lbtoolkit.tools._probes import Check, CheckKind, DuplicateCheckError, Probes
from lbtoolkit.tools._tools import Tools
from lbtoolkit.tools._traces import Traces

__all__ = ["Check", "CheckKind", "DuplicateCheckError", "Metrics", "Probes", "Tools", "Traces"]
