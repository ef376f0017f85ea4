"""The service runtime: lifecycle, plugin and package managers, dependency injection."""

from __future__ import annotations

from lbtoolkit._di import DependencyError, NotProvidedError
from lbtoolkit._public import export
from lbtoolkit.runtime._components import PackageManager, PluginManager
from lbtoolkit.runtime._errors import (
    DependencyCycleError,
    HelpShown,
    HookNameError,
    HookSignatureError,
    HookTimeoutError,
    LifecycleStateError,
    MisnamedHook,
    PluginConstructionError,
    ShutdownTimeoutError,
    StartError,
    StartInterruptedError,
    StartTimeoutError,
    StopError,
)
from lbtoolkit.runtime._lifecycle import State
from lbtoolkit.runtime._runtime import Meta, Runtime
from lbtoolkit.runtime._service import Service, new_service
from lbtoolkit.runtime._settings import ServiceSettings
from lbtoolkit.runtime._timeline import HookOutcome, HookRecord, Timeline, render_timeline

__all__ = [
    "DependencyCycleError",
    "DependencyError",
    "HelpShown",
    "HookNameError",
    "HookOutcome",
    "HookRecord",
    "HookSignatureError",
    "HookTimeoutError",
    "LifecycleStateError",
    "Meta",
    "MisnamedHook",
    "NotProvidedError",
    "PackageManager",
    "PluginConstructionError",
    "PluginManager",
    "Runtime",
    "Service",
    "ServiceSettings",
    "ShutdownTimeoutError",
    "StartError",
    "StartInterruptedError",
    "StartTimeoutError",
    "State",
    "StopError",
    "Timeline",
    "new_service",
    "render_timeline",
]

export(__name__, __all__)
