"""The generator both ``protoc-gen-lbtoolkit`` and ``lbtoolkit generate`` run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2

from lbtoolkit.codegen._build import build_file
from lbtoolkit.codegen._descriptors import DescriptorIndex
from lbtoolkit.codegen._openapi import openapi_document, render_document
from lbtoolkit.codegen._plugins import PluginCatalog
from lbtoolkit.codegen._render import render_toolkit
from lbtoolkit.codegen._render_mocks import render_mocks
from lbtoolkit.codegen._scope import generated_module

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["generate"]


def generate(
    request: plugin_pb2.CodeGeneratorRequest, *, plugins: Mapping[str, str] | None = None
) -> plugin_pb2.CodeGeneratorResponse:
    """Generate ``<file>_toolkit.py`` (and its mocks) for each file with a service.

    A file whose services serve HTTP routes also gets ``<file>.openapi.json``,
    which its toolkit module names in each such service's spec.

    ``plugins`` replaces the installed entry points (name -> module). Errors
    (``CodegenError``) propagate; the protoc plugin turns them into the
    response's ``error``.
    """
    catalog = PluginCatalog(plugins)
    index = DescriptorIndex(request.proto_file)
    local = frozenset(request.file_to_generate)
    features = plugin_pb2.CodeGeneratorResponse.Feature
    # Only names, types and options are read, which editions leave as they were.
    response = plugin_pb2.CodeGeneratorResponse(
        supported_features=features.FEATURE_PROTO3_OPTIONAL | features.FEATURE_SUPPORTS_EDITIONS,
        minimum_edition=descriptor_pb2.EDITION_PROTO2,
        maximum_edition=descriptor_pb2.EDITION_2023,
    )
    for proto_file in request.file_to_generate:
        model = build_file(index, proto_file, catalog)
        if model is None:
            continue
        document = openapi_document(index, model)
        documented: dict[str, str] = {}
        if document is not None:
            name = document_path(proto_file)
            response.file.add(name=name, content=render_document(document))
            documented = {
                operation["x-grpc-method"].split("/")[1]: name.rpartition("/")[2]
                for item in document["paths"].values()
                for operation in item.values()
            }
        response.file.add(
            name=output_path(proto_file, "_toolkit"),
            content=render_toolkit(model, local, documented=documented),
        )
        if model.mocks:
            response.file.add(
                name=output_path(proto_file, "_toolkit_mocks"), content=render_mocks(model, local)
            )
    return response


def output_path(proto_file: str, suffix: str) -> str:
    """``a/b/x.proto`` -> ``a/b/x_toolkit.py``, beside protoc's ``x_pb2.py``."""
    return generated_module(proto_file, suffix).replace(".", "/") + ".py"


def document_path(proto_file: str) -> str:
    """``a/b/x.proto`` -> ``a/b/x.openapi.json``, beside the toolkit module."""
    return output_path(proto_file, "").removesuffix(".py") + ".openapi.json"
