"""What .proto files declare, read without writing anything: for ``lbtoolkit describe``."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from google.protobuf import descriptor_pb2

from lbtoolkit.codegen._build import build_file
from lbtoolkit.codegen._descriptors import DescriptorIndex
from lbtoolkit.codegen._plugins import PluginCatalog
from lbtoolkit.codegen._protoc import run_protoc
from lbtoolkit.proto import descriptor_set, include_paths

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from lbtoolkit.codegen._model import FileModel

__all__ = ["read_models"]


def read_models(
    protos: Sequence[Path],
    *,
    include: Sequence[Path] = (),
    plugins: Mapping[str, str] | None = None,
) -> tuple[FileModel, ...]:
    """The models of ``protos`` (the files given, not their imports) that define services.

    Checked as ``generate_package`` checks them: a bad option raises the same
    ``CodegenError``, a syntax error the same ``ProtocError``.
    """
    shipped = include_paths()
    includes = [*shipped, *(include or [Path()])]
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        (work / "provided.pb").write_bytes(descriptor_set().SerializeToString())
        run_protoc(
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
    index = DescriptorIndex(everything.file)
    catalog = PluginCatalog(plugins)
    given = {_virtual_name(p, includes) for p in protos}
    models = (build_file(index, f.name, catalog) for f in everything.file if f.name in given)
    return tuple(m for m in models if m is not None)


def _virtual_name(proto: Path, includes: Sequence[Path]) -> str:
    """The name protoc gives ``proto``: its path under the first include holding it."""
    resolved = proto.resolve()
    for directory in includes:
        try:
            return resolved.relative_to(directory.resolve()).as_posix()
        except ValueError:
            continue
    return proto.name
