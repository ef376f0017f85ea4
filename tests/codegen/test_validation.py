"""protoc-gen-validate rules translated into buf.validate rules, or refused by name.

What the translated rules then check, value by value, is covered over both
transports in ``tests/server/test_validation.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2

from lbtoolkit.codegen import (
    CodegenError,
    UnsupportedValidationRuleError,
    ValidationNeedsGenerateError,
    generate_package,
)
from lbtoolkit.codegen._protoc import run_protoc
from lbtoolkit.codegen._shipped import buf_validate_descriptor
from lbtoolkit.codegen._validation import translate_files
from lbtoolkit.codegen.plugin import run
from lbtoolkit.proto import BUF_VALIDATE_PROTO, descriptor_set, include_paths
from lbtoolkit.proto.buf.validate import validate_pb2 as buf

if TYPE_CHECKING:
    from pathlib import Path

HEADER = 'syntax = "proto3";\npackage shop;\nimport "validate/validate.proto";\n'


def _write(tmp_path: Path, body: str, name: str = "shop.proto") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def _descriptors(tmp_path: Path, proto: Path) -> descriptor_pb2.FileDescriptorSet:
    """The descriptor set protoc's first pass reads, as ``lbtoolkit generate`` makes it."""
    (tmp_path / "in.pb").write_bytes(descriptor_set().SerializeToString())
    run_protoc(
        [
            *(f"-I{path}" for path in (*include_paths(), tmp_path)),
            f"--descriptor_set_in={tmp_path / 'in.pb'}",
            f"--descriptor_set_out={tmp_path / 'all.pb'}",
            "--include_imports",
            str(proto),
        ]
    )
    return descriptor_pb2.FileDescriptorSet.FromString((tmp_path / "all.pb").read_bytes())


def _translated(tmp_path: Path, body: str) -> dict[str, descriptor_pb2.DescriptorProto]:
    files = _descriptors(tmp_path, _write(tmp_path, body)).file
    assert translate_files(files, ["shop.proto"])
    (shop,) = (f for f in files if f.name == "shop.proto")
    assert BUF_VALIDATE_PROTO in shop.dependency
    names = [f.name for f in files]
    # Imported files come before their importers.
    assert names.index(BUF_VALIDATE_PROTO) < names.index("shop.proto")
    assert names.index("google/protobuf/field_mask.proto") < names.index(BUF_VALIDATE_PROTO)
    return {message.name: message for message in shop.message_type}


def _field_rules(message: descriptor_pb2.DescriptorProto, name: str) -> buf.FieldRules:
    (field,) = (f for f in message.field if f.name == name)
    rules: buf.FieldRules = field.options.Extensions[buf.field]
    return rules


def test_rules_become_their_buf_validate_equivalents(tmp_path: Path) -> None:
    messages = _translated(
        tmp_path,
        """
        message Inner { string code = 1; }
        message Order {
          string name = 1 [(validate.rules).string = {min_len: 3, pattern: "^[a-z]+$"}];
          int64 count = 2 [(validate.rules).int64 = {gt: 0, ignore_empty: true}];
          repeated string tags = 3 [(validate.rules).repeated.items.string.max_len = 5];
          map<string, int32> stock = 4 [(validate.rules).map.values.int32.gte = 0];
          Inner inner = 5 [(validate.rules).message = {required: true}];
          Inner skipped = 6 [(validate.rules).message.skip = true];
          string header = 7 [(validate.rules).string.well_known_regex = HTTP_HEADER_VALUE];
          oneof pick {
            option (validate.required) = true;
            string a = 8;
            string b = 9;
          }
        }
        message Off {
          option (validate.disabled) = true;
          string name = 1 [(validate.rules).string.min_len = 3];
          Inner inner = 2;
        }
        """,
    )
    order = messages["Order"]
    name = _field_rules(order, "name")
    assert (name.string.min_len, name.string.pattern) == (3, "^[a-z]+$")
    count = _field_rules(order, "count")
    assert (count.int64.gt, count.ignore) == (0, buf.IGNORE_IF_ZERO_VALUE)
    assert count.int64.HasField("gt")
    assert _field_rules(order, "tags").repeated.items.string.max_len == 5
    stock = _field_rules(order, "stock").map.values.int32
    assert stock.HasField("gte")
    assert stock.gte == 0
    assert _field_rules(order, "inner").required
    assert _field_rules(order, "skipped").ignore == buf.IGNORE_ALWAYS
    assert _field_rules(order, "header").string.well_known_regex == (
        buf.KNOWN_REGEX_HTTP_HEADER_VALUE
    )
    (pick,) = order.oneof_decl
    assert pick.options.Extensions[buf.oneof].required
    off = messages["Off"]
    # A disabled message checks nothing: its rules stay untranslated, nested messages ignored.
    assert not _field_rules(off, "name").HasField("string")
    assert _field_rules(off, "inner").ignore == buf.IGNORE_ALWAYS


