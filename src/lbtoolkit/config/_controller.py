"""The registry of every config model a service parsed."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel

from lbtoolkit.config._errors import ConfigError, ConfigIssue, ConfigModelError
from lbtoolkit.config._fields import normalize
from lbtoolkit.config._layout import Layout, Variable, base_prefix, describe_model
from lbtoolkit.config._parse import load
from lbtoolkit.config._render import render_table, render_yaml

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

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
    ``MYSERVICE_PGSQL_HOST``); ``environ`` defaults to a snapshot of
    ``os.environ`` taken now.
    """

    def __init__(self, service_prefix: str = "", environ: Mapping[str, str] | None = None) -> None:
        self._service_prefix = service_prefix
        self._environ = dict(os.environ if environ is None else environ)
        self._registrations: list[_Registration] = []
        self._extra: list[ConfigIssue] = []

    @property
    def service_prefix(self) -> str:
        """The prefix given at construction."""
        return self._service_prefix

    def variable_name(self, name: str, prefix: str = "") -> str:
        """The full name of variable ``name`` parsed with ``prefix``.

        For hints written by hand: with service prefix ``MYSERVICE``,
        ``variable_name("DSN", "pgsql")`` is ``MYSERVICE_PGSQL_DSN``.
        """
        return base_prefix(self._service_prefix, prefix) + normalize(name)

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

    def variables(self) -> list[Variable]:
        """Every known variable: by parse order, then field order."""
        return [
            slot.variable(entry.owner)
            for entry in self._registrations
            for slot in entry.layout.slots
        ]

    def print_table(self, all: bool = False, no_comments: bool = False) -> str:
        """Render the variables as a text table (required ones only unless ``all``)."""
        return render_table(self.variables(), show_all=all, no_comments=no_comments)

    def print_yaml(self, all: bool = False, no_comments: bool = False) -> str:
        """Render the variables as YAML with comments (required ones only unless ``all``)."""
        return render_yaml(self.variables(), show_all=all, no_comments=no_comments)
