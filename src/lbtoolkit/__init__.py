"""lbtoolkit: proto-first Python microservices with a plugin system."""

from __future__ import annotations

from dishka import Scope

from lbtoolkit._exceptions import LbToolkitError
from lbtoolkit._public import export
from lbtoolkit.runtime import (
    DependencyError,
    HelpShown,
    HookNameError,
    HookSignatureError,
    LifecycleStateError,
    Meta,
    PluginConstructionError,
    Runtime,
    Service,
    StartError,
    StartInterruptedError,
    StopError,
    new_service,
)

__version__ = "0.1.0"

__all__ = [
    "DependencyError",
    "HelpShown",
    "HookNameError",
    "HookSignatureError",
    "LbToolkitError",
    "LifecycleStateError",
    "Meta",
    "PluginConstructionError",
    "Runtime",
    "Scope",
    "Service",
    "StartError",
    "StartInterruptedError",
    "StopError",
    "new_service",
]

export(__name__, __all__)