def test_a_file_without_rules_is_left_alone(tmp_path: Path) -> None:
    files = _descriptors(tmp_path, _write(tmp_path, "message Plain { string name = 1; }")).file
    before = [f.SerializeToString() for f in files]
    assert not translate_files(files, ["shop.proto"])
    assert [f.SerializeToString() for f in files] == before


def test_an_untranslatable_rule_fails_generation_naming_file_field_and_rule(
    tmp_path: Path,
) -> None:
    proto = _write(
        tmp_path,
        """
        message Item { string id = 1; }
        message Cart {
          map<string, Item> items = 1 [(validate.rules).map.no_sparse = true];
        }
        """,
    )
    with pytest.raises(UnsupportedValidationRuleError) as raised:
        generate_package([proto.relative_to(tmp_path)], include=[tmp_path], out=tmp_path / "gen")
    error = raised.value
    assert isinstance(error, CodegenError)
    assert (error.proto_file, error.where) == ("shop.proto", "field shop.Cart.items")
    assert error.option == "(validate.rules).map.no_sparse"
    assert str(error).startswith(
        "shop.proto: field shop.Cart.items: option (validate.rules).map.no_sparse: "
    )
    assert not (tmp_path / "gen").exists()


def test_both_rule_sets_on_one_field_fail(tmp_path: Path) -> None:
    proto = _write(
        tmp_path,
        """
        import "buf/validate/validate.proto";
        message Cart {
          string id = 1 [
            (validate.rules).string.min_len = 1,
            (buf.validate.field).string.max_len = 9
          ];
        }
        """,
    )
    with pytest.raises(UnsupportedValidationRuleError, match=r"field shop\.Cart\.id: .*keep one"):
        generate_package([proto.relative_to(tmp_path)], include=[tmp_path], out=tmp_path / "gen")


def test_generated_module_carries_the_translated_rules(tmp_path: Path) -> None:
    proto = _write(
        tmp_path, "message Named { string name = 1 [(validate.rules).string.min_len = 2]; }"
    )
    generate_package([proto.relative_to(tmp_path)], include=[tmp_path], out=tmp_path / "gen")
    text = (tmp_path / "gen" / "shop_pb2.py").read_text(encoding="utf-8")
    assert "from lbtoolkit.proto.buf.validate import validate_pb2" in text
    assert "from lbtoolkit.proto.validate import validate_pb2" in text


def test_the_plugin_refuses_pgv_rules_and_says_what_to_run(tmp_path: Path) -> None:
    proto = _write(
        tmp_path, "message Named { string name = 1 [(validate.rules).string.min_len = 2]; }"
    )
    files = _descriptors(tmp_path, proto).file
    request = plugin_pb2.CodeGeneratorRequest(file_to_generate=["shop.proto"], proto_file=files)
    response = plugin_pb2.CodeGeneratorResponse.FromString(run(request.SerializeToString()))
    assert response.error.startswith(
        "shop.proto: field shop.Named.name: option (validate.rules): protoc-gen-validate rules"
    )
    assert "lbtoolkit generate" in response.error
    assert not response.file
    # The error class the message comes from, for code that calls the generator directly.
    assert issubclass(ValidationNeedsGenerateError, CodegenError)


def test_the_plugin_accepts_buf_validate_rules(tmp_path: Path) -> None:
    proto = tmp_path / "shop.proto"
    proto.write_text(
        'syntax = "proto3";\npackage shop;\nimport "buf/validate/validate.proto";\n'
        "message Named { string name = 1 [(buf.validate.field).string.min_len = 2]; }\n",
        encoding="utf-8",
    )
    files = _descriptors(tmp_path, proto).file
    request = plugin_pb2.CodeGeneratorRequest(file_to_generate=["shop.proto"], proto_file=files)
    response = plugin_pb2.CodeGeneratorResponse.FromString(run(request.SerializeToString()))
    assert not response.error


def test_shipped_buf_validate_is_protovalidates_descriptor() -> None:
    # The shipped module is compiled from the descriptor protovalidate embeds:
    # ``python -m lbtoolkit.codegen._shipped`` after upgrading protovalidate.
    assert buf.DESCRIPTOR.name == BUF_VALIDATE_PROTO
    shipped = descriptor_pb2.FileDescriptorProto.FromString(buf.DESCRIPTOR.serialized_pb)
    assert shipped == buf_validate_descriptor()
