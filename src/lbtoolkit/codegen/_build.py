"""Read one .proto file's options into the model, checking them on the way."""

from __future__ import annotations

import importlib
import re
from typing import TYPE_CHECKING, Any

from lbtoolkit.codegen._declarations import Declarations
from lbtoolkit.codegen._errors import CodegenError, HttpRuleError, UnknownServiceError
from lbtoolkit.codegen._http import RuleError, rules_of
from lbtoolkit.codegen._model import Client, FileModel, Method, Service
from lbtoolkit.proto.toolkit.options import annotations_pb2 as toolkit
from lbtoolkit.spec import PathTemplateError

if TYPE_CHECKING:
    from google.protobuf import descriptor_pb2

    from lbtoolkit.codegen._descriptors import DescriptorIndex, ServiceInfo
    from lbtoolkit.codegen._plugins import PluginCatalog
    from lbtoolkit.spec import HttpRule

__all__ = ["FILE_PLUGINS", "SERVICES", "SERVICE_PLUGINS", "build_file"]

FILE_PLUGINS = "(toolkit.plugins)"
SERVICE_PLUGINS = "(toolkit.runtime).plugins"
SERVICES = "(toolkit.services)"
_GRPC_PATH = re.compile(r"/[A-Za-z_][\w.]*/[A-Za-z_]\w*")
# googleapis-common-protos has no py.typed; its rules are read as ``Any``.
_GOOGLE_API_HTTP: Any = importlib.import_module("google.api.annotations_pb2").http


def build_file(index: DescriptorIndex, proto_file: str, catalog: PluginCatalog) -> FileModel | None:
    """The model of ``proto_file``, or ``None`` when it defines no service."""
    file = index.files[proto_file]
    if not file.service:
        return None
    declarations = Declarations(proto_file, catalog)
    file_plugins = tuple(
        declarations.add(p, FILE_PLUGINS, "", set())
        for p in file.options.Extensions[toolkit.plugins]
    )
    services = tuple(
        _service(index, file, position, declarations, {p.prefix for p in file_plugins})
        for position in range(len(file.service))
    )
    return FileModel(
        proto_file,
        file_plugins,
        services,
        _clients(index, file),
        mocks=file.options.HasExtension(toolkit.tests_spec),
    )


def _service(
    index: DescriptorIndex,
    file: descriptor_pb2.FileDescriptorProto,
    position: int,
    declarations: Declarations,
    in_scope: set[str],
) -> Service:
    descriptor = file.service[position]
    where = f"service {descriptor.name}"
    options = descriptor.options
    runtime = options.Extensions[toolkit.runtime]
    own = tuple(declarations.add(p, SERVICE_PLUGINS, where, in_scope) for p in runtime.plugins)
    full_name = f"{file.package}.{descriptor.name}" if file.package else descriptor.name
    methods = tuple(
        _method(index, file.name, (descriptor.name, full_name), method, position=(position, number))
        for number, method in enumerate(descriptor.method)
    )
    _check_handlers(file.name, descriptor.name, methods)
    return Service(
        name=descriptor.name,
        full_name=full_name,
        servers=tuple(dict.fromkeys(toolkit.Runtime.Server.Name(s) for s in runtime.servers)),
        middlewares=tuple(options.Extensions[toolkit.server].middlewares),
        plugins=own,
        methods=methods,
        comment=index.service_comment(file.name, position),
    )


