"""The ``<file>_toolkit_mocks.py`` module of ``option (toolkit.tests_spec)``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lbtoolkit.codegen._imports import relative_module
from lbtoolkit.codegen._names import snake
from lbtoolkit.codegen._pycode import string
from lbtoolkit.codegen._render import module_text
from lbtoolkit.codegen._scope import ModuleScope, generated_module

if TYPE_CHECKING:
    from lbtoolkit.codegen._model import FileModel

__all__ = ["render_mocks"]

# create_autospec sees methods, not attributes a Protocol only annotates;
# those become plain mocks so that every declared member exists, except the
# ones given a value (a plugin instance's name).
_AUTOSPEC = '''\
def _autospec(spec: type[object], **values: object) -> Any:
    """An instance mock of ``spec``: unknown attributes and wrong calls raise."""
    instance = mock.create_autospec(spec, instance=True)
    for klass in spec.__mro__:
        for name in vars(klass).get("__annotations__", {}):
            if not name.startswith("_"):
                setattr(instance, name, mock.NonCallableMagicMock(name=name))
    instance.configure_mock(**values)
    return instance'''


def render_mocks(model: FileModel, local: frozenset[str]) -> str:
    """Mocks of every plugin Protocol and client of ``model``, autospec'd."""
    module = generated_module(model.proto_file, "_toolkit_mocks")
    scope = ModuleScope(module, local, {"Any", "mock", "_autospec"})
    toolkit = relative_module(module, generated_module(model.proto_file, "_toolkit"))
    any_ = scope.stdlib("typing", "Any")
    scope.stdlib("unittest", "mock")
    blocks = [_AUTOSPEC.splitlines()]
    exported: list[str] = []
    targets = [
        (f"mock_{p.prefix}_plugin", p.protocol, f"instance_name={string(p.prefix)}")
        for p in model.all_plugins
    ]
    targets += [(f"mock_{snake(c.class_name)}", c.class_name, "") for c in model.clients]
    for function, target, values in targets:
        scope.name(toolkit, target)
        exported.append(function)
        arguments = f"{target}, {values}" if values else target
        blocks.append(
            [
                f"def {function}() -> {any_}:",
                f'    """A mock {target}: calls are checked against its signatures."""',
                f"    return _autospec({arguments})",
            ]
        )
    if model.clients:
        for service in model.services:
            accessor = f"{service.name}Services"
            scope.name(toolkit, accessor)
            function = f"mock_{service.snake}_services"
            exported.append(function)
            body = [f"    services = _autospec({accessor})"]
            body += [
                f"    services.{c.attribute} = mock_{snake(c.class_name)}()" for c in model.clients
            ]
            blocks.append(
                [
                    f"def {function}() -> {any_}:",
                    f'    """A mock {accessor} whose clients are mocks too."""',
                    *body,
                    "    return services",
                ]
            )
    summary = f"Autospec'd mocks of the plugins and clients of {model.proto_file}, for tests."
    return module_text(summary, scope, exported, blocks)
