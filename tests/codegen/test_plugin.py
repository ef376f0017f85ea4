"""``protoc-gen-lbtoolkit``: the same generator behind protoc's plugin protocol."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from typing import TYPE_CHECKING

from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2

from lbtoolkit.codegen._protoc import run_protoc
from lbtoolkit.codegen.plugin import run
from lbtoolkit.proto import descriptor_set, include_paths
from tests.codegen.support import GUIDE, PROTOS, SRC, generate

if TYPE_CHECKING:
    from pathlib import Path


def request_for(
    tmp_path: Path, proto: Path, root: Path = PROTOS
) -> plugin_pb2.CodeGeneratorRequest:
    """The request protoc would send for ``proto`` (found under ``root``)."""
    (tmp_path / "in.pb").write_bytes(descriptor_set().SerializeToString())
    run_protoc(
        [
            *(f"-I{path}" for path in (*include_paths(), root)),
            f"--descriptor_set_in={tmp_path / 'in.pb'}",
            f"--descriptor_set_out={tmp_path / 'all.pb'}",
            "--include_imports",
            "--include_source_info",
            str(proto),
        ]
    )
    files = descriptor_pb2.FileDescriptorSet.FromString((tmp_path / "all.pb").read_bytes()).file
    name = proto.relative_to(root).as_posix()
    return plugin_pb2.CodeGeneratorRequest(file_to_generate=[name], proto_file=files)


def test_plugin_answers_like_generate(tmp_path: Path, guide_plugins: None) -> None:
    request = request_for(tmp_path, GUIDE / "multi_instance.proto")
    response = plugin_pb2.CodeGeneratorResponse.FromString(run(request.SerializeToString()))
    assert not response.error
    (file,) = response.file
    assert file.name == "guide/multi_instance_toolkit.py"
    expected = generate(tmp_path / "gen", [GUIDE / "multi_instance.proto"], [PROTOS])
    assert file.content == expected["guide/multi_instance_toolkit.py"]


def test_plugin_reports_errors_in_the_response(tmp_path: Path) -> None:
    (tmp_path / "bad.proto").write_text(
        'syntax = "proto3";\npackage bad;\n'
        'import "toolkit/options/annotations.proto";\n'
        'option (toolkit.plugins) = {prefix: "x" plugin: "no_such_plugin"};\n'
        "service S {}\n",
        encoding="utf-8",
    )
    request = request_for(tmp_path, tmp_path / "bad.proto", root=tmp_path)
    response = plugin_pb2.CodeGeneratorResponse.FromString(run(request.SerializeToString()))
    assert response.error.startswith(
        'bad.proto: option (toolkit.plugins): plugin "no_such_plugin" not found'
    )
    assert not response.file


def test_protoc_runs_the_plugin_executable(tmp_path: Path, guide_plugins: None) -> None:
    # A wrapper like the console script pip installs for protoc-gen-lbtoolkit.
    executable = tmp_path / "protoc-gen-lbtoolkit"
    executable.write_text(
        f"#!{sys.executable}\nfrom lbtoolkit.codegen.plugin import main\nmain()\n",
        encoding="utf-8",
    )
    executable.chmod(executable.stat().st_mode | stat.S_IEXEC)
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "in.pb").write_bytes(descriptor_set().SerializeToString())
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            *(f"-I{path}" for path in (*include_paths(), PROTOS)),
            f"--descriptor_set_in={tmp_path / 'in.pb'}",
            f"--plugin=protoc-gen-lbtoolkit={executable}",
            f"--lbtoolkit_out={out}",
            str(GUIDE / "file_level.proto"),
        ],
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), *sys.path])},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    expected = generate(tmp_path / "gen", [GUIDE / "file_level.proto"], [PROTOS])
    written = (out / "guide/file_level_toolkit.py").read_text(encoding="utf-8")
    assert written == expected["guide/file_level_toolkit.py"]
