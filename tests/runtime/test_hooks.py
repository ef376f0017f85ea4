"""Hooks are found by name; a hook that needs arguments is rejected up front."""

from __future__ import annotations

import pytest

import lbtoolkit
from tests.runtime.support import ServiceFactory


class NeedsContext:
    async def pre_start(self, ctx: object) -> None:
        """The Go signature; Python hooks take no arguments."""


class Quiet:
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def on_start(self, timeout: float = 1.0) -> None:  # defaults are fine
        self.calls.append(f"on_start({timeout})")

    def pre_start_later(self) -> None:  # not a hook name: just a method
        self.calls.append("pre_start_later")


async def test_hook_with_required_argument_is_rejected_naming_plugin_and_hook(
    make_service: ServiceFactory,
) -> None:
    app = make_service()
    app.runtime.plugin.provide(NeedsContext, name="pgsql")
    with pytest.raises(lbtoolkit.StartError) as caught:
        await app.start()
    cause = caught.value.cause
    assert isinstance(cause, lbtoolkit.HookSignatureError)
    assert str(cause) == (
        "plugin \"pgsql\": hook pre_start requires argument(s) 'ctx'; lifecycle hooks take "
        "no arguments. Hint: declare it as `async def pre_start(self) -> None`"
    )


def test_user_hook_with_required_argument_is_rejected_at_registration(
    make_service: ServiceFactory,
) -> None:
    app = make_service()

    def hook(ctx: object) -> None:
        del ctx

    with pytest.raises(lbtoolkit.HookSignatureError, match="hook on_stop requires argument"):
        # Untyped callers exist; the runtime check is what this test is about.
        app.register_on_stop_hook(hook)  # type: ignore[arg-type]


async def test_unknown_names_are_ignored_and_defaults_allowed(make_service: ServiceFactory) -> None:
    app = make_service()
    quiet = Quiet()
    app.runtime.plugin.provide(lambda: quiet, provides=Quiet, name="quiet")
    await app.start()
    await app.stop()
    assert quiet.calls == ["on_start(1.0)"]


async def test_same_instance_under_two_types_runs_its_hooks_once(
    make_service: ServiceFactory,
) -> None:
    app = make_service()
    quiet = Quiet()

    class Alias(Quiet):
        pass

    app.runtime.plugin.provide(lambda: quiet, provides=Quiet, name="quiet")
    app.runtime.plugin.provide(lambda: quiet, provides=Alias, name="alias")
    await app.start()
    await app.stop()
    assert quiet.calls == ["on_start(1.0)"]
    assert len(app.plugin.components) == 1
    assert len(app.plugin.constructors()) == 2
