"""Errors at generate time: each names the proto file and the option, and what to do."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from lbtoolkit.codegen import (
    CodegenError,
    DuplicatePrefixError,
    HttpRuleError,
    InvalidPrefixError,
    PrefixConflictError,
    ProtocError,
    UnknownPluginError,
    UnknownServiceError,
    generate_package,
)

if TYPE_CHECKING:
    from pathlib import Path

PLUGINS = {"postgres_gorm": "lbtoolkit.plugins.postgres_gorm", "redis": "lbtoolkit.plugins.redis"}
HEADER = """
syntax = "proto3";
package bad;
import "github.com/lastbackend/toolkit/protoc-gen-toolkit/toolkit/options/annotations.proto";
import "google/api/annotations.proto";
message Req { string id = 1; Inner inner = 2; }
message Inner { string name = 1; }
message Res { string body = 1; }
"""


def generate_bad(
    tmp_path: Path, body: str, plugins: dict[str, str] | None = PLUGINS
) -> CodegenError:
    """The error generating ``body`` raises (nothing is written)."""
    (tmp_path / "bad.proto").write_text(HEADER + body, encoding="utf-8")
    with pytest.raises(CodegenError) as caught:
        generate_package(
            [tmp_path / "bad.proto"], include=[tmp_path], out=tmp_path / "gen", plugins=plugins
        )
    assert not (tmp_path / "gen").exists()
    return caught.value


def plugin(prefix: str, name: str) -> str:
    return f'option (toolkit.plugins) = {{prefix: "{prefix}" plugin: "{name}"}};\n'


SERVICE = "service MyService { rpc Get(Req) returns (Res); }\n"


def test_unknown_plugin(tmp_path: Path) -> None:
    error = generate_bad(tmp_path, plugin("db", "foo") + SERVICE)
    assert isinstance(error, UnknownPluginError)
    assert str(error) == (
        'bad.proto: option (toolkit.plugins): plugin "foo" not found; installed plugins: '
        "postgres_gorm, redis; a plugin is found through the entry point group lbtoolkit.plugins"
    )


@pytest.mark.usefixtures("test_plugins")
def test_unknown_plugin_lists_the_entry_points(tmp_path: Path) -> None:
    error = generate_bad(tmp_path, plugin("db", "foo") + SERVICE, plugins=None)
    assert isinstance(error, UnknownPluginError)
    assert isinstance(error, LookupError)
    assert "fakecache, fakesql" in str(error)
    assert (error.proto_file, error.option) == ("bad.proto", "(toolkit.plugins)")


def test_unknown_service_level_plugin(tmp_path: Path) -> None:
    body = """service MyService {
      option (toolkit.runtime).plugins = {prefix: "cache" plugin: "memcached"};
      rpc Get(Req) returns (Res);
    }"""
    assert str(generate_bad(tmp_path, body)) == (
        "bad.proto: service MyService: option (toolkit.runtime).plugins: plugin "
        '"memcached" not found; installed plugins: postgres_gorm, redis; a plugin is found '
        "through the entry point group lbtoolkit.plugins"
    )


def test_duplicate_prefix(tmp_path: Path) -> None:
    error = generate_bad(tmp_path, plugin("cache", "redis") + plugin("cache", "redis") + SERVICE)
    assert isinstance(error, DuplicatePrefixError)
    assert str(error) == (
        'bad.proto: option (toolkit.plugins): prefix "cache" of plugin "redis" is already '
        "declared in option (toolkit.plugins); each instance needs its own prefix"
    )


def test_duplicate_prefix_in_a_service(tmp_path: Path) -> None:
    body = (
        plugin("cache", "redis")
        + """service MyService {
      option (toolkit.runtime) = {plugins: [{prefix: "cache" plugin: "redis"}]};
      rpc Get(Req) returns (Res);
    }"""
    )
    error = generate_bad(tmp_path, body)
    assert isinstance(error, DuplicatePrefixError)
    assert str(error) == (
        'bad.proto: service MyService: option (toolkit.runtime).plugins: prefix "cache" of '
        'plugin "redis" is already declared in option (toolkit.plugins); each instance needs '
        "its own prefix"
    )


def test_same_instance_in_two_services_is_fine(tmp_path: Path) -> None:
    body = """
    service A { option (toolkit.runtime).plugins = {prefix: "cache" plugin: "redis"}; }
    service B { option (toolkit.runtime).plugins = {prefix: "cache" plugin: "redis"}; }
    """
    (tmp_path / "ok.proto").write_text(HEADER.replace("package bad", "package ok") + body)
    generate_package(
        [tmp_path / "ok.proto"], include=[tmp_path], out=tmp_path / "gen", plugins=PLUGINS
    )
    text = (tmp_path / "gen/ok_toolkit.py").read_text()
    assert text.count("class CachePlugin(") == 1


def test_same_prefix_for_two_plugin_types(tmp_path: Path) -> None:
    body = plugin("store", "redis") + plugin("store", "postgres_gorm") + SERVICE
    error = generate_bad(tmp_path, body)
    assert isinstance(error, PrefixConflictError)
    assert str(error) == (
        'bad.proto: option (toolkit.plugins): prefix "store" is used for two plugin types, '
        '"redis" (option (toolkit.plugins)) and "postgres_gorm"; give each instance its own '
        "prefix"
    )


def test_same_prefix_for_two_plugin_types_across_services(tmp_path: Path) -> None:
    body = """
    service A { option (toolkit.runtime).plugins = {prefix: "cache" plugin: "redis"}; }
    service B { option (toolkit.runtime).plugins = {prefix: "cache" plugin: "postgres_gorm"}; }
    """
    assert str(generate_bad(tmp_path, body)) == (
        'bad.proto: service B: option (toolkit.runtime).plugins: prefix "cache" is used for '
        'two plugin types, "redis" (option (toolkit.runtime).plugins of service A) and '
        '"postgres_gorm"; give each instance its own prefix'
    )


@pytest.mark.parametrize("prefix", ["primary-db", "1db", "PrimaryDb", "", "class"])
def test_prefix_that_is_no_identifier(tmp_path: Path, prefix: str) -> None:
    error = generate_bad(tmp_path, plugin(prefix, "redis") + SERVICE)
    assert isinstance(error, InvalidPrefixError)
    assert str(error) == (
        f'bad.proto: option (toolkit.plugins): prefix "{prefix}" of plugin "redis" is not a '
        "valid identifier; use lower-case letters, digits and underscores, starting with a letter"
    )


def http(rule: str) -> str:
    options = f"option (google.api.http) = {{ {rule} }};"
    return f"service MyService {{ rpc Get(Req) returns (Res) {{ {options} }} }}"


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ('body: "*"', "the rule sets no pattern; use get, put, post, delete, patch or custom"),
        ('get: "users"', 'path template "users": it must start with "/"'),
        ('get: "/users/{id"', 'path template "/users/{id": "{" is not closed'),
        ('get: "/users/{id}}"', 'path template "/users/{id}}": "}" without "{"'),
        (
            'get: "/a/{id={inner.name}}"',
            'path template "/a/{id={inner.name}}": variables cannot nest',
        ),
        (
            'get: "/files/**/name"',
            'path template "/files/**/name": "**" may only be the last segment',
        ),
        ('get: "/users//x"', 'path template "/users//x": it has an empty segment'),
        ('get: "/users/x{id}"', 'path template "/users/x{id}": a variable must be a whole segment'),
        ('get: "/users/{nope}"', 'path template "/users/{nope}": "nope" is no field of bad.Req'),
        (
            'get: "/users/{id.x}"',
            'path template "/users/{id.x}": "id" in "id.x" is not a message field',
        ),
        ('get: "/users/{id}/{id}"', 'path template "/users/{id}/{id}": it binds "id" twice'),
        ('post: "/users" body: "nope"', 'body "nope" is no field of bad.Req'),
        ('get: "/users" response_body: "nope"', 'response_body "nope" is no field of bad.Res'),
        (
            'get: "/a" additional_bindings { get: "/b" additional_bindings { get: "/c" } }',
            "additional_bindings cannot have additional_bindings of their own",
        ),
    ],
)
def test_unsupported_http_pattern(tmp_path: Path, rule: str, problem: str) -> None:
    error = generate_bad(tmp_path, http(rule))
    assert isinstance(error, HttpRuleError)
    assert str(error) == f"bad.proto: method MyService.Get: option (google.api.http): {problem}"


def test_custom_verb_without_kind(tmp_path: Path) -> None:
    error = generate_bad(tmp_path, http('custom: {path: "/users"}'))
    assert isinstance(error, HttpRuleError)
    assert str(error) == (
        "bad.proto: method MyService.Get: option (google.api.http): custom pattern "
        '"/users" has no kind; name the HTTP method: custom: {kind: "HEAD" path: "/users"}'
    )


def test_websocket_method_without_a_path(tmp_path: Path) -> None:
    route = "option (toolkit.route).websocket = true;"
    body = f"service MyService {{ rpc Get(Req) returns (Res) {{ {route} }} }}"
    assert str(generate_bad(tmp_path, body)) == (
        "bad.proto: method MyService.Get: option (toolkit.route).websocket: a WebSocket method "
        'needs the path it is reached at: option (google.api.http) = { get: "/path" }'
    )


def test_proxy_without_a_grpc_method(tmp_path: Path) -> None:
    body = """service MyService { rpc Get(Req) returns (Res) {
      option (toolkit.route).websocket_proxy = {service: "users" method: "GetUser"};
    } }"""
    assert str(generate_bad(tmp_path, body)) == (
        "bad.proto: method MyService.Get: option (toolkit.route).websocket_proxy: needs the "
        'service and its full gRPC method, e.g. {service: "helloworld" method: '
        '"/helloworld.Greeter/SayHello"}; got service "users" method "GetUser"'
    )


def test_methods_with_the_same_python_name(tmp_path: Path) -> None:
    body = "service MyService { rpc GetURL(Req) returns (Res); rpc GetUrl(Req) returns (Res); }"
    assert str(generate_bad(tmp_path, body)) == (
        "bad.proto: service MyService: methods GetURL and GetUrl are both get_url "
        "in Python; rename one"
    )


def test_unknown_client_service(tmp_path: Path) -> None:
    body = 'option (toolkit.services) = {service: "billing" package: "x"};\n' + SERVICE
    error = generate_bad(tmp_path, body)
    assert isinstance(error, UnknownServiceError)
    assert str(error) == (
        'bad.proto: option (toolkit.services): service "billing" matches no service of this '
        "file or its imports (by full name, by name, or by the package holding one service); "
        "import its .proto file; known services: bad.MyService"
    )


def test_protoc_errors_name_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "broken.proto").write_text('syntax = "proto3";\nmessage {')
    with pytest.raises(ProtocError) as caught:
        generate_package([tmp_path / "broken.proto"], include=[tmp_path], out=tmp_path / "gen")
    assert str(caught.value).startswith("protoc failed:\n")
    assert "broken.proto:2:9:" in str(caught.value)


def test_missing_openapiv2_names_its_package() -> None:
    error = ProtocError(
        "protoc-gen-openapiv2/options/annotations.proto: File not found.\n"
        'gw.proto:3:1: Import "protoc-gen-openapiv2/options/annotations.proto" was not found.\n'
    )
    assert str(error).splitlines()[-1] == (
        "Hint: protoc-gen-openapiv2/... ships with protoc-gen-openapiv2: "
        "pip install protoc-gen-openapiv2"
    )


def test_the_guides_mixed_runtime_form_does_not_compile(tmp_path: Path) -> None:
    body = """service MyService {
      option (toolkit.runtime).plugins = {prefix: "cache" plugin: "redis"};
      option (toolkit.runtime) = {servers: [GRPC, HTTP]};
    }"""
    (tmp_path / "mixed.proto").write_text(HEADER.replace("package bad", "package mixed") + body)
    with pytest.raises(ProtocError) as caught:
        generate_package([tmp_path / "mixed.proto"], include=[tmp_path], out=tmp_path / "gen")
    assert 'Option "(toolkit.runtime)" was already set.' in str(caught.value)
