"""``lbtoolkit add plugin`` and ``lbtoolkit add method``: edit the .proto, then regenerate."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lbtoolkit.cli._common import fail, project_settings, say

if TYPE_CHECKING:
    from collections.abc import Callable

    from lbtoolkit.cli._common import ProjectSettings

__all__ = ["add_app"]

add_app = typer.Typer(
    name="add",
    help="Add a plugin or a method to the service's .proto file, then regenerate.",
    no_args_is_help=True,
)

_ProtoOption = Annotated[
    Path | None,
    typer.Option(
        "--proto",
        metavar="FILE",
        help="The .proto file edited (default: the one listed in pyproject.toml).",
    ),
]
_ServiceOption = Annotated[
    str | None,
    typer.Option("--service", metavar="S", help="The service of the file the edit is for."),
]
_NoGenerate = Annotated[
    bool,
    typer.Option("--no-generate", help="Edit the .proto file only; do not regenerate."),
]


@add_app.command("plugin")
def add_plugin_command(
    plugin: Annotated[str, typer.Argument(metavar="NAME", help="An installed plugin, e.g. redis.")],
    *,
    prefix: Annotated[
        str,
        typer.Option("--prefix", metavar="P", help="The instance's name and variable prefix."),
    ],
    service: _ServiceOption = None,
    proto: _ProtoOption = None,
    no_generate: _NoGenerate = False,
) -> None:
    """Declare a plugin instance for the whole file, or with --service for one service.

    Inserted at the `// +lbtoolkit:plugins` marker (file level) or at the
    `// +lbtoolkit:service-plugins` marker inside the service's runtime option.
    """
    from lbtoolkit.cli._proto_edit import add_plugin  # noqa: PLC0415 - keeps --help light
    from lbtoolkit.codegen._plugins import PluginCatalog  # noqa: PLC0415

    installed = PluginCatalog().names()
    if plugin not in installed:
        fail(f'unknown plugin "{plugin}"; installed plugins: {", ".join(installed) or "none"}')
    _edit(
        proto,
        lambda text, name: add_plugin(text, name, prefix, plugin, service),
        f'plugin "{prefix}" ({plugin})',
        generate=not no_generate,
    )


@add_app.command("method")
def add_method_command(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The RPC's name, in CamelCase.")],
    *,
    http: Annotated[
        str | None,
        typer.Option("--http", metavar="VERB:/path", help="An HTTP binding, e.g. POST:/v1/orders."),
    ] = None,
    ws: Annotated[
        str | None,
        typer.Option("--ws", metavar="/path", help="A WebSocket method reached at this path."),
    ] = None,
    proxy: Annotated[
        str | None,
        typer.Option(
            "--proxy",
            metavar="SERVICE:/pkg.Svc/Method",
            help="Forward the --http or --ws route to another service's gRPC method.",
        ),
    ] = None,
    service: _ServiceOption = None,
    proto: _ProtoOption = None,
    no_generate: _NoGenerate = False,
) -> None:
    """Add an RPC with empty NAMERequest and NAMEResponse messages.

    Inserted at the `// +lbtoolkit:methods` and `// +lbtoolkit:messages` markers.
    """
    from lbtoolkit.cli._proto_edit import (  # noqa: PLC0415 - keeps --help light
        MethodRequest,
        ProtoEditError,
        add_method,
        parse_http,
        parse_proxy,
    )

    try:
        request = MethodRequest(
            name,
            http=parse_http(http) if http is not None else None,
            websocket=ws,
            proxy=parse_proxy(proxy) if proxy is not None else None,
        )
    except ProtoEditError as error:
        fail(str(error))
    _edit(
        proto,
        lambda text, file: add_method(text, file, request, service),
        f"method {name}",
        generate=not no_generate,
    )


def _edit(
    proto: Path | None, change: Callable[[str, str], str], what: str, *, generate: bool
) -> None:
    """Apply ``change``; replace the file only when the result generates cleanly."""
    from lbtoolkit.cli._proto_edit import ProtoEditError  # noqa: PLC0415
    from lbtoolkit.codegen import CodegenError, ProtocError, generate_package  # noqa: PLC0415

    settings = project_settings()
    target = _target(proto, settings)
    include = _includes(target, settings)
    if generate and settings is None:
        fail(
            f"{target}: no [tool.lbtoolkit] table in a pyproject.toml above it says where to "
            "generate; add one (protos, include, out) or pass --no-generate"
        )
    original = target.read_bytes()
    try:
        edited = change(original.decode("utf-8"), str(target))
    except ProtoEditError as error:
        fail(str(error))
    except UnicodeDecodeError as error:
        fail(f"{target}: not UTF-8 text ({error})")
    with tempfile.TemporaryDirectory(prefix="lbtoolkit-add-") as scratch:
        work = Path(scratch)
        # Same file name in a directory searched first: imports of it resolve to the edit.
        trial = work / "protos" / _virtual_name(target, include)
        trial.parent.mkdir(parents=True)
        trial.write_text(edited, encoding="utf-8")
        try:
            generate_package([trial], include=[work / "protos", *include], out=work / "gen")
        except (CodegenError, ProtocError) as error:
            shown = str(error).replace(str(work / "protos") + os.sep, "")
            fail(f"{target}: adding {what} would break the file, left unchanged: {shown}")
    _replace(target, edited)
    say(f"added {what} to {target}")
    if generate and settings is not None:
        try:
            result = generate_package(
                list(settings.protos), include=list(settings.include), out=settings.out
            )
        except (CodegenError, ProtocError) as error:
            fail(f"generate: {error}")
        say(f"{len(result.changed)} file(s) regenerated in {settings.out}")


def _target(proto: Path | None, settings: ProjectSettings | None) -> Path:
    if proto is not None:
        if not proto.is_file():
            fail(f"--proto {proto}: no such file")
        return proto
    if settings is None or not settings.protos:
        fail("which .proto file? pass --proto FILE (no [tool.lbtoolkit] protos in pyproject.toml)")
    if len(settings.protos) > 1:
        names = ", ".join(str(p) for p in settings.protos)
        fail(f"pyproject.toml lists several .proto files ({names}); choose one with --proto")
    found = settings.protos[0]
    if not found.is_file():
        fail(f"{found}: no such file (listed in [tool.lbtoolkit] protos)")
    return found


def _includes(target: Path, settings: ProjectSettings | None) -> list[Path]:
    if settings is not None and settings.include:
        return list(settings.include)
    return [target.parent]


def _virtual_name(target: Path, include: list[Path]) -> str:
    resolved = target.resolve()
    for directory in include:
        if resolved.is_relative_to(directory.resolve()):
            return resolved.relative_to(directory.resolve()).as_posix()
    return target.name


def _replace(target: Path, text: str) -> None:
    """Write beside the file, then rename over it: readers see the old or the new file."""
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        Path(temporary).chmod(target.stat().st_mode & 0o777)
        Path(temporary).replace(target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
