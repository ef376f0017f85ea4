"""``lbtoolkit generate``: what it writes, what it prints, how it fails."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from lbtoolkit.cli import app
from tests.codegen.support import GO_PROTOS, GOEXAMPLES, GUIDE, GUIDE_SITE, PLUGIN_SITE, PROTOS

if TYPE_CHECKING:
    from pathlib import Path

runner = CliRunner()
HELLO = """syntax = "proto3";
package hello;
import "google/api/annotations.proto";
service Greeter {
  rpc SayHello(HelloRequest) returns (HelloReply) {
    option (google.api.http) = {get: "/hello/{name}"};
  }
}
message HelloRequest { string name = 1; }
message HelloReply { string message = 1; }
"""


@pytest.fixture(autouse=True)
def _plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(PLUGIN_SITE))


def test_generate_writes_an_importable_package(tmp_path: Path) -> None:
    out = tmp_path / "gen"
    result = runner.invoke(
        app, ["generate", "-I", str(PROTOS), "-o", str(out), str(GUIDE / "myplugin.proto")]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"  created {out}/__init__.py",
        f"  created {out}/guide/__init__.py",
        f"  created {out}/guide/myplugin_pb2.py",
        f"  created {out}/guide/myplugin_pb2.pyi",
        f"  created {out}/guide/myplugin_pb2_grpc.py",
        f"  created {out}/guide/myplugin_toolkit.py",
        f"6 file(s) written, 0 unchanged in {out}",
    ]
    toolkit = (out / "guide/myplugin_toolkit.py").read_text(encoding="utf-8")
    assert "import myplugin\n" in toolkit
    assert "class MypluginPlugin(myplugin.Plugin, Protocol):" in toolkit


def test_generate_again_changes_nothing(tmp_path: Path) -> None:
    arguments = [
        "generate",
        "-I",
        str(PROTOS),
        "-o",
        str(tmp_path / "gen"),
        str(GUIDE / "myplugin.proto"),
    ]
    runner.invoke(app, arguments)
    before = {p: p.read_bytes() for p in (tmp_path / "gen").rglob("*") if p.is_file()}
    result = runner.invoke(app, arguments)
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == f"0 file(s) written, 6 unchanged in {tmp_path / 'gen'}"
    assert all(line.startswith("unchanged ") for line in result.stdout.splitlines()[:-1])
    after = {p: p.read_bytes() for p in (tmp_path / "gen").rglob("*") if p.is_file()}
    assert after == before


def test_a_changed_proto_updates_its_modules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hello.proto").write_text(HELLO, encoding="utf-8")
    assert runner.invoke(app, ["generate", "hello.proto"]).exit_code == 0
    (tmp_path / "hello.proto").write_text(HELLO.replace("/hello/{name}", "/hi/{name}"))
    result = runner.invoke(app, ["generate", "hello.proto"])
    assert "  updated gen/hello_toolkit.py" in result.stdout.splitlines()
    assert "unchanged gen/__init__.py" in result.stdout.splitlines()


def test_defaults_are_the_current_directory_and_gen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hello.proto").write_text(HELLO, encoding="utf-8")
    result = runner.invoke(app, ["generate", "hello.proto"])
    assert result.exit_code == 0, result.output
    written = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "gen").iterdir())
    assert written == [
        "gen/__init__.py",
        "gen/hello_pb2.py",
        "gen/hello_pb2.pyi",
        "gen/hello_pb2_grpc.py",
        "gen/hello_toolkit.py",
    ]


def test_an_existing_init_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hello.proto").write_text(HELLO, encoding="utf-8")
    (tmp_path / "gen").mkdir()
    (tmp_path / "gen/__init__.py").write_text('"""My generated code."""\n')
    runner.invoke(app, ["generate", "hello.proto"])
    assert (tmp_path / "gen/__init__.py").read_text() == '"""My generated code."""\n'


def test_errors_name_the_file_and_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.proto").write_text(
        'syntax = "proto3";\npackage bad;\nimport "toolkit/options/annotations.proto";\n'
        'option (toolkit.plugins) = {prefix: "db" plugin: "nosuch"};\nservice S {}\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["generate", "bad.proto"])
    assert result.exit_code == 1
    assert result.stderr.startswith(
        'error: bad.proto: option (toolkit.plugins): plugin "nosuch" not found; installed plugins: '
    )
    assert "fakesql" in result.stderr
    assert "a plugin is found through the entry point group lbtoolkit.plugins" in result.stderr
    assert not (tmp_path / "gen").exists()


def test_protoc_errors_exit_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken.proto").write_text('syntax = "proto3";\nimport "missing.proto";\n')
    result = runner.invoke(app, ["generate", "broken.proto"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: protoc failed:\nmissing.proto: File not found.")


def test_go_examples_generate_with_protoc_warnings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(GUIDE_SITE))
    tree = tmp_path / "apis"
    shutil.copytree(GOEXAMPLES, tree)
    protos = [str(tree / p.relative_to(GOEXAMPLES)) for p in GO_PROTOS]
    result = runner.invoke(app, ["generate", "-I", str(tree), "-o", str(tmp_path / "gen"), *protos])
    assert result.exit_code == 0, result.output
    assert "warning: Import helloworld/apis/helloworld.proto is unused." in result.stderr
    assert (tmp_path / "gen/service/apis/example_toolkit_mocks.py").is_file()


def test_help_lists_generate() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "generate" in result.stdout
