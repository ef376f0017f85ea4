"""Variables under the service prefix that nothing reads: typos, stale names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable

__all__ = ["UnreadVariable", "find_unread"]

# How alike two names (without the service prefix) must be for a suggestion:
# difflib's own default, which pairs HOSTNAME with HOST but not FOO with LOG_LEVEL.
_SIMILARITY = 0.6


@dataclass(frozen=True, slots=True)
class UnreadVariable:
    """A variable under the service prefix that no config reads.

    ``suggestion`` is the known variable closest to ``name``, or "" when none
    is close. Only names are kept: the values may be secrets.
    """

    name: str
    suggestion: str = ""

    def __str__(self) -> str:
        text = f"{self.name} is not read by anything"
        return f"{text}; did you mean {self.suggestion}?" if self.suggestion else text


def find_unread(
    environ: Iterable[str],
    prefix: str,
    read: Collection[str],
    suggestions: Iterable[str],
    also_read: Callable[[str], bool],
) -> list[UnreadVariable]:
    """The names in ``environ`` under ``prefix`` (``MYSERVICE_``) that nobody reads, sorted.

    ``read`` holds every name a config reads (aliases included), ``suggestions``
    the names worth proposing, ``also_read`` recognises names read elsewhere
    (client targets). The prefix is matched in any case, so a lower-case
    ``myservice_log_level`` is reported too: configs read upper-case names only.
    """
    candidates = {name.removeprefix(prefix): name for name in suggestions}
    unread = []
    for name in sorted(environ):
        if not name.upper().startswith(prefix) or name in read or also_read(name):
            continue
        rest = name.upper().removeprefix(prefix)
        # Loaded only here: most services start with no unread variable to match.
        import difflib  # noqa: PLC0415 - lazy: unread variables only

        close = difflib.get_close_matches(rest, list(candidates), n=1, cutoff=_SIMILARITY)
        unread.append(UnreadVariable(name, candidates[close[0]] if close else ""))
    return unread
