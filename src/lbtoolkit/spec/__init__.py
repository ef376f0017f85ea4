"""The vocabulary of generated code: service declarations and path templates.

A generated ``<file>_toolkit.py`` module imports these names to declare its
services (``ServiceSpec``, ``MethodSpec``, ``HttpRule``, ...); the servers
read the declarations, and the generator, the HTTP router and
``add_handler`` share the one path-template grammar of :class:`PathTemplate`.
"""

from __future__ import annotations

from lbtoolkit._public import export
from lbtoolkit.spec._service import HttpRule, MethodSpec, ProxyTarget, ServerKind, ServiceSpec
from lbtoolkit.spec._template import PathTemplate, PathTemplateError, PathVariable

__all__ = [
    "HttpRule",
    "MethodSpec",
    "PathTemplate",
    "PathTemplateError",
    "PathVariable",
    "ProxyTarget",
    "ServerKind",
    "ServiceSpec",
]

export(__name__, __all__)
