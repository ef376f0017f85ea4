"""The OpenAPI 3.1 document ``lbtoolkit generate`` writes beside each toolkit module."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from lbtoolkit.codegen import generate_package
from tests.codegen.support import GO_PROTOS, GOEXAMPLES, GUIDE, PROTOS

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"
SERVER_PROTOS = Path(__file__).resolve().parents[1] / "server"

LIBRARY = """
syntax = "proto3";

package library.v1;

import "google/api/annotations.proto";
import "google/protobuf/any.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/empty.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";
import "validate/validate.proto";
import "buf/validate/validate.proto";
import "protoc-gen-openapiv2/options/annotations.proto";
import "github.com/lastbackend/toolkit/protoc-gen-toolkit/toolkit/options/annotations.proto";

option (grpc.gateway.protoc_gen_openapiv2.options.openapiv2_swagger) = {
  info: {title: "Library API" version: "1.2.3" description: "Books and shelves."}
  tags: [{name: "Library" description: "Where the books are."}]
  security_definitions: {
    security: {
      key: "ApiKey"
      value: {type: TYPE_API_KEY in: IN_HEADER name: "X-Api-Key"}
    }
    security: {
      key: "OAuth"
      value: {
        type: TYPE_OAUTH2 flow: FLOW_ACCESS_CODE
        authorization_url: "https://auth.example.com/authorize"
        token_url: "https://auth.example.com/token"
        scopes: {scope: {key: "read" value: "Read books"}}
      }
    }
  }
  security: {security_requirement: {key: "ApiKey" value: {}}}
};

// The shelves of books.
service Library {
  option (toolkit.runtime) = {servers: [GRPC, HTTP]};

  // Gets a book.
  //
  // The book is looked up by its shelf and id.
  rpc GetBook(GetBookRequest) returns (Book) {
    option (google.api.http) = {
      get: "/v1/{name=shelves/*/books/*}"
      additional_bindings {get: "/v1/books/{book.id}"}
    };
  }
  // Lists the books of a shelf.
  rpc ListBooks(ListBooksRequest) returns (ListBooksResponse) {
    option (google.api.http) = {get: "/v1/shelves/{shelf}/books" response_body: "books"};
    option (grpc.gateway.protoc_gen_openapiv2.options.openapiv2_operation) = {
      operation_id: "listTheBooks"
      tags: "Books"
      summary: "All the books"
      security: {security_requirement: {key: "OAuth" value: {scope: "read"}}}
    };
  }
  rpc CreateBook(Book) returns (Book) {
    option (google.api.http) = {post: "/v1/books" body: "*"};
  }
  rpc UpdateBook(UpdateBookRequest) returns (Book) {
    option (google.api.http) = {patch: "/v1/books/{book.id}" body: "book"};
  }
  rpc ArchiveBook(GetBookRequest) returns (google.protobuf.Empty) {
    option (google.api.http) = {post: "/v1/books/{book.id}:archive"};
  }
  rpc DeleteBook(GetBookRequest) returns (google.protobuf.Empty) {
    option (google.api.http) = {delete: "/v1/books/{book.id}"};
  }
  rpc HeadBook(GetBookRequest) returns (google.protobuf.Empty) {
    option (google.api.http) = {custom: {kind: "HEAD" path: "/v1/books/{book.id}"}};
  }
  rpc Watch(GetBookRequest) returns (stream Book) {
    option (google.api.http) = {get: "/v1/watch"};
  }
}

// How a book came to the library.
enum Origin {
  ORIGIN_UNSPECIFIED = 0;
  // Bought from a shop.
  BOUGHT = 1;
  GIFT = 2;
}

message BookRef {
  int64 id = 1;
}

message GetBookRequest {
  string name = 1;
  BookRef book = 2;
}

