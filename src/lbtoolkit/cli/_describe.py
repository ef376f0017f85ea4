"""``lbtoolkit describe``: what a .proto file (or a generated module) declares."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lbtoolkit.cli._app import app
from lbtoolkit.cli._common import fail, load_service, project_settings, service_paths

if TYPE_CHECKING:
    from lbtoolkit.codegen._model import FileModel, Method, PluginInstance
    from lbtoolkit.spec import MethodSpec, ServiceSpec

__all__ = ["describe"]


@app.command()
def describe(
    source: Annotated[
        str | None,
        typer.Argument(
            metavar="[PROTO|MODULE|MODULE:APP]",
            help="A .proto file, a generated module, or a service (default: the project's protos).",
        ),
    ] = None,
    include: Annotated[
        list[Path] | None,
        typer.Option(
            "--proto-path", "-I", metavar="DIR", help="Where imports are searched (repeatable)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, for tools.")] = False,
) -> None:
    """Services, methods (types, streaming, HTTP bindings, middlewares) and plugins.

    Plugins show the prefix their variables start with: {P}_CACHE_ for a
    .proto file ({P} is the service's env_prefix, set in code), the full
    one for MODULE:APP.
    """
    if source is None or source.endswith(".proto"):
        report = _from_protos(source, include)
    else:
        report = _from_module(source)
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    _print(report)


def _from_protos(source: str | None, include: list[Path] | None) -> dict[str, Any]:
    from lbtoolkit.codegen import CodegenError, ProtocError  # noqa: PLC0415 - keeps --help light
    from lbtoolkit.codegen._describe import read_models  # noqa: PLC0415

    settings = project_settings()
    if source is None:
        if settings is None or not settings.protos:
            fail("which .proto file? pass one (no [tool.lbtoolkit] protos in pyproject.toml)")
        protos = list(settings.protos)
    else:
        protos = [Path(source)]
    for proto in protos:
        if not proto.is_file():
            fail(f"{proto}: no such file")
    if include:
        includes = list(include)
    elif settings is not None and settings.include and source is None:
        includes = list(settings.include)
    else:
        includes = sorted({p.parent for p in protos})
    try:
        models = read_models(protos, include=includes)
    except (CodegenError, ProtocError) as error:
        fail(str(error))
    return {"files": [_file(model) for model in models]}


def _file(model: FileModel) -> dict[str, Any]:
    return {
        "proto_file": model.proto_file,
        "plugins": [_plugin(p, "file") for p in model.plugins],
        "services": [
            {
                "name": service.name,
                "full_name": service.full_name,
                "servers": list(service.servers),
                "middlewares": list(service.middlewares),
                "plugins": [_plugin(p, "service") for p in service.plugins],
                "methods": [_method(m) for m in service.methods],
            }
            for service in model.services
        ],
    }


def _plugin(instance: PluginInstance, scope: str) -> dict[str, Any]:
    return {
        "prefix": instance.prefix,
        "plugin": instance.plugin,
        "module": instance.module.path,
        # The service's own prefix is set in code, not in the .proto file.
        "env_prefix": f"{{P}}_{instance.prefix.upper()}_",
        "scope": scope,
    }


def _streaming(client: bool, server: bool) -> str:
    return {(False, False): "unary", (True, False): "client", (False, True): "server"}.get(
        (client, server), "bidi"
    )


def _method(method: Method) -> dict[str, Any]:
    proxy = method.http_proxy or method.websocket_proxy
    return {
        "name": method.name,
        "grpc_path": method.grpc_path,
        "request": method.request.full_name,
        "response": method.response.full_name,
        "streaming": _streaming(method.client_streaming, method.server_streaming),
        "http": [{"method": r.method, "path": r.path, "body": r.body} for r in method.rules],
        "websocket": method.websocket,
        "proxy": None if proxy is None else {"service": proxy[0], "method": proxy[1]},
        "middlewares": list(method.middlewares),
        "exclude_global_middlewares": list(method.exclude_global_middlewares),
    }


def _from_module(source: str) -> dict[str, Any]:
    from lbtoolkit.spec import ServiceSpec  # noqa: PLC0415 - keeps --help light

    if ":" in source:
        service = load_service(source)
        specs = list(service.server.declared)
        prefix = service.meta.env_prefix.upper()
        plugins = [
            {
                "prefix": name,
                "plugin": plugin,
                "module": module,
                "env_prefix": f"{prefix}_{name.upper()}_" if prefix else f"{name.upper()}_",
                "scope": "service",
            }
            for name, plugin, module in _plugins_of(service)
        ]
    else:
        sys.path[:0] = [str(p) for p in service_paths()]
        try:
            module = importlib.import_module(source)
        except ImportError as error:
            fail(f"{source}: cannot import it ({error}); give a .proto file or MODULE")
        specs = [v for v in vars(module).values() if isinstance(v, ServiceSpec)]
        plugins = []
        if not specs:
            fail(f"{source}: no ServiceSpec in it; give a generated <file>_toolkit module")
    return {
        "files": [
            {
                "proto_file": specs[0].proto_file if specs else "",
                "plugins": plugins,
                "services": [_spec(spec) for spec in specs],
            }
        ]
    }


def _plugins_of(service: Any) -> list[tuple[str, str, str]]:
    """(prefix, plugin, module) of each plugin instance, without building any."""
    from lbtoolkit.codegen._plugins import PluginCatalog  # noqa: PLC0415

    catalog = PluginCatalog()
    modules = {name: found.module for name in catalog.names() if (found := catalog.get(name))}
    found_plugins = []
    # The manager keeps each component's label ('plugin "cache"') and the type it
    # provides: the generated Protocol, whose base is the plugin's own Protocol.
    for constructor in getattr(service.runtime.plugin, "_constructors", ()):
        owner = str(getattr(constructor, "owner", ""))
        if not (owner.startswith('plugin "') and owner.endswith('"')):
            continue
        bases = [b.__module__ for b in getattr(constructor.provides, "__mro__", ())[1:]]
        matches = [
            (name, path)
            for base in bases
            for name, path in modules.items()
            if base == path or base.startswith(path + ".")
        ]
        # An alias ("postgres") and the plugin's own name share a module: the longer is exact.
        plugin, module = max(matches, key=lambda match: len(match[0]), default=("", ""))
        found_plugins.append((owner[len('plugin "') : -1], plugin, module))
    return found_plugins


def _spec(spec: ServiceSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "full_name": spec.full_name,
        "servers": [str(kind) for kind in spec.servers],
        "middlewares": list(spec.middlewares),
        "plugins": [],
        "methods": [_method_spec(m) for m in spec.methods],
    }


def _method_spec(method: MethodSpec) -> dict[str, Any]:
    proxy = method.http_proxy or method.websocket_proxy
    return {
        "name": method.name,
        "grpc_path": method.grpc_path,
        "request": method.request_type.DESCRIPTOR.full_name,
        "response": method.response_type.DESCRIPTOR.full_name,
        "streaming": _streaming(method.client_streaming, method.server_streaming),
        "http": [{"method": r.method, "path": r.path, "body": r.body} for r in method.http_rules],
        "websocket": method.websocket,
        "proxy": None if proxy is None else {"service": proxy.service, "method": proxy.method},
        "middlewares": list(method.middlewares),
        "exclude_global_middlewares": list(method.exclude_global_middlewares),
    }


def _print(report: dict[str, Any]) -> None:
    from rich.console import Console  # noqa: PLC0415 - keeps --help light
    from rich.table import Table  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    console = Console(highlight=False)
    for file in report["files"]:
        for service in file["services"]:
            title = f"{service['full_name']} ({file['proto_file']})"
            servers = ", ".join(service["servers"]) or "none"
            middlewares = ", ".join(service["middlewares"]) or "none"
            console.print(Text(f"{title}\n  servers: {servers}  middlewares: {middlewares}"))
            methods = Table()
            for header in ("method", "request", "response", "streaming", "http", "middlewares"):
                # Folded, not cut: a type name with an ellipsis names nothing.
                methods.add_column(header, overflow="fold")
            for method in service["methods"]:
                http = [f"{r['method']} {r['path']}" for r in method["http"]]
                if method["websocket"]:
                    http = [f"WS {r['path']}" for r in method["http"]]
                if method["proxy"]:
                    http.append(f"-> {method['proxy']['service']}{method['proxy']['method']}")
                own = [
                    *method["middlewares"],
                    *(f"-{m}" for m in method["exclude_global_middlewares"]),
                ]
                methods.add_row(
                    Text(method["name"]),
                    Text(method["request"]),
                    Text(method["response"]),
                    Text(method["streaming"]),
                    Text("\n".join(http)),
                    Text(", ".join(own)),
                )
            console.print(methods)
        plugins = [*file["plugins"], *(p for s in file["services"] for p in s["plugins"])]
        if plugins:
            table = Table("plugin", "prefix", "variables", "declared for")
            for plugin in plugins:
                table.add_row(
                    Text(plugin["plugin"] or "?"),
                    Text(plugin["prefix"]),
                    Text(_variables(plugin["env_prefix"])),
                    Text(plugin["scope"]),
                )
            console.print(table)


def _variables(env_prefix: str) -> str:
    return f"{env_prefix}*"
