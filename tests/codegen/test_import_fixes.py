"""The stock generators' imports, rewritten so the output is a package."""

from __future__ import annotations

import pytest

from lbtoolkit.codegen._imports import ModuleMap, fix_imports, relative_module, split_module

GO_OPTIONS = "github.com.lastbackend.toolkit.protoc_gen_toolkit.toolkit.options.annotations_pb2"
MODULES = ModuleMap(
    shipped={GO_OPTIONS: "lbtoolkit.proto.toolkit.options.go_annotations_pb2"},
    local=frozenset({"example_pb2", "ptypes.messages_pb2", "a.b.deep_pb2"}),
)


@pytest.mark.parametrize(
    ("importer", "module", "relative"),
    [
        ("example_pb2", "ptypes.messages_pb2", ".ptypes.messages_pb2"),
        ("ptypes.messages_pb2", "example_pb2", "..example_pb2"),
        ("a.b.deep_pb2", "a.c.other_pb2", "..c.other_pb2"),
        ("a.b.deep_pb2", "a.b.near_pb2", ".near_pb2"),
        ("x_pb2", "y_pb2", ".y_pb2"),
    ],
)
def test_relative_module(importer: str, module: str, relative: str) -> None:
    assert relative_module(importer, module) == relative


def test_split_module() -> None:
    assert split_module(".x") == (".", "x")
    assert split_module("..a.b") == ("..a", "b")
    assert split_module("a.b.c") == ("a.b", "c")
    assert split_module("a") == ("", "a")


def test_python_module_imports() -> None:
    source = "\n".join(
        [
            f"from {GO_OPTIONS.rpartition('.')[0]} import annotations_pb2 as go__pb2",
            "from google.api import annotations_pb2 as google_dot_api__pb2",
            "from ptypes import messages_pb2 as ptypes_dot_messages__pb2",
            "import example_pb2 as example__pb2",
            "from ptypes.messages_pb2 import *",
            "_builder.BuildTopDescriptorsAndMessages(DESCRIPTOR, 'a.b.deep_pb2', _globals)",
            "",
        ]
    )
    assert fix_imports(source, "a.b.deep_pb2", MODULES).splitlines() == [
        "from lbtoolkit.proto.toolkit.options import go_annotations_pb2 as go__pb2",
        "from google.api import annotations_pb2 as google_dot_api__pb2",
        "from ...ptypes import messages_pb2 as ptypes_dot_messages__pb2",
        "from ... import example_pb2 as example__pb2",
        "from ...ptypes.messages_pb2 import *",
        "_builder.BuildTopDescriptorsAndMessages(DESCRIPTOR, __name__, _globals)",
    ]


def test_stub_imports_that_type_nothing_are_dropped() -> None:
    stub = "\n".join(
        [
            f"from {GO_OPTIONS.rpartition('.')[0]} import annotations_pb2 as _annotations_pb2",
            "from ptypes import messages_pb2 as _messages_pb2",
            "from ptypes.messages_pb2 import Request as Request",
            "class Call(_message.Message):",
            "    request: _messages_pb2.Request",
            "",
        ]
    )
    assert fix_imports(stub, "example_pb2", MODULES, stub=True).splitlines() == [
        "from .ptypes import messages_pb2 as _messages_pb2",
        "from .ptypes.messages_pb2 import Request as Request",
        "class Call(_message.Message):",
        "    request: _messages_pb2.Request",
    ]
