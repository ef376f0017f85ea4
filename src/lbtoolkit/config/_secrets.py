"""What stands for a secret wherever one would be shown: help, ``info()``, logs, errors."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["MASK", "mask_secrets"]

MASK = "******"
"""Stands for a secret that is set: it says the value is there without its length."""

# The password of ``scheme://user:password@host``, up to the first "@".
_URL_PASSWORD = re.compile(r"([a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]*@", re.IGNORECASE)
# ``?password=...`` or ``&password=...`` in a URL's query.
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&\s]*", re.IGNORECASE)


def mask_secrets(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every password in it replaced by :data:`MASK`.

    Passwords in URLs are found by their place (``scheme://user:******@host``,
    ``?password=******``); each of ``secrets`` (plain or URL-encoded) where it
    stands as a whole token, not inside a longer word, so a one-letter
    password leaves the rest of a driver's message readable. Empty and
    ``None`` secrets are skipped.
    """
    forms = {form for secret in secrets if secret for form in _forms(secret)}
    if forms:
        # Longest first, so a secret containing another is masked whole.
        alternatives = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
        text = re.sub(rf"(?<!\w)(?:{alternatives})(?!\w)", MASK, text)
    text = _URL_PASSWORD.sub(rf"\1{MASK}@", text)
    return _QUERY_PASSWORD.sub(rf"\1{MASK}", text)


def _forms(secret: str) -> tuple[str, ...]:
    return secret, unquote(secret), quote(secret, safe="")
