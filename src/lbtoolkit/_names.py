"""How the toolkit names user code in messages: one spelling everywhere."""

from __future__ import annotations

__all__ = ["qualified_name"]


def qualified_name(value: object, *, short: bool = False) -> str:
    """``module.qualname`` of a class or function (builtins by their bare name).

    A callable instance is named by its class; a typing construct
    (``list[User]``, ``Annotated[...]``) and anything else by its ``repr``.
    ``short`` leaves the module out (``Session`` for a class of ``app.db``),
    where the message names the thing next to its owner already.
    """
    if getattr(value, "__origin__", None) is not None:
        # Generic aliases forward ``__qualname__`` to their origin: ``list[User]``
        # would read ``list``, and typing's aliases are callable.
        return repr(value)
    name = getattr(value, "__qualname__", None)
    if name is None:
        if not callable(value):
            return repr(value)
        value = type(value)
        name = value.__qualname__
    if short:
        return str(name)
    module = getattr(value, "__module__", None)
    return f"{module}.{name}" if module and module != "builtins" else str(name)
