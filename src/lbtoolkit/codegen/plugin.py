"""``protoc-gen-lbtoolkit``: the generator as a protoc plugin.

``protoc --lbtoolkit_out=gen ...`` writes ``<file>_toolkit.py`` beside the
``_pb2`` modules; the generated module imports them relatively, so the output
directory must be a package (``lbtoolkit generate`` also fixes the stock
generators' imports to match).
"""

from __future__ import annotations

import sys

from google.protobuf.compiler import plugin_pb2

from lbtoolkit.codegen._errors import CodegenError
from lbtoolkit.codegen._generator import generate

__all__ = ["main", "run"]


def run(data: bytes) -> bytes:
    """Answer a serialized ``CodeGeneratorRequest`` with a serialized response."""
    # Parsed after importing the generator, which registers the option
    # extensions, so the options in the request are read as known fields.
    request = plugin_pb2.CodeGeneratorRequest.FromString(data)
    try:
        response = generate(request)
    except CodegenError as error:
        response = plugin_pb2.CodeGeneratorResponse(error=str(error))
    return response.SerializeToString()


def main() -> None:
    sys.stdout.buffer.write(run(sys.stdin.buffer.read()))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
