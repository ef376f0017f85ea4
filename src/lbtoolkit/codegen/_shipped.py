"""Compile the shipped option protos into the modules checked in beside them.

Run ``python -m lbtoolkit.codegen._shipped`` after changing a shipped
``.proto`` or upgrading grpcio-tools, protoc-gen-validate or protovalidate; a
test fails while the checked-in modules differ from what this produces.

protovalidate ships ``buf/validate/validate.proto`` only as the serialized
descriptor inside its own (protobuf-py) module; that descriptor is read out of
the module's source, never retyped, and compiled like the other files.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import re
import shutil
import sys
import tempfile
from pathlib import Path

from google.protobuf import descriptor_pb2

from lbtoolkit.codegen._imports import ModuleMap, fix_imports
from lbtoolkit.codegen._protoc import run_protoc
from lbtoolkit.proto import (
    BUF_VALIDATE_PROTO,
    PROTO_ROOT,
    SHIPPED_MODULES,
    VALIDATE_PROTO,
    protoc_module,
)
from lbtoolkit.proto._includes import include_paths

__all__ = ["buf_validate_descriptor", "build_shipped", "main"]

# The checked-in modules are generated text: the formatter keeps off, and the
# lint rules protoc's and mypy-protobuf's output breaks are named per file (a
# blanket ``noqa`` is itself a finding, and so is a code that does not fire).
_PROTOC_CODES = "E402, E501, ERA001, F401, I001, Q000, SLF001"
_STUB_CODES = "E501, I001, N802, PYI021, SLF001, UP035, UP036"
_LINT_CODES = {
    "toolkit/options/annotations_pb2.py": _PROTOC_CODES + ", Q004",
    "toolkit/options/annotations_pb2.pyi": _STUB_CODES,
    "toolkit/options/go_annotations_pb2.py": _PROTOC_CODES + ", F403",
    "toolkit/options/go_annotations_pb2.pyi": "I001, PYI021",
    "validate/validate_pb2.py": _PROTOC_CODES + ", Q004",
    "validate/validate_pb2.pyi": _STUB_CODES,
    "buf/validate/validate_pb2.py": _PROTOC_CODES + ", Q004",
    "buf/validate/validate_pb2.pyi": _STUB_CODES,
}
# mypy-protobuf marks lines for flake8-pyi, whose codes ruff does not know.
_FLAKE8_PYI_NOQA = re.compile(r"  # noqa: Y\d+")


def build_shipped() -> dict[str, str]:
    """The compiled modules: path relative to ``lbtoolkit/proto`` -> text."""
    modules = ModuleMap(
        shipped={protoc_module(name): module for name, module in SHIPPED_MODULES.items()}
    )
    with tempfile.TemporaryDirectory() as scratch:
        sources, out = Path(scratch, "src"), Path(scratch, "out")
        (sources / "validate").mkdir(parents=True)
        out.mkdir()
        shutil.copyfile(_installed_validate_proto(), sources / VALIDATE_PROTO)
        buf_validate = Path(scratch, "buf_validate.pb")
        buf_validate.write_bytes(
            descriptor_pb2.FileDescriptorSet(file=[buf_validate_descriptor()]).SerializeToString()
        )
        well_known = include_paths()[1]
        run_protoc(
            [
                f"-I{PROTO_ROOT}",
                f"-I{sources}",
                f"-I{well_known}",
                f"--descriptor_set_in={buf_validate}",
                f"--python_out={out}",
                # mypy-protobuf's stubs type the extensions, which the
                # generator reads, and pass ``mypy --strict``.
                f"--plugin=protoc-gen-mypy={_mypy_plugin()}",
                f"--mypy_out={out}",
                *SHIPPED_MODULES,
            ]
        )
        result: dict[str, str] = {}
        for name, module in SHIPPED_MODULES.items():
            written = out / protoc_module(name).replace(".", "/")
            target = module.removeprefix("lbtoolkit.proto.").replace(".", "/")
            for suffix in (".py", ".pyi"):
                text = Path(f"{written}{suffix}").read_text(encoding="utf-8")
                fixed = fix_imports(text, protoc_module(name), modules, stub=suffix == ".pyi")
                path = target + suffix
                header = f"# ruff: noqa: {_LINT_CODES[path]}\n# fmt: off\n"
                result[path] = header + _FLAKE8_PYI_NOQA.sub("", fixed)
    return result


def buf_validate_descriptor() -> descriptor_pb2.FileDescriptorProto:
    """``buf/validate/validate.proto`` as protovalidate's installed module embeds it."""
    spec = importlib.util.find_spec("protovalidate")
    if spec is None or not spec.submodule_search_locations:
        msg = "protovalidate is not installed"
        raise FileNotFoundError(msg)
    module = Path(next(iter(spec.submodule_search_locations)), "_gen/buf/validate/validate_pb.py")
    # Read as source, not imported: the module belongs to protobuf-py, whose
    # descriptor objects google.protobuf cannot take.
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "file_desc"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, bytes)
        ):
            found = descriptor_pb2.FileDescriptorProto.FromString(node.args[0].value)
            if found.name == BUF_VALIDATE_PROTO:
                return found
    msg = f"{module} holds no serialized {BUF_VALIDATE_PROTO}"
    raise FileNotFoundError(msg)


def _installed_validate_proto() -> Path:
    # protoc-gen-validate installs validate.proto as data, outside any package.
    for file in importlib.metadata.files("protoc-gen-validate") or ():
        if file.name == "validate.proto":
            return Path(str(file.locate()))
    msg = "protoc-gen-validate does not ship validate.proto"
    raise FileNotFoundError(msg)


def _mypy_plugin() -> str:
    beside = Path(sys.executable).with_name("protoc-gen-mypy")
    found = str(beside) if beside.is_file() else shutil.which("protoc-gen-mypy")
    if found is None:
        msg = "protoc-gen-mypy not found: install mypy-protobuf (the test extra has it)"
        raise FileNotFoundError(msg)
    return found


def main() -> None:
    for relative, text in sorted(build_shipped().items()):
        path = PROTO_ROOT / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")  # noqa: T201 - a maintainer's script reports what it wrote


if __name__ == "__main__":
    main()