// A book on a shelf.
message Book {
  // The book's number.
  int64 id = 1;
  string title = 2 [(validate.rules).string = {min_len: 1, max_len: 200}];
  uint64 copies = 3;
  sint64 balance = 4;
  fixed64 serial = 5;
  int32 pages = 6 [(validate.rules).int32 = {gte: 1, lt: 10000}];
  Origin origin = 7;
  bytes cover = 8;
  oneof source {
    string shop = 9;
    string donor = 10;
  }
  map<string, string> labels = 11 [(validate.rules).map = {max_pairs: 5}];
  optional string subtitle = 12;
  repeated string authors = 13 [(validate.rules).repeated = {min_items: 1, unique: true}];
  google.protobuf.Timestamp published = 14;
  google.protobuf.Duration reading_time = 15;
  google.protobuf.FieldMask mask = 16;
  google.protobuf.Struct extra = 17;
  google.protobuf.Value anything = 18;
  google.protobuf.ListValue list = 19;
  google.protobuf.Int64Value rating = 20;
  google.protobuf.StringValue note = 21;
  google.protobuf.Any attachment = 22;
  string isbn_id = 23 [(buf.validate.field).string.uuid = true];
  string contact = 24 [(validate.rules).string.email = true];
  double price = 25 [(buf.validate.field).double = {gt: 0, lte: 1000}];
  string kind = 26 [(validate.rules).string = {in: ["novel", "essay"]}];
  repeated Book sequels = 27;
  BookRef ref = 28 [(validate.rules).message.required = true];
  map<int32, Book> by_page = 29;
}

message ListBooksRequest {
  string shelf = 1;
  int32 page_size = 2;
  repeated Origin origins = 3;
  BookRef after = 4;
  google.protobuf.Timestamp since = 5;
  map<string, string> filter = 6;
  repeated Book examples = 7;
}

message ListBooksResponse {
  // The books found.
  repeated Book books = 1;
}

