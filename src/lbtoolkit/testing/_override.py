"""Replacing a dependency of a built service before it starts."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    # Read by type checkers only: a Protocol (a generated plugin type) is accepted
    # where ``type[T]`` would take concrete classes alone.
    from typing_extensions import TypeForm

    from lbtoolkit.runtime import Service

__all__ = ["override"]

T = TypeVar("T")


def override(app: Service, provides: TypeForm[T], value: T) -> None:
    """Inject ``value`` wherever ``app`` injects ``provides``.

    ``provides`` is the type the plugin, package or value was provided as (for
    a plugin declared in the ``.proto`` file, its generated Protocol, such as
    ``MailPlugin``). The replaced component is never started; ``value``'s own
    hooks run in its place. Call it before the service starts: afterwards it
    raises ``LifecycleStateError``; a type nothing provides raises
    ``NotProvidedError``, listing what is provided.
    """
    app.override(provides, value)
