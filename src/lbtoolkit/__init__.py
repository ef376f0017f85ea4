"""lbtoolkit: proto-first Python microservices with a plugin system.

The names below load on first use (PEP 562): ``import lbtoolkit``, a
generated ``*_pb2`` module or ``lbtoolkit --help`` import no runtime, server
or dependency injection until one of them is read.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from lbtoolkit._exceptions import LbToolkitError
from lbtoolkit._public import export, promise

if TYPE_CHECKING:
    from dishka import Scope

    from lbtoolkit.runtime import (
        DependencyCycleError,
        DependencyError,
        HelpShown,
        HookNameError,
        HookSignatureError,
        HookTimeoutError,
        LifecycleStateError,
        Meta,
        PluginConstructionError,
        Runtime,
        Service,
        ShutdownTimeoutError,
        StartError,
        StartInterruptedError,
        StartTimeoutError,
        StopError,
        new_service,
    )

__version__ = "0.1.0"

__all__ = [
    "DependencyCycleError",
    "DependencyError",
    "HelpShown",
    "HookNameError",
    "HookSignatureError",
    "HookTimeoutError",
    "LbToolkitError",
    "LifecycleStateError",
    "Meta",
    "PluginConstructionError",
    "Runtime",
    "Scope",
    "Service",
    "ShutdownTimeoutError",
    "StartError",
    "StartInterruptedError",
    "StartTimeoutError",
    "StopError",
    "new_service",
]

_LAZY = {name: "lbtoolkit.runtime" for name in __all__ if name not in {"LbToolkitError", "Scope"}}
_LAZY["Scope"] = "dishka"
promise(__name__, ((package, name) for name, package in _LAZY.items()))
# The lazy names are not in the namespace yet: ``promise`` renames them when they load.
export(__name__, ["LbToolkitError"])


def __getattr__(name: str) -> Any:
    package = _LAZY.get(name)
    if package is None:
        message = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(message)
    value = getattr(importlib.import_module(package), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
