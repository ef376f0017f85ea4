"""Public names show the package users import them from, not the private module."""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["export", "promise"]

# (package, name) -> the shallower package that re-exports the name lazily
# (PEP 562), so it is renamed even before that package's attribute is read.
_PROMISED: dict[tuple[str, str], str] = {}


def promise(home: str, sources: Iterable[tuple[str, str]]) -> None:
    """Declare that ``home`` re-exports each ``(package, name)`` of ``sources`` lazily."""
    for package, name in sources:
        _PROMISED[package, name] = home


def export(package: str, names: Iterable[str]) -> None:
    """Set ``__module__`` of each of ``names`` in ``package`` to ``package``.

    Tracebacks, reprs and documentation then show ``lbtoolkit.config.ConfigError``
    rather than ``lbtoolkit.config._errors.ConfigError``. Only classes and
    functions of lbtoolkit are renamed: constants, typing aliases and names
    re-exported from other libraries keep theirs. A name already exported by a
    deeper package (``lbtoolkit.runtime.StartError`` re-exported by
    ``lbtoolkit``) takes the shallower one, the path users are shown.
    """
    namespace = vars(sys.modules[package])
    for name in names:
        value = namespace[name]
        module = getattr(value, "__module__", None)
        if not isinstance(value, type | types.FunctionType):
            continue
        home = _PROMISED.get((package, name), package)
        if isinstance(module, str) and _is_ours(module) and _closer(home, module):
            value.__module__ = home


def _is_ours(module: str) -> bool:
    return module == "lbtoolkit" or module.startswith("lbtoolkit.")


def _closer(package: str, module: str) -> bool:
    """Whether ``package`` is a better public home than ``module``, where the name lives now."""
    if any(part.startswith("_") for part in module.split(".")):
        return True
    return module.startswith(package + ".")
