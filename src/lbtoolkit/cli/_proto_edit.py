"""Edits of a .proto file at its ``// +lbtoolkit:`` markers, for ``lbtoolkit add``.

Every function here is pure text in, text out; ``ProtoEditError`` says what
is wrong and where, and the file on disk is only replaced once the edited text
generated cleanly (see ``_add``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "MARKERS",
    "HttpBinding",
    "MethodRequest",
    "ProtoEditError",
    "add_method",
    "add_plugin",
    "parse_http",
    "parse_proxy",
]

MARKERS = {
    "plugins": "// +lbtoolkit:plugins",
    "service-plugins": "// +lbtoolkit:service-plugins",
    "methods": "// +lbtoolkit:methods",
    "messages": "// +lbtoolkit:messages",
}
PREFIX_RULE = "lowercase letters, digits and underscores, starting with a letter"
METHOD_RULE = "CamelCase: a capital letter, then letters and digits"
_PREFIX = re.compile(r"[a-z][a-z0-9_]*")
_METHOD = re.compile(r"[A-Z][A-Za-z0-9]*")
_VERBS = ("get", "put", "post", "delete", "patch")
_PATH = re.compile(r"/[A-Za-z0-9_.~{}/*=:-]*")
_PATH_VARIABLE = re.compile(r"\{([A-Za-z_]\w*)(?:=[^}]*)?\}")
_GRPC_METHOD = re.compile(r"/[A-Za-z_][\w.]*/[A-Za-z_]\w*")
_PROXY_SERVICE = re.compile(r"[A-Za-z_][\w.-]*")


class ProtoEditError(Exception):
    """An edit that cannot be made; the message names the culprit."""


@dataclass(frozen=True, slots=True)
class HttpBinding:
    verb: str
    path: str


@dataclass(frozen=True, slots=True)
class MethodRequest:
    name: str
    http: HttpBinding | None = None
    websocket: str | None = None
    proxy: tuple[str, str] | None = None


def parse_http(text: str) -> HttpBinding:
    verb, colon, path = text.partition(":")
    if not colon or verb.lower() not in _VERBS or not _PATH.fullmatch(path):
        raise ProtoEditError(
            f"--http {text!r}: expected VERB:/path with VERB one of "
            f"{', '.join(v.upper() for v in _VERBS)}, e.g. POST:/v1/orders or GET:/v1/orders/{{id}}"
        )
    return HttpBinding(verb.lower(), path)


def parse_proxy(text: str) -> tuple[str, str]:
    service, colon, method = text.partition(":")
    if not colon or not _PROXY_SERVICE.fullmatch(service) or not _GRPC_METHOD.fullmatch(method):
        raise ProtoEditError(
            f"--proxy {text!r}: expected SERVICE:/package.Service/Method, "
            "e.g. helloworld:/helloworld.Greeter/SayHello"
        )
    return service, method


def add_plugin(text: str, file: str, prefix: str, plugin: str, service: str | None) -> str:
    """``text`` with a plugin instance declared for the file, or for one ``service``."""
    if not _PREFIX.fullmatch(prefix):
        raise ProtoEditError(f"--prefix {prefix!r}: a prefix is {PREFIX_RULE}")
    taken = re.search(rf'\bprefix\s*:\s*"{re.escape(prefix)}"', text)
    if taken:
        line = text.count("\n", 0, taken.start()) + 1
        raise ProtoEditError(f'prefix "{prefix}" is already declared at {file}:{line}')
    if service is None:
        entry = [
            "option (toolkit.plugins) = {",
            f'  prefix: "{prefix}"',
            f'  plugin: "{plugin}"',
            "};",
        ]
        return _insert(text, file, "plugins", entry, within=None)
    entry = [f'plugins: {{ prefix: "{prefix}" plugin: "{plugin}" }}']
    return _insert(text, file, "service-plugins", entry, within=service)


def add_method(text: str, file: str, request: MethodRequest, service: str | None) -> str:
    """``text`` with an RPC ``request.name`` and its two messages."""
    name = request.name
    if not _METHOD.fullmatch(name):
        raise ProtoEditError(f"method {name!r}: a method name is {METHOD_RULE}")
    for pattern, what in (
        (rf"\brpc\s+{name}\s*\(", f"method {name}"),
        (rf"\bmessage\s+{name}Request\b", f"message {name}Request"),
        (rf"\bmessage\s+{name}Response\b", f"message {name}Response"),
    ):
        found = re.search(pattern, text)
        if found:
            line = text.count("\n", 0, found.start()) + 1
            raise ProtoEditError(f"{what} is already declared at {file}:{line}")
    _check_combination(request)
    body = [
        f"rpc {name}({name}Request) returns ({name}Response) {{",
        *_method_options(request),
        "}",
    ]
    with_method = _insert(text, file, "methods", body, within=service)
    # A path variable must be a field of the request: each gets a string field.
    route = request.http.path if request.http is not None else request.websocket or ""
    fields = [
        f"  string {variable} = {number};"
        for number, variable in enumerate(dict.fromkeys(_PATH_VARIABLE.findall(route)), 1)
    ]
    messages = [
        f"message {name}Request {{",
        *fields,
        "}",
        "",
        f"message {name}Response {{",
        "}",
    ]
    return _insert(with_method, file, "messages", messages, within=None, blank_before=True)


def _check_combination(request: MethodRequest) -> None:
    if request.http is not None and request.websocket is not None:
        raise ProtoEditError(
            "--http and --ws: a WebSocket method is reached by GET at its --ws path; give one"
        )
    if request.proxy is not None and request.http is None and request.websocket is None:
        raise ProtoEditError(
            "--proxy needs the route it answers: --http VERB:/path (an HTTP proxy) "
            "or --ws /path (a WebSocket proxy)"
        )
    if request.websocket is not None and not _PATH.fullmatch(request.websocket):
        raise ProtoEditError(f"--ws {request.websocket!r}: expected a path, e.g. /v1/events")


def _method_options(request: MethodRequest) -> list[str]:
    lines: list[str] = []
    if request.proxy is not None:
        service, method = request.proxy
        kind = "websocket_proxy" if request.websocket is not None else "http_proxy"
        lines += [
            "  option (toolkit.route) = {",
            f'    {kind}: {{ service: "{service}" method: "{method}" }}',
            "  };",
        ]
    elif request.websocket is not None:
        lines += ["  option (toolkit.route) = {", "    websocket: true", "  };"]
    if request.websocket is not None:
        lines += ["  option (google.api.http) = {", f'    get: "{request.websocket}"', "  };"]
    elif request.http is not None:
        lines += [
            "  option (google.api.http) = {",
            f'    {request.http.verb}: "{request.http.path}"',
        ]
        if request.http.verb in {"post", "put", "patch"}:
            lines.append('    body: "*"')
        lines.append("  };")
    return lines


def _insert(
    text: str,
    file: str,
    marker: str,
    lines: list[str],
    *,
    within: str | None,
    blank_before: bool = False,
) -> str:
    """Insert ``lines`` above the marker, indented as the marker is."""
    comment = MARKERS[marker]
    positions = [m.start() for m in re.finditer(re.escape(comment) + r"\s*$", text, re.MULTILINE)]
    if within is not None:
        positions = [p for p in positions if _service_at(text, p) == within]
    if not positions:
        where = f" inside service {within}" if within is not None else ""
        raise ProtoEditError(
            f"{file}: no `{comment}` marker{where}; add that comment line where "
            f"new {marker.replace('-', ' ')} belong"
        )
    if len(positions) > 1:
        services = sorted({_service_at(text, p) or "?" for p in positions})
        raise ProtoEditError(
            f"{file}: `{comment}` appears {len(positions)} times (services "
            f"{', '.join(services)}); choose one with --service"
        )
    position = positions[0]
    line_start = text.rfind("\n", 0, position) + 1
    indent = text[line_start:position]
    block = [f"{indent}{line}".rstrip() for line in lines]
    if blank_before:
        block = ["", *block]
    # The marker keeps its place below the new text, ready for the next addition.
    return text[:line_start] + "\n".join([*block, ""]) + text[line_start:]


def _service_at(text: str, position: int) -> str | None:
    """The service whose block holds ``position``, by brace depth."""
    for found in reversed(list(re.finditer(r"\bservice\s+(\w+)\s*\{", text[:position]))):
        depth = 0
        for char in text[found.end() - 1 : position]:
            depth += {"{": 1, "}": -1}.get(char, 0)
        if depth > 0:
            return found.group(1)
    return None
