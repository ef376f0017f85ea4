"""Names of generated things, derived from proto names and plugin prefixes."""

from __future__ import annotations

import keyword
import re

__all__ = ["camel", "constant", "is_valid_prefix", "python_name", "snake"]

_PREFIX = re.compile(r"[a-z][a-z0-9_]*")


def _words(text: str) -> list[str]:
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    return [word for word in re.split(r"[^A-Za-z0-9]+", text) if word]


def camel(text: str) -> str:
    """``primary_db`` -> ``PrimaryDb``, ``user-service`` -> ``UserService``."""
    return "".join(word[:1].upper() + word[1:] for word in _words(text))


def snake(text: str) -> str:
    """``MyService`` -> ``my_service``, ``HTTPServer`` -> ``http_server``."""
    return "_".join(word.lower() for word in _words(text))


def constant(text: str) -> str:
    """``MyService`` -> ``MY_SERVICE``."""
    return snake(text).upper()


def python_name(text: str) -> str:
    """``snake(text)``, with ``_`` appended when it is a Python keyword."""
    name = snake(text)
    return f"{name}_" if keyword.iskeyword(name) or keyword.issoftkeyword(name) else name


def is_valid_prefix(prefix: str) -> bool:
    """Lower-case letters, digits and underscores, starting with a letter.

    The prefix becomes a Protocol (``CamelCase + Plugin``), a variable
    (``plugin_<prefix>``) and part of environment variable names, so it must be
    all three; lower case keeps ``primaryDb`` and ``primary_db`` from naming
    the same Protocol.
    """
    return _PREFIX.fullmatch(prefix) is not None and not keyword.iskeyword(prefix)
