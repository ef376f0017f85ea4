"""What the message-broker plugins share: the handler's view of a message and its two shapes.

The rabbitmq and nats plugins hand their subscription handlers the same
:class:`Delivery` and accept the same two handler shapes, so a service can
move from one broker to the other without touching its handlers.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from lbtoolkit._names import qualified_name

__all__ = [
    "BytesHandler",
    "Delivery",
    "Handler",
    "HeaderValue",
    "as_delivery_handler",
]

HeaderValue = str | int | float | bool | bytes | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message handed to a subscription's handler.

    ``data`` is the payload as published; ``headers`` the publisher's headers;
    ``attempt`` counts handler runs for this message (1 on first delivery);
    ``redelivered`` is the broker's flag (set after a lost connection, so the
    handler may have seen it before: at-least-once delivery).
    """

    event: str
    service: str
    data: bytes
    headers: Mapping[str, object]
    message_id: str | None
    redelivered: bool
    attempt: int


Handler = Callable[[Delivery], Awaitable[object]]
"""An async function taking a :class:`Delivery`; raising means "not processed"."""

BytesHandler = Callable[[bytes], Awaitable[object]]
"""An async function taking the payload, as the guide's ``func([]byte) error``."""

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_EMPTY = inspect.Parameter.empty


def as_delivery_handler(
    handler: Handler | BytesHandler, refuse: Callable[[str, str], Exception]
) -> Handler:
    """``handler`` as a delivery handler, by its first parameter's annotation.

    A handler of neither shape raises ``refuse(handler_name, problem)``, the
    plugin's own error naming the subscription.
    """
    first = _first_parameter(handler)
    annotation = _EMPTY if first is None else _annotation(handler, first)
    shape = _shape(annotation)
    if shape is Delivery:
        return typing.cast("Handler", handler)
    if shape is bytes:
        on_payload = typing.cast("BytesHandler", handler)

        async def on_delivery(delivery: Delivery) -> object:
            return await on_payload(delivery.data)

        return on_delivery
    if first is None:
        problem = "it takes no positional parameter"
    elif annotation is _EMPTY:
        problem = f"its first parameter {first.name!r} has no annotation"
    else:
        problem = f"its first parameter {first.name!r} is annotated {_type_name(annotation)}"
    raise refuse(_type_name(handler), problem)


def _first_parameter(handler: Callable[..., object]) -> inspect.Parameter | None:
    try:
        parameters = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):
        return None
    return next((p for p in parameters if p.kind in _POSITIONAL), None)


def _annotation(handler: Callable[..., object], parameter: inspect.Parameter) -> object:
    """The parameter's annotation, resolved when it can be (text when it cannot)."""
    target: object = handler.func if isinstance(handler, functools.partial) else handler
    if not (inspect.isfunction(target) or inspect.ismethod(target)):
        target = getattr(target, "__call__", target)  # noqa: B004 - an instance's own __call__
    try:
        hints = typing.get_type_hints(target)
    except (NameError, TypeError):
        # A name imported for type checking only: the annotation stays text.
        hints = {}
    return hints.get(parameter.name, parameter.annotation)


def _shape(annotation: object) -> object:
    """``bytes``, ``Delivery`` or None, from an annotation resolved or left as text."""
    if isinstance(annotation, str):
        return {"bytes": bytes, "Delivery": Delivery}.get(annotation.rpartition(".")[2])
    return annotation if annotation is bytes or annotation is Delivery else None


def _type_name(value: object) -> str:
    """An annotation left as text is shown as written."""
    return value if isinstance(value, str) else qualified_name(value)
