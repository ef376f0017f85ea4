"""How the toolkit names user code in messages: one spelling everywhere."""

from __future__ import annotations

__all__ = ["qualified_name"]


def qualified_name(value: object) -> str:
    """``module.qualname`` of a class or function (builtins by their bare name).

    A callable instance is named by its class; anything else by its ``repr``.
    """
    name = getattr(value, "__qualname__", None)
    if name is None:
        if not callable(value):
            return repr(value)
        value = type(value)
        name = value.__qualname__
    module = getattr(value, "__module__", None)
    return f"{module}.{name}" if module and module != "builtins" else str(name)
