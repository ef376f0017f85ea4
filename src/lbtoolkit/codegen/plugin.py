"""``protoc-gen-lbtoolkit``: the generator as a protoc plugin.

``protoc --lbtoolkit_out=gen ...`` writes ``<file>_toolkit.py`` beside the
``_pb2`` modules; the generated module imports them relatively, so the output
directory must be a package (``lbtoolkit generate`` also fixes the stock
generators' imports to match).

protoc-gen-validate rules are refused here: protovalidate reads only
``buf.validate`` rules, and a plugin cannot change the descriptors protoc's
own Python output embeds, so they would never be checked.
``lbtoolkit generate`` translates them.
"""

from __future__ import annotations

import sys

from google.protobuf.compiler import plugin_pb2

from lbtoolkit.codegen._errors import CodegenError, ValidationNeedsGenerateError
from lbtoolkit.codegen._generator import generate
from lbtoolkit.codegen._validation import pgv_rules_of

__all__ = ["main", "run"]


def run(data: bytes) -> bytes:
    """Answer a serialized ``CodeGeneratorRequest`` with a serialized response."""
    # Parsed after importing the generator, which registers the option
    # extensions, so the options in the request are read as known fields.
    request = plugin_pb2.CodeGeneratorRequest.FromString(data)
    try:
        _refuse_pgv_rules(request)
        response = generate(request)
    except CodegenError as error:
        response = plugin_pb2.CodeGeneratorResponse(error=str(error))
    return response.SerializeToString()


def _refuse_pgv_rules(request: plugin_pb2.CodeGeneratorRequest) -> None:
    wanted = set(request.file_to_generate)
    for file in request.proto_file:
        found = pgv_rules_of(file) if file.name in wanted else []
        if found:
            first = found[0]
            more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
            raise ValidationNeedsGenerateError(
                file.name,
                first.option,
                f"protoc-gen-validate rules{more} are not checked when generating through "
                "protoc-gen-lbtoolkit: run `lbtoolkit generate`, which translates them into "
                "buf.validate rules, or write them as (buf.validate.field) rules",
                where=first.element,
            )


def main() -> None:
    sys.stdout.buffer.write(run(sys.stdin.buffer.read()))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
