"""The registry of every config model a service parsed."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel

from lbtoolkit.config._convert import display
from lbtoolkit.config._errors import ConfigError, ConfigIssue, ConfigModelError
from lbtoolkit.config._fields import normalize
from lbtoolkit.config._layout import Layout, Variable, base_prefix, describe_model
from lbtoolkit.config._parse import load
from lbtoolkit.config._secrets import MASK
from lbtoolkit.config._unread import UnreadVariable, find_unread

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

__all__ = ["ConfigController"]

M = TypeVar("M", bound=BaseModel)


@dataclass(slots=True)
class _Registration:
    model: type[BaseModel]
    prefix: str
    owner: str
    instance: BaseModel
    layout: Layout
    issues: list[ConfigIssue]

    def names(self) -> Iterator[str]:
        for slot in self.layout.slots:
            yield slot.name
            yield from slot.aliases


class ConfigController:
    """Parses config models from the environment and describes them.

    ``service_prefix`` starts every variable name (``MYSERVICE`` gives
    ``MYSERVICE_PGSQL_HOST``); ``environ`` is read as given (the runtime passes
    the one snapshot every reader shares) and defaults to a snapshot of
    ``os.environ`` taken now.
    """

    def __init__(self, service_prefix: str = "", environ: Mapping[str, str] | None = None) -> None:
        self._service_prefix = service_prefix
        self._environ = dict(os.environ) if environ is None else environ
        self._registrations: list[_Registration] = []
        self._extra: list[ConfigIssue] = []

    @property
    def service_prefix(self) -> str:
        """The prefix given at construction."""
        return self._service_prefix

    def variable_name(self, name: str, prefix: str = "") -> str:
        """The full name of variable ``name`` parsed with ``prefix``.

        For hints written by hand: with service prefix ``MYSERVICE``,
        ``variable_name("DSN", "pgsql")`` is ``MYSERVICE_PGSQL_DSN``. When
        the environment sets the variable under one of its aliases only, that
        alias is the name returned: a message names what the user wrote.
        """
        full = base_prefix(self._service_prefix, prefix) + normalize(name)
        if full in self._environ:
            return full
        for entry in self._registrations:
            for slot in entry.layout.slots:
                if slot.name == full:
                    return next((a for a in slot.aliases if a in self._environ), full)
        return full

    def parse(self, model: type[M], prefix: str = "", *, owner: str | None = None) -> M:
        """Read ``model`` from the environment under ``prefix`` and remember it.

        Never raises for missing or invalid values: they are collected in
        :attr:`issues` and the instance is built from what is valid, so that
        building the service and ``--help`` still work. Raises
        :class:`ConfigModelError` when ``model`` is not a usable pydantic model.
        Parsing the same model with the same prefix and owner again replaces
        the earlier result.
        """
        candidate: object = model  # callers without a type checker pass anything
        if not (isinstance(candidate, type) and issubclass(candidate, BaseModel)):
            raise ConfigModelError(candidate)
        if owner is None:
            owner = f"{model.__qualname__} (prefix {prefix!r})"
        layout = describe_model(model, base_prefix(self._service_prefix, prefix))
        instance, issues = load(model, layout, self._environ, owner)
        entry = _Registration(model, prefix, owner, instance, layout, issues)
        for index, old in enumerate(self._registrations):
            if (old.model, old.prefix, old.owner) == (model, prefix, owner):
                self._registrations[index] = entry
                break
        else:
            self._registrations.append(entry)
        return instance

    def parsed(self, prefix: str = "") -> list[BaseModel]:
        """The instances parsed with ``prefix``, in the order they were parsed."""
        return [r.instance for r in self._registrations if r.prefix == prefix]

    @property
    def issues(self) -> list[ConfigIssue]:
        """Every problem found so far, in the order the models were parsed."""
        found: list[ConfigIssue] = []
        first_owner: dict[str, str] = {}
        for entry in self._registrations:
            found.extend(entry.issues)
            for name in dict.fromkeys(entry.names()):
                owner = first_owner.setdefault(name, entry.owner)
                if owner != entry.owner:
                    message = f"defined by both {owner} and {entry.owner}"
                    hint = "parse one of them with another prefix"
                    found.append(ConfigIssue(name, message, entry.owner, hint))
        return [*found, *self._extra]

    def add_issue(self, issue: ConfigIssue) -> None:
        """Report a problem found outside parsing (say, two variables that exclude each other)."""
        self._extra.append(issue)

    def raise_for_issues(self) -> None:
        """Raise :class:`ConfigError` with every problem, if there is any."""
        issues = self.issues
        if issues:
            raise ConfigError(issues)

    def unread_variables(
        self, also_read: Callable[[str], bool] = lambda _name: False
    ) -> list[UnreadVariable]:
        """Variables under the service prefix that no parsed model reads, by name.

        ``also_read`` recognises names read by something other than a config
        model. Each comes with the closest known name, if one is close. A
        controller without a service prefix finds none: without a prefix there
        is no telling the service's variables from the rest of the environment.
        """
        prefix = base_prefix(self._service_prefix)
        if not prefix:
            return []
        read = {name for entry in self._registrations for name in entry.names()}
        known = [slot.name for entry in self._registrations for slot in entry.layout.slots]
        return find_unread(self._environ, prefix, read, known, also_read)

    def variables(self) -> list[Variable]:
        """Every known variable: by parse order, then field order."""
        return [
            slot.variable(entry.owner)
            for entry in self._registrations
            for slot in entry.layout.slots
        ]

    def describe(
        self,
        owner: str,
        config: BaseModel,
        *,
        show: Callable[[str, object], str | None] | None = None,
    ) -> str:
        """``owner``, then ``  NAME = value`` for each variable of ``config``.

        ``config`` is a model that ``owner`` parsed; its variables come in
        field order (nested models in place) with the names aligned, and the
        values written as the help table writes defaults (``10s``, ``true``):
        a secret shows as ``******`` when set and as nothing when unset.
        ``show(field, value)`` may return the text of a field instead, or None
        for the usual one; ``field`` is the attribute name, dotted inside a
        nested model (``database.password``), and its text is shown as
        returned, so it must mask secrets itself. Lines carry no trailing
        spaces and the text ends without a newline. Raises ``ValueError`` when
        ``owner`` never parsed a model of that type.
        """
        entry = self._registration(owner, config)
        rows: list[tuple[str, str]] = []
        for slot in entry.layout.slots:
            value: object = config
            for attribute in slot.fields:
                value = getattr(value, attribute)
            text = None if show is None else show(".".join(slot.fields), value)
            if text is None:
                text = display(value)
                # A type that only holds a secret (``list[SecretStr]``,
                # ``SecretStr | str``) is masked whole, as help masks its default.
                if slot.secret and text:
                    text = MASK
            rows.append((slot.name, text))
        width = max((len(name) for name, _ in rows), default=0)
        lines = [owner, *(f"  {name:<{width}} = {text}".rstrip() for name, text in rows)]
        return "\n".join(lines)

    def print_table(self, all: bool = False, no_comments: bool = False) -> str:
        """Render the variables as a text table (required ones only unless ``all``)."""
        # rich and PyYAML load only when a view is asked for, which a running service never does.
        from lbtoolkit.config._render import render_table  # noqa: PLC0415 - lazy: views only

        return render_table(self.variables(), show_all=all, no_comments=no_comments)

    def print_yaml(self, all: bool = False, no_comments: bool = False) -> str:
        """Render the variables as YAML with comments (required ones only unless ``all``)."""
        from lbtoolkit.config._render import render_yaml  # noqa: PLC0415 - as print_table

        return render_yaml(self.variables(), show_all=all, no_comments=no_comments)

    def _registration(self, owner: str, config: BaseModel) -> _Registration:
        found = [
            entry
            for entry in self._registrations
            if entry.owner == owner and isinstance(config, entry.model)
        ]
        # One owner may parse a model under several prefixes: the instance
        # tells them apart, and a copy of it falls back to the latest parse.
        for entry in found:
            if entry.instance is config:
                return entry
        if found:
            return found[-1]
        message = f"{owner} did not parse a {type(config).__qualname__}"
        raise ValueError(message)