message UpdateBookRequest {
  Book book = 1;
  google.protobuf.FieldMask update_mask = 2;
}
"""


def _documents(out: Path) -> dict[str, dict[str, Any]]:
    return {
        path.relative_to(out).as_posix(): json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(out.rglob("*.openapi.json"))
    }


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("library")
    proto = root / "apis" / "library" / "v1" / "library.proto"
    proto.parent.mkdir(parents=True)
    proto.write_text(LIBRARY, encoding="utf-8")
    generate_package([proto], include=[root / "apis"], out=root / "gen")
    documents = _documents(root / "gen")
    assert list(documents) == ["library/v1/library.openapi.json"]
    toolkit = (root / "gen" / "library" / "v1" / "library_toolkit.py").read_text()
    assert 'openapi=(__name__, "library.openapi.json"),' in toolkit
    return documents["library/v1/library.openapi.json"]


def _schema(document: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = document["components"]["schemas"][name]
    return schema


def test_library_is_valid_openapi_3_1(library: dict[str, Any]) -> None:
    validate(library)
    assert library["openapi"] == "3.1.0"
    assert library["servers"] == [{"url": "/"}]


def test_the_validator_catches_a_broken_document(library: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(library))
    broken["paths"]["/v1/books"]["post"]["parameters"] = [{"name": "where"}]  # no "in"
    with pytest.raises(OpenAPIValidationError):
        validate(broken)


def test_path_templates_become_parameters(library: dict[str, Any]) -> None:
    paths = library["paths"]
    # {name=shelves/*/books/*}: its literals written out, a parameter per wildcard.
    get = paths["/v1/shelves/{name_1}/books/{name_2}"]["get"]
    assert [p["name"] for p in get["parameters"] if p["in"] == "path"] == ["name_1", "name_2"]
    assert get["parameters"][0]["schema"] == {"type": "string", "pattern": "^[^/]+$"}
    # A nested field path is one parameter named by the path; an int64 is a string.
    nested = paths["/v1/books/{book.id}"]["get"]["parameters"][0]
    assert nested["name"] == "book.id"
    assert nested["in"] == "path"
    assert nested["required"] is True
    assert nested["schema"]["type"] == "string"
    assert nested["schema"]["format"] == "int64"


def test_additional_bindings_and_operation_ids(library: dict[str, Any]) -> None:
    paths = library["paths"]
    assert paths["/v1/shelves/{name_1}/books/{name_2}"]["get"]["operationId"] == "Library_GetBook"
    assert paths["/v1/books/{book.id}"]["get"]["operationId"] == "Library_GetBook2"
    assert paths["/v1/books/{book.id}"]["delete"]["operationId"] == "Library_DeleteBook"
    ids = [op["operationId"] for item in paths.values() for op in item.values()]
    assert len(ids) == len(set(ids))


def test_custom_verb_and_custom_method(library: dict[str, Any]) -> None:
    archive = library["paths"]["/v1/books/{book.id}:archive"]["post"]
    assert archive["operationId"] == "Library_ArchiveBook"
    # A POST without body reads the whole request from the body, as the server does.
    assert archive["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/library.v1.GetBookRequest"
    }
    head = library["paths"]["/v1/books/{book.id}"]["head"]
    assert "content" not in head["responses"]["200"]


def test_streaming_methods_are_left_out(library: dict[str, Any]) -> None:
    assert "/v1/watch" not in library["paths"]


def test_query_parameters_of_get(library: dict[str, Any]) -> None:
    operation = library["paths"]["/v1/shelves/{shelf}/books"]["get"]
    query = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
    # The path's field is not repeated in the query; lists of messages cannot be there.
    assert sorted(query) == ["after.id", "filter", "origins", "pageSize", "since"]
    assert query["pageSize"]["schema"] == {"type": "integer", "format": "int32"}
    assert query["origins"]["schema"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/library.v1.Origin"},
    }
    assert query["origins"]["explode"] is True
    assert query["since"]["schema"] == {"$ref": "#/components/schemas/google.protobuf.Timestamp"}
    assert query["filter"]["style"] == "deepObject"
    assert "requestBody" not in operation


def test_body_star_and_field_body(library: dict[str, Any]) -> None:
    create = library["paths"]["/v1/books"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/library.v1.Book"
    }
    assert "parameters" not in create
    update = library["paths"]["/v1/books/{book.id}"]["patch"]
    # A null body is the field left unset.
    assert update["requestBody"]["content"]["application/json"]["schema"] == {
        "anyOf": [{"$ref": "#/components/schemas/library.v1.Book"}, {"type": "null"}]
    }
    query = [p["name"] for p in update["parameters"] if p["in"] == "query"]
    assert query == ["updateMask"]


def test_response_body(library: dict[str, Any]) -> None:
    ok = library["paths"]["/v1/shelves/{shelf}/books"]["get"]["responses"]["200"]
    assert ok["description"] == "The books found."
    assert ok["content"]["application/json"]["schema"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/library.v1.Book"},
    }


def test_every_operation_documents_the_error_answer(library: dict[str, Any]) -> None:
    for item in library["paths"].values():
        for operation in item.values():
            assert operation["responses"]["default"] == {"$ref": "#/components/responses/Error"}
    error = _schema(library, "lbtoolkit.Error")
    assert set(error["properties"]) == {"code", "status", "message", "details"}
    assert error["properties"]["details"]["items"]["required"] == ["@type"]


def test_scalars_follow_the_json_mapping(library: dict[str, Any]) -> None:
    book = _schema(library, "library.v1.Book")["properties"]
    for name in ("id", "balance"):
        # null is read as "not set", for every field
        assert book[name]["type"] == ["string", "null"]
        assert book[name]["format"] == "int64"
    assert book["copies"]["format"] == "uint64"
    assert book["serial"]["pattern"] == "^[0-9]+$"
    assert book["cover"]["contentEncoding"] == "base64"
    # lowerCamelCase JSON names.
    assert "readingTime" in book
    assert "reading_time" not in book
    origin = _schema(library, "library.v1.Origin")
    assert origin["enum"] == ["ORIGIN_UNSPECIFIED", "BOUGHT", "GIFT"]
    assert origin["type"] == "string"
    assert "Bought from a shop." in origin["description"]


def test_oneof_map_optional_repeated_and_recursion(library: dict[str, Any]) -> None:
    schema = _schema(library, "library.v1.Book")
    assert schema["oneOf"] == [
        {"required": ["shop"]},
        {"required": ["donor"]},
        {"not": {"anyOf": [{"required": ["shop"]}, {"required": ["donor"]}]}},
    ]
    book = schema["properties"]
    assert book["labels"]["type"] == ["object", "null"]
    assert book["labels"]["additionalProperties"] == {"type": "string"}
    assert book["byPage"]["propertyNames"] == {"pattern": "^-?[0-9]+$"}
    assert book["byPage"]["additionalProperties"] == {
        "$ref": "#/components/schemas/library.v1.Book"
    }
    # proto3 optional: a plain property, no oneOf of its own.
    assert book["subtitle"] == {"type": ["string", "null"]}
    assert book["sequels"] == {
        "type": ["array", "null"],
        "items": {"$ref": "#/components/schemas/library.v1.Book"},
    }


def test_well_known_types(library: dict[str, Any]) -> None:
    book = _schema(library, "library.v1.Book")["properties"]
    refs = {
        "published": "google.protobuf.Timestamp",
        "readingTime": "google.protobuf.Duration",
        "mask": "google.protobuf.FieldMask",
        "extra": "google.protobuf.Struct",
        "anything": "google.protobuf.Value",
        "list": "google.protobuf.ListValue",
        "rating": "google.protobuf.Int64Value",
        "note": "google.protobuf.StringValue",
        "attachment": "google.protobuf.Any",
    }
    for name, type_name in refs.items():
        assert book[name] == {
            "anyOf": [{"$ref": f"#/components/schemas/{type_name}"}, {"type": "null"}]
        }

    def wkt(name: str) -> dict[str, Any]:
        return _schema(library, f"google.protobuf.{name}")

    assert wkt("Timestamp")["format"] == "date-time"
    assert wkt("Duration")["pattern"] == r"^-?[0-9]+(\.[0-9]{1,9})?s$"
    assert wkt("FieldMask")["type"] == "string"
    assert wkt("Struct") == {"type": "object", "additionalProperties": True}
    assert wkt("ListValue")["type"] == "array"
    assert wkt("Int64Value")["type"] == ["string", "null"]
    assert wkt("StringValue")["type"] == ["string", "null"]
    assert wkt("Any")["required"] == ["@type"]
    assert wkt("Empty") == {"type": "object"}


def test_comments_become_descriptions(library: dict[str, Any]) -> None:
    get = library["paths"]["/v1/shelves/{name_1}/books/{name_2}"]["get"]
    assert get["summary"] == "Gets a book."
    assert get["description"] == "The book is looked up by its shelf and id."
    book = _schema(library, "library.v1.Book")
    assert book["description"] == "A book on a shelf."
    assert book["properties"]["id"]["description"] == "The book's number."
    tags = {t["name"]: t.get("description") for t in library["tags"]}
    # The openapiv2 tag replaces the service comment.
    assert tags["Library"] == "Where the books are."


def test_validation_rules_become_keywords(library: dict[str, Any]) -> None:
    schema = _schema(library, "library.v1.Book")
    book = schema["properties"]
    assert (book["title"]["minLength"], book["title"]["maxLength"]) == (1, 200)
    assert (book["pages"]["minimum"], book["pages"]["exclusiveMaximum"]) == (1, 10000)
    assert book["labels"]["maxProperties"] == 5
    assert (book["authors"]["minItems"], book["authors"]["uniqueItems"]) == (1, True)
    assert book["contact"]["format"] == "email"
    assert book["kind"]["enum"] == ["novel", "essay"]
    # buf.validate
    assert book["isbnId"]["format"] == "uuid"
    assert (book["price"]["exclusiveMinimum"], book["price"]["maximum"]) == (0, 1000)
    # ref by its rule; the others because their rules refuse the zero value a field left out has
    assert schema["required"] == [
        "title", "pages", "authors", "isbnId", "contact", "price", "kind", "ref"
    ]  # fmt: skip
    create = library["paths"]["/v1/books"]["post"]
    assert create["requestBody"]["required"] is True


RULED = """
syntax = "proto3";
package ruled.v1;

