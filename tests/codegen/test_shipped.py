"""The shipped include tree and the option modules compiled from it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lbtoolkit.codegen._protoc import run_protoc
from lbtoolkit.codegen._shipped import build_shipped
from lbtoolkit.proto import (
    GO_OPTIONS_PROTO,
    OPTIONS_PROTO,
    PROTO_ROOT,
    descriptor_set,
    include_paths,
)
from lbtoolkit.proto.toolkit.options import annotations_pb2, go_annotations_pb2
from lbtoolkit.proto.validate import validate_pb2

if TYPE_CHECKING:
    from pathlib import Path


def test_checked_in_modules_are_fresh() -> None:
    # Fails after a change of a shipped .proto, grpcio-tools, mypy-protobuf or
    # protoc-gen-validate: run ``python -m lbtoolkit.codegen._shipped``.
    for relative, text in build_shipped().items():
        assert (PROTO_ROOT / relative).read_text(encoding="utf-8") == text, relative


def test_options_match_the_go_toolkit() -> None:
    numbers = {
        name: getattr(annotations_pb2, name).number
        for name in ("plugins", "services", "tests_spec", "runtime", "server", "route")
    }
    assert numbers == {
        "plugins": 50001,
        "services": 50002,
        "tests_spec": 50004,
        "runtime": 70001,
        "server": 70002,
        "route": 60001,
    }
    assert annotations_pb2.DESCRIPTOR.package == "toolkit"
    servers = annotations_pb2.Runtime.Server
    assert [(n, servers.Value(n)) for n in servers.keys()] == [  # noqa: SIM118 - an enum wrapper
        ("GRPC", 0),
        ("HTTP", 1),
        ("WEBSOCKET_PROXY", 2),
        ("WEBSOCKET", 3),
    ]
    route = annotations_pb2.Route.DESCRIPTOR
    assert [f.name for f in route.oneofs_by_name["server"].fields] == [
        "http_proxy",
        "websocket_proxy",
        "websocket",
    ]


def test_go_import_path_names_the_same_options() -> None:
    assert go_annotations_pb2.DESCRIPTOR.name == GO_OPTIONS_PROTO
    assert [d.name for d in go_annotations_pb2.DESCRIPTOR.public_dependencies] == [OPTIONS_PROTO]
    assert go_annotations_pb2.Plugin is annotations_pb2.Plugin
    assert go_annotations_pb2.plugins is annotations_pb2.plugins
    assert validate_pb2.DESCRIPTOR.name == "validate/validate.proto"


def test_include_tree_resolves_every_import_of_the_go_examples(tmp_path: Path) -> None:
    (tmp_path / "all.proto").write_text(
        """
        syntax = "proto3";
        package all;
        import "toolkit/options/annotations.proto";
        import "{go_options}";
        import "google/api/annotations.proto";
        import "google/api/http.proto";
        import "validate/validate.proto";
        import "protoc-gen-openapiv2/options/annotations.proto";
        message Thing { string id = 1 [(validate.rules).string.min_len = 1]; }
        """.replace("{go_options}", GO_OPTIONS_PROTO),
        encoding="utf-8",
    )
    (tmp_path / "in.pb").write_bytes(descriptor_set().SerializeToString())
    run_protoc(
        [
            *(f"-I{path}" for path in (*include_paths(), tmp_path)),
            f"--descriptor_set_in={tmp_path / 'in.pb'}",
            f"--descriptor_set_out={tmp_path / 'out.pb'}",
            "--include_imports",
            str(tmp_path / "all.proto"),
        ]
    )
    assert (tmp_path / "out.pb").stat().st_size > 0


def test_descriptor_set_holds_the_compiled_only_protos() -> None:
    names = [f.name for f in descriptor_set().file]
    assert names == [
        "validate/validate.proto",
        "buf/validate/validate.proto",
        "protoc-gen-openapiv2/options/openapiv2.proto",
        "protoc-gen-openapiv2/options/annotations.proto",
    ]
