"""protoc from grpcio-tools, run inside this process (no download, no subprocess)."""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from lbtoolkit.codegen._errors import ProtocError

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

__all__ = ["run_protoc"]


def run_protoc(arguments: Sequence[str]) -> str:
    """Run protoc with ``arguments``; return its warnings, raise ``ProtocError``.

    The compiler module is used directly: importing ``grpc_tools.protoc`` would
    install import hooks that compile any ``.proto`` on ``sys.path``.
    """
    compiler: Any = importlib.import_module("grpc_tools._protoc_compiler")
    captured: list[str] = []
    with _captured_stderr(captured):
        code = compiler.run_main([b"protoc", *(a.encode() for a in arguments)])
    messages = "".join(captured)
    if code != 0:
        raise ProtocError(messages or f"protoc exited with status {code}")
    return messages


@contextmanager
def _captured_stderr(into: list[str]) -> Iterator[None]:
    # protoc writes its diagnostics to file descriptor 2 from C++, which
    # sys.stderr redirection cannot see; swap the descriptor itself.
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as buffer:
        os.dup2(buffer.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            buffer.seek(0)
            into.append(buffer.read().decode(errors="replace"))