import "google/api/annotations.proto";
import "validate/validate.proto";
import "buf/validate/validate.proto";
import "github.com/lastbackend/toolkit/protoc-gen-toolkit/toolkit/options/annotations.proto";

enum Colour {
  COLOUR_UNSPECIFIED = 0;
  RED = 1;
}

message Form {
  string nickname = 1 [(validate.rules).string = {min_len: 1, ignore_empty: true}];
  string code = 2 [(buf.validate.field).string.min_len = 2,
                   (buf.validate.field).ignore = IGNORE_IF_ZERO_VALUE];
  optional string title = 3 [(validate.rules).string.min_len = 1];
  oneof contact {
    string email = 4 [(validate.rules).string.email = true];
  }
  string website = 5 [(validate.rules).string.uri_ref = true];
  string slug = 6 [(validate.rules).string.pattern = "^[a-z]*$"];
  string handle = 7 [(validate.rules).string.pattern = "^[a-z]+$"];
  int32 count = 8 [(validate.rules).int32 = {gte: 0, lte: 9}];
  int32 level = 9 [(validate.rules).int32.gt = 0];
  int64 big = 10 [(validate.rules).int64 = {in: [1, 2]}];
  Colour colour = 11 [(validate.rules).enum.defined_only = true];
  Colour shade = 12 [(validate.rules).enum = {not_in: [0]}];
  bool agreed = 13 [(validate.rules).bool.const = true];
  map<string, string> tags = 14 [(validate.rules).map.min_pairs = 1];
  repeated string notes = 15 [(validate.rules).repeated.max_items = 3];
  string sku = 16 [(validate.rules).string = {prefix: "sku-", suffix: ".v1"}];
  string label = 17 [(buf.validate.field).string = {not_contains: "\\000", not_in: ["x"]}];
  string memo = 18 [(validate.rules).string = {contains: "(a|b)", pattern: "^[^z]*$"}];
}