def _method(
    index: DescriptorIndex,
    proto_file: str,
    service: tuple[str, str],
    method: descriptor_pb2.MethodDescriptorProto,
    *,
    position: tuple[int, int] | None,
) -> Method:
    """One method of ``service`` (its name and full name)."""
    name, full_name = service
    where = f"method {name}.{method.name}"
    request, response = index.message(method.input_type), index.message(method.output_type)
    options = method.options
    rules: tuple[HttpRule, ...] = ()
    if options.HasExtension(_GOOGLE_API_HTTP):
        try:
            rules = rules_of(options.Extensions[_GOOGLE_API_HTTP], request, response, index)
        except (RuleError, PathTemplateError) as error:
            raise HttpRuleError(proto_file, "(google.api.http)", str(error), where=where) from None
    route = options.Extensions[toolkit.route]
    kind = route.WhichOneof("server")
    websocket = kind == "websocket" and route.websocket
    if websocket and not any(rule.method == "GET" for rule in rules):
        raise HttpRuleError(
            proto_file,
            "(toolkit.route).websocket",
            "a WebSocket method needs the path it is reached at: "
            'option (google.api.http) = { get: "/path" }',
            where=where,
        )
    http_proxy = websocket_proxy = None
    if kind == "http_proxy":
        http_proxy = _proxy(proto_file, where, kind, route.http_proxy)
        if not rules:
            raise HttpRuleError(
                proto_file,
                "(toolkit.route).http_proxy",
                "an HTTP proxy method needs its route: option (google.api.http)",
                where=where,
            )
    elif kind == "websocket_proxy":
        websocket_proxy = _proxy(proto_file, where, kind, route.websocket_proxy)
    return Method(
        name=method.name,
        grpc_path=f"/{full_name}/{method.name}",
        request=request,
        response=response,
        client_streaming=method.client_streaming,
        server_streaming=method.server_streaming,
        rules=rules,
        middlewares=tuple(route.middlewares),
        exclude_global_middlewares=tuple(route.exclude_global_middlewares),
        websocket=websocket,
        http_proxy=http_proxy,
        websocket_proxy=websocket_proxy,
        comment=index.method_comment(proto_file, *position) if position else "",
    )


def _check_handlers(proto_file: str, service: str, methods: tuple[Method, ...]) -> None:
    seen: dict[str, str] = {}
    for method in methods:
        earlier = seen.setdefault(method.handler, method.name)
        if earlier != method.name:
            raise CodegenError(
                proto_file,
                "",
                f"methods {earlier} and {method.name} are both {method.handler} in Python; "
                "rename one",
                where=f"service {service}",
            )


def _proxy(
    proto_file: str, where: str, field: str, target: toolkit.HttpProxy | toolkit.WsProxy
) -> tuple[str, str]:
    if not target.service or not _GRPC_PATH.fullmatch(target.method):
        raise CodegenError(
            proto_file,
            f"(toolkit.route).{field}",
            "needs the service and its full gRPC method, e.g. "
            '{service: "helloworld" method: "/helloworld.Greeter/SayHello"}; '
            f'got service "{target.service}" method "{target.method}"',
            where=where,
        )
    return target.service, target.method


def _clients(
    index: DescriptorIndex, file: descriptor_pb2.FileDescriptorProto
) -> tuple[Client, ...]:
    clients: dict[str, Client] = {}
    for declared in file.options.Extensions[toolkit.services]:
        if declared.service in clients:
            continue
        target = _find_service(index, declared.service)
        if target is None:
            known = ", ".join(sorted(s.full_name for s in index.services)) or "none"
            raise UnknownServiceError(
                file.name,
                SERVICES,
                f'service "{declared.service}" matches no service of this file or its '
                "imports (by full name, by name, or by the package holding one service); "
                f"import its .proto file; known services: {known}",
            )
        methods = tuple(
            _method(
                index,
                target.proto_file,
                (target.descriptor.name, target.full_name),
                m,
                position=None,
            )
            for m in target.descriptor.method
        )
        clients[declared.service] = Client(
            declared.service, target.full_name, tuple(m for m in methods if not m.websocket)
        )
    return tuple(clients.values())


def _find_service(index: DescriptorIndex, name: str) -> ServiceInfo | None:
    # The Go toolkit names a client by the service's deployment name, which
    # usually is its package ("helloworld") or its proto name.
    services = index.services
    for match in (
        lambda s: s.full_name == name,
        lambda s: _key(s.descriptor.name) == _key(name),
        lambda s: _key(s.package.rpartition(".")[2]) == _key(name) or _key(s.package) == _key(name),
    ):
        found = [s for s in services if match(s)]
        if len(found) == 1:
            return found[0]
    return None


def _key(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())
