"""``lbtoolkit generate``: protoc's Python output plus the toolkit modules, as a package.

protoc runs twice in this process: once to read every file into one
descriptor set (with source info, for comments), once to run the stock
Python, stub and gRPC generators from that set. Between the two, the
protoc-gen-validate rules of the local files are rewritten as protovalidate
rules (see ``_validation``), so the ``_pb2`` modules carry what the servers
check. The toolkit generator runs on a ``CodeGeneratorRequest`` built from
the same set, with no plugin process.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2

from lbtoolkit.codegen._generator import generate
from lbtoolkit.codegen._imports import ModuleMap, fix_imports
from lbtoolkit.codegen._protoc import run_protoc
from lbtoolkit.codegen._validation import translate_files
from lbtoolkit.proto import SHIPPED_MODULES, descriptor_set, include_paths, protoc_module

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

__all__ = ["GenerateResult", "GeneratedFile", "generate_package"]

# protoc's own output: its stubs and gRPC modules break rules of strict
# linters and type checkers that their users need not follow.
_PROTOC_HEADERS = {
    ".py": "# ruff: noqa\n",
    ".pyi": "# ruff: noqa\n# mypy: ignore-errors\n",
    "_grpc.py": "# ruff: noqa\n# mypy: ignore-errors\n",
}


@dataclass(frozen=True, slots=True)
class GeneratedFile:
    path: Path
    status: str  # "created", "updated" or "unchanged"


@dataclass(frozen=True, slots=True)
class GenerateResult:
    files: tuple[GeneratedFile, ...]
    warnings: str

    @property
    def changed(self) -> tuple[GeneratedFile, ...]:
        return tuple(f for f in self.files if f.status != "unchanged")


def generate_package(
    protos: Sequence[Path],
    *,
    include: Sequence[Path] = (),
    out: Path = Path("gen"),
    plugins: Mapping[str, str] | None = None,
) -> GenerateResult:
    """Generate ``protos`` (and the files of theirs they import) into ``out``.

    ``include`` are the user's ``-I`` directories (default: the current one);
    the shipped include tree comes first, so the toolkit options, googleapis
    and validate always resolve to the modules the generated code imports.
    """
    shipped = include_paths()
    includes = [*shipped, *(include or [Path()])]
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        provided = descriptor_set()
        (work / "provided.pb").write_bytes(provided.SerializeToString())
        warnings = run_protoc(
            [
                *(f"-I{path}" for path in includes),
                f"--descriptor_set_in={work / 'provided.pb'}",
                f"--descriptor_set_out={work / 'all.pb'}",
                "--include_imports",
                "--include_source_info",
                *(str(p) for p in protos),
            ]
        )
        everything = descriptor_pb2.FileDescriptorSet.FromString((work / "all.pb").read_bytes())
        given = {f.name for f in provided.file}
        local = [
            f.name
            for f in everything.file
            if f.name not in given and not any((d / f.name).is_file() for d in shipped)
        ]
        if translate_files(everything.file, local):
            (work / "all.pb").write_bytes(everything.SerializeToString())
        (work / "py").mkdir()
        warnings += run_protoc(
            [
                f"--descriptor_set_in={work / 'all.pb'}",
                f"--python_out={work / 'py'}",
                f"--pyi_out={work / 'py'}",
                f"--grpc_python_out={work / 'py'}",
                *local,
            ]
        )
        outputs = _stock_outputs(work / "py", local)
    request = plugin_pb2.CodeGeneratorRequest(file_to_generate=local, proto_file=everything.file)
    response = generate(request, plugins=plugins)
    outputs.update({f.name: f.content for f in response.file})
    return GenerateResult(_write(out, outputs), warnings)


def _stock_outputs(root: Path, local: Iterable[str]) -> dict[str, str]:
    modules = ModuleMap(
        shipped={protoc_module(name): module for name, module in SHIPPED_MODULES.items()},
        local=frozenset(protoc_module(name) for name in local),
    )
    outputs: dict[str, str] = {}
    for path in sorted(root.rglob("*.py*")):
        relative = path.relative_to(root).as_posix()
        module = relative.rpartition(".")[0].replace("/", ".")
        text = fix_imports(
            path.read_text(encoding="utf-8"), module, modules, stub=path.suffix == ".pyi"
        )
        header = _PROTOC_HEADERS["_grpc.py" if relative.endswith("_grpc.py") else path.suffix]
        outputs[relative] = header + text
    return outputs


def _write(out: Path, outputs: Mapping[str, str]) -> tuple[GeneratedFile, ...]:
    files = dict(outputs)
    # Every directory becomes a package; an __init__.py already there stays.
    for relative in list(outputs):
        parent = Path(relative).parent
        for directory in (parent, *parent.parents):
            init = (directory / "__init__.py").as_posix()
            files.setdefault(init, "")
    written: list[GeneratedFile] = []
    for relative in sorted(files):
        path = out / relative
        text = files[relative]
        if path.is_file():
            if relative.endswith("__init__.py") and relative not in outputs:
                written.append(GeneratedFile(path, "unchanged"))
                continue
            if path.read_text(encoding="utf-8") == text:
                written.append(GeneratedFile(path, "unchanged"))
                continue
            status = "updated"
        else:
            status = "created"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(GeneratedFile(path, status))
    return tuple(written)
