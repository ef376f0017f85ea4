"""Errors of the HTTP server: route set-up, request transcoding, start-up."""

from __future__ import annotations

from lbtoolkit._exceptions import LbToolkitError

__all__ = [
    "HttpListenError",
    "HttpRouteError",
    "InvalidValue",
    "MiddlewareNotFoundError",
    "PayloadTooLargeError",
    "RequestTimeoutError",
    "TranscodeError",
]


class HttpRouteError(LbToolkitError, ValueError):
    """A route that cannot be served: a bad field path, a missing handler, a clash."""

    def __init__(self, route: str, reason: str, hint: str = "") -> None:
        super().__init__(route, reason, hint)
        self.route = route
        self.reason = reason
        self.hint = hint

    def __str__(self) -> str:
        text = f"HTTP route {self.route}: {self.reason}"
        return f"{text}. Hint: {self.hint}" if self.hint else text


class MiddlewareNotFoundError(LbToolkitError, LookupError):
    """A route or the server asks for a middleware no one registered."""

    def __init__(self, name: str, used_by: str, known: tuple[str, ...]) -> None:
        super().__init__(name, used_by, known)
        self.name = name
        self.used_by = used_by
        self.known = known

    def __str__(self) -> str:
        known = ", ".join(repr(k) for k in self.known) or "none"
        return (
            f"middleware {self.name!r} used by {self.used_by} is not registered "
            f"(registered: {known}). Hint: register it with "
            f"app.server.http.set_middleware({self.name!r}, constructor)"
        )


class HttpListenError(LbToolkitError, OSError):
    """The server cannot listen on its address."""

    def __init__(
        self,
        server: str,
        address: str,
        cause: OSError,
        variable: str,
        *,
        address_variable: str = "",
    ) -> None:
        super().__init__(server, address, cause, variable)
        self.server = server
        self.address = address
        self.cause = cause
        self.variable = variable
        # Set when the address, not the port, is at fault: the variable that chose it.
        self.address_variable = address_variable

    def __str__(self) -> str:
        hint = f"set {self.variable} to a free port"
        if self.address_variable:
            where = "an address of this host (0.0.0.0 for every interface)"
            hint = f"set {self.address_variable} to {where}"
        head = f'HTTP server "{self.server}" cannot listen on {self.address}: {self.cause}'
        return f"{head}. Hint: {hint}"


class InvalidValue(ValueError):  # noqa: N818 - internal signal, never leaves the package
    """A JSON or text value that does not fit its field; the location grows upwards.

    Raised deep in a conversion with the detail only; each enclosing message
    adds its key on the way up, so a successful conversion never builds paths.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.location: list[str] = []

    def at(self, part: str) -> InvalidValue:
        """Prepend a field name (``"user"``) or an index (``"[2]"``) to the location."""
        self.location.insert(0, part)
        return self

    @property
    def field(self) -> str:
        """The location as one path: ``items[2].price``."""
        text = ""
        for part in self.location:
            text += part if part.startswith("[") or not text else "." + part
        return text


class TranscodeError(LbToolkitError, ValueError):
    """An HTTP request that cannot become the RPC's request message (answered with 400).

    ``source`` is where the value came from: ``"request body"``, ``"URL path"``
    or ``"query"``; ``field`` the field path as the client spelled it.
    """

    def __init__(self, source: str, detail: str, field: str | None = None) -> None:
        super().__init__(source, detail, field)
        self.source = source
        self.detail = detail
        self.field = field

    @classmethod
    def of(cls, source: str, error: InvalidValue, prefix: str = "") -> TranscodeError:
        """Turn an :class:`InvalidValue` into a client-facing error."""
        field = error.field
        if prefix:
            field = f"{prefix}.{field}" if field and not field.startswith("[") else prefix + field
        return cls(source, error.detail, field or None)

    def __str__(self) -> str:
        if self.field is None:
            return f"invalid {self.source}: {self.detail}"
        return f'invalid field "{self.field}" in the {self.source}: {self.detail}'


class PayloadTooLargeError(LbToolkitError, ValueError):
    """A request body over the configured limit (answered with 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit

    def __str__(self) -> str:
        return f"request body exceeds the limit of {self.limit} bytes"


class RequestTimeoutError(LbToolkitError, TimeoutError):
    """A request body not received in time (answered with 408)."""

    def __init__(self, timeout: float) -> None:
        super().__init__(timeout)
        self.timeout = timeout

    def __str__(self) -> str:
        return f"request body not received within {self.timeout:g}s"
