"""The service runtime: lifecycle, plugin and package managers, dependency injection."""

from __future__ import annotations

from lbtoolkit._di import DependencyError
from lbtoolkit._public import export
from lbtoolkit.runtime._components import PackageManager, PluginManager
from lbtoolkit.runtime._errors import (
    HelpShown,
    HookNameError,
    HookSignatureError,
    LifecycleStateError,
    MisnamedHook,
    PluginConstructionError,
    StartError,
    StartInterruptedError,
    StopError,
)
from lbtoolkit.runtime._lifecycle import State
from lbtoolkit.runtime._runtime import Meta, Runtime
from lbtoolkit.runtime._service import Service, new_service
from lbtoolkit.runtime._settings import ServiceSettings

__all__ = [
    "DependencyError",
    "HelpShown",
    "HookNameError",
    "HookSignatureError",
    "LifecycleStateError",
    "Meta",
    "MisnamedHook",
    "PackageManager",
    "PluginConstructionError",
    "PluginManager",
    "Runtime",
    "Service",
    "ServiceSettings",
    "StartError",
    "StartInterruptedError",
    "State",
    "StopError",
    "new_service",
]

export(__name__, __all__)