message Loose {
  string note = 1;
}

service Forms {
  option (toolkit.runtime) = {servers: [HTTP]};
  rpc Send(Form) returns (Form) {
    option (google.api.http) = {post: "/v1/forms" body: "*"};
  }
  rpc Note(Loose) returns (Loose) {
    option (google.api.http) = {post: "/v1/notes" body: "*"};
  }
}
"""


def test_fields_whose_rules_refuse_their_zero_value_are_required(tmp_path: Path) -> None:
    proto = tmp_path / "apis" / "ruled" / "v1" / "ruled.proto"
    proto.parent.mkdir(parents=True)
    proto.write_text(RULED, encoding="utf-8")
    document = _generate(tmp_path, [proto], [tmp_path / "apis"])["ruled/v1/ruled.openapi.json"]
    validate(document)
    # Left out, a proto3 field is its zero value, and the server checks that value:
    # "" is no email, 0 is not > 0. Fields with presence (optional, oneof) and rules
    # that skip the zero value (ignore_empty, ignore) stay optional.
    assert _schema(document, "ruled.v1.Form")["required"] == [
        "handle", "level", "big", "shade", "agreed", "tags", "sku", "memo"
    ]  # fmt: skip
    # A required field is no more nullable: null is the zero value its rules refuse.
    form = _schema(document, "ruled.v1.Form")["properties"]
    assert form["handle"] == {"type": "string", "pattern": "^[a-z]+$"}
    assert form["shade"] == {"type": "string", "enum": ["RED"]}
    assert form["count"] == {
        "type": ["integer", "null"],
        "format": "int32",
        "minimum": 0,
        "maximum": 9,
    }
    assert form["colour"] == {
        "anyOf": [{"$ref": "#/components/schemas/ruled.v1.Colour"}, {"type": "null"}]
    }
    assert form["agreed"] == {"type": "boolean", "const": True}
    # Substring rules are patterns, the text written literally; a second "pattern" or "not"
    # goes into allOf. not_contains matches strings only, so null still passes it.
    assert form["sku"] == {"type": "string", "pattern": "^sku-", "allOf": [{"pattern": "\\.v1$"}]}
    assert form["label"] == {
        "type": ["string", "null"],
        "not": {"enum": ["x"]},
        "allOf": [{"not": {"type": "string", "pattern": "\x00"}}],
    }
    assert form["memo"] == {
        "type": "string",
        "pattern": "^[^z]*$",
        "allOf": [{"pattern": "\\(a\\|b\\)"}],
    }
    # An empty body is the empty message: refused when it has required fields.
    assert document["paths"]["/v1/forms"]["post"]["requestBody"]["required"] is True
    assert "required" not in document["paths"]["/v1/notes"]["post"]["requestBody"]


def test_openapiv2_options(library: dict[str, Any]) -> None:
    assert library["info"]["title"] == "Library API"
    assert library["info"]["version"] == "1.2.3"
    assert library["info"]["description"] == "Books and shelves."
    schemes = library["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {"type": "apiKey", "name": "X-Api-Key", "in": "header"}
    assert schemes["OAuth"]["flows"]["authorizationCode"]["scopes"] == {"read": "Read books"}
    assert library["security"] == [{"ApiKey": []}]
    listing = library["paths"]["/v1/shelves/{shelf}/books"]["get"]
    assert listing["operationId"] == "listTheBooks"
    assert listing["tags"] == ["Books"]
    assert listing["summary"] == "All the books"
    assert listing["security"] == [{"OAuth": ["read"]}]


def _generate(tmp_path: Path, protos: list[Path], include: list[Path]) -> dict[str, Any]:
    generate_package(protos, include=include, out=tmp_path / "gen")
    return _documents(tmp_path / "gen")


@pytest.mark.usefixtures("guide_plugins")
def test_go_toolkit_examples_are_valid(tmp_path: Path) -> None:
    documents = _generate(tmp_path, list(GO_PROTOS), [GOEXAMPLES])
    assert documents, "the Go examples serve HTTP routes"
    for name, document in documents.items():
        validate(document)
        assert document["paths"], name


@pytest.mark.usefixtures("guide_plugins")
@pytest.mark.parametrize("name", ["file_level", "service_level", "multi_instance", "myplugin"])
def test_guide_examples_are_valid(tmp_path: Path, name: str) -> None:
    for document in _generate(tmp_path, [GUIDE / f"{name}.proto"], [PROTOS]).values():
        validate(document)


def test_server_test_protos_are_valid(tmp_path: Path) -> None:
    protos = sorted((SERVER_PROTOS / "http" / "protos").rglob("*.proto"))
    documents = _generate(tmp_path, protos, [SERVER_PROTOS / "http" / "protos"])
    assert documents
    for document in documents.values():
        validate(document)


def test_demo_document_is_valid_and_checked_in(tmp_path: Path) -> None:
    documents = _generate(tmp_path, [DEMO / "protos" / "greeter.proto"], [DEMO / "protos"])
    document = documents["greeter.openapi.json"]
    validate(document)
    checked_in = DEMO / "greeter_demo" / "gen" / "greeter.openapi.json"
    assert json.loads(checked_in.read_text(encoding="utf-8")) == document
    hello = document["paths"]["/v1/hello/{name}"]["get"]
    assert hello["operationId"] == "Greeter_SayHello"
    visits = _schema(document, "demo.v1.SayHelloResponse")["properties"]["visits"]
    assert visits["type"] == ["string", "null"]
