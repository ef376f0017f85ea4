"""Durations written the way Go's ``time.ParseDuration`` reads them."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

__all__ = ["format_duration", "parse_duration"]

# Microseconds per unit: timedelta's resolution, so nanoseconds round.
_UNITS = {
    "ns": Decimal("0.001"),
    "us": Decimal(1),
    "\u00b5s": Decimal(1),  # micro sign, as Go prints it
    "\u03bcs": Decimal(1),  # Greek mu, which Go accepts too
    "ms": Decimal(1_000),
    "s": Decimal(1_000_000),
    "m": Decimal(60_000_000),
    "h": Decimal(3_600_000_000),
}
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_PLAIN = re.compile(_NUMBER)
_PART = re.compile(rf"({_NUMBER})(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")
_SECOND = 1_000_000
_MINUTE = 60 * _SECOND
_HOUR = 60 * _MINUTE


def parse_duration(text: str) -> dt.timedelta:
    """Parse ``300ms``, ``1h30m``, ``2h45m10.5s`` or plain seconds (``1.5``).

    Raises ``ValueError`` when ``text`` is neither.
    """
    body = text.strip()
    sign = 1
    if body[:1] in {"+", "-"}:
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if _PLAIN.fullmatch(body):
        micros = Decimal(body) * _UNITS["s"]
    elif body:
        micros = Decimal(0)
        pos = 0
        while pos < len(body):
            match = _PART.match(body, pos)
            if match is None:
                raise ValueError(text)
            micros += Decimal(match.group(1)) * _UNITS[match.group(2)]
            pos = match.end()
    else:
        raise ValueError(text)
    return dt.timedelta(microseconds=sign * int(micros.to_integral_value()))


def format_duration(value: dt.timedelta) -> str:
    """Write ``value`` compactly in the syntax ``parse_duration`` reads.

    ``1h30m``, ``5s``, ``300ms``, ``2h45m10.5s``; zero parts are left out,
    unlike Go's ``1h30m0s``, because the shorter form is what people type.
    """
    micros = value // dt.timedelta(microseconds=1)
    if micros == 0:
        return "0s"
    sign = "-" if micros < 0 else ""
    micros = abs(micros)
    if micros < _SECOND:
        if micros % 1_000 == 0:
            return f"{sign}{micros // 1_000}ms"
        return f"{sign}{micros}us"
    hours, rest = divmod(micros, _HOUR)
    minutes, rest = divmod(rest, _MINUTE)
    seconds, fraction = divmod(rest, _SECOND)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    if seconds or fraction:
        decimals = f".{fraction:06d}".rstrip("0") if fraction else ""
        parts.append(f"{seconds}{decimals}s")
    return sign + "".join(parts)
