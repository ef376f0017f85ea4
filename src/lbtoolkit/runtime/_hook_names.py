"""Methods named almost like a lifecycle hook: found before anything starts.

Hooks are found by their exact names, so ``PreStart`` (the Go toolkit's
spelling), ``preStart`` or ``on_stopp`` would silently never run. A method is
reported when its name, lower-cased and without underscores, equals a hook's
(``PreStart``, ``pre_Start``, ``onstart``) or differs from one by about one
letter, keeping the first (``on_stopp``, ``on_start_snyc``). Names that merely
share part of a hook's (``start``, ``restart``, ``on_startup``,
``on_startup_banner``) are left alone.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

from lbtoolkit._names import qualified_name
from lbtoolkit.runtime._errors import HookNameError, MisnamedHook
from lbtoolkit.runtime._hooks import HOOK_NAMES

if TYPE_CHECKING:
    from collections.abc import Iterable

    from lbtoolkit.runtime._hooks import Component

__all__ = ["check_hook_names", "misnamed_hooks", "suggest_hook_name"]

_NORMALISED = {name.replace("_", ""): name for name in HOOK_NAMES}

# One wrong, missing or extra letter in the shortest name ("onstop", 6 letters)
# scores 0.91 and up; "onstartup" against "onstart" scores 0.875.
_CUTOFF = 0.9


def suggest_hook_name(method: str) -> str | None:
    """The hook ``method`` was probably meant to be, or ``None``."""
    if method in HOOK_NAMES or method.startswith("_"):
        return None
    normalised = method.replace("_", "").lower()
    if normalised in _NORMALISED:
        return _NORMALISED[normalised]
    # A typo keeps the first letter; without it the name is another word ("restart").
    # A length too far off cannot reach the cutoff (difflib's own ``real_quick_ratio``
    # bound), so most methods are ruled out without loading difflib.
    candidates = [
        hook
        for hook in _NORMALISED
        if hook[0] == normalised[0]
        and 2.0 * min(len(hook), len(normalised)) / (len(hook) + len(normalised)) >= _CUTOFF
    ]
    if not candidates:
        return None
    import difflib  # noqa: PLC0415 - lazy: near misses only

    close = difflib.get_close_matches(normalised, candidates, n=1, cutoff=_CUTOFF)
    return _NORMALISED[close[0]] if close else None


def misnamed_hooks(owner: str, cls: type) -> list[MisnamedHook]:
    """The methods of ``cls`` that look like misspelt hooks, in name order."""
    found: list[MisnamedHook] = []
    for method in dir(cls):
        if not _is_method(inspect.getattr_static(cls, method, None)):
            continue
        hook = suggest_hook_name(method)
        if hook is not None:
            found.append(MisnamedHook(owner, qualified_name(cls), method, hook))
    return found


def check_hook_names(components: Iterable[Component]) -> None:
    """Raise one ``HookNameError`` listing the misnamed hooks of every component."""
    found = [
        misnamed
        for component in components
        for misnamed in misnamed_hooks(component.owner, type(component.instance))
    ]
    if found:
        raise HookNameError(found)


def _is_method(attribute: object) -> bool:
    return isinstance(attribute, staticmethod | classmethod) or inspect.isfunction(attribute)
