"""Methods named almost like a hook are reported, all at once, before anything starts."""

from __future__ import annotations

import difflib
import importlib
import inspect
import pkgutil

import pytest

import lbtoolkit
import lbtoolkit.plugins
from lbtoolkit.runtime._hook_names import misnamed_hooks, suggest_hook_name
from lbtoolkit.runtime._hooks import HOOK_NAMES
from tests.runtime.support import Recorder, ServiceFactory, add_plugin


@pytest.mark.parametrize(
    ("method", "hook"),
    [
        ("PreStart", "pre_start"),
        ("OnStart", "on_start"),
        ("OnStartSync", "on_start_sync"),
        ("OnStop", "on_stop"),
        ("OnStopSync", "on_stop_sync"),
        ("preStart", "pre_start"),
        ("onStopSync", "on_stop_sync"),
        ("prestart", "pre_start"),
        ("pre_Start", "pre_start"),
        ("onstart", "on_start"),
        ("on_stopp", "on_stop"),
        ("on_sto", "on_stop"),
        ("on_stat", "on_start"),
        ("on_start_snyc", "on_start_sync"),
        ("on_stop_sync_", "on_stop_sync"),
    ],
)
def test_near_misses_and_go_names_suggest_the_hook(method: str, hook: str) -> None:
    assert suggest_hook_name(method) == hook


@pytest.mark.parametrize(
    "method",
    [
        "pre_start",
        "on_stop",
        "start",
        "stop",
        "restart",
        "started",
        "on_startup",
        "on_startup_banner",
        "on_stopped",
        "on_restart",
        "pre_start_later",
        "post_start",
        "_pre_start",
        "_PreStart",
    ],
)
def test_real_names_sharing_a_prefix_are_left_alone(method: str) -> None:
    assert suggest_hook_name(method) is None


class GoStyle:
    """A plugin ported from Go without renaming its hooks."""

    def __init__(self, events: list[str]) -> None:
        self.events = events

    async def PreStart(self) -> None:  # noqa: N802 - the mistake under test
        self.events.append("go.PreStart")

    async def OnStopSync(self) -> None:  # noqa: N802 - the mistake under test
        self.events.append("go.OnStopSync")

    def on_startup_banner(self) -> str:
        return "not a hook"


class Typos(Recorder):
    """A package with two typos next to correctly named hooks."""

    async def on_stopp(self) -> None:
        self.events.append("typos.on_stopp")

    @staticmethod
    def on_start_snyc() -> None:
        """Static methods are methods too."""


async def test_misnamed_hooks_of_plugins_and_packages_fail_together_before_any_hook(
    make_service: ServiceFactory,
) -> None:
    events: list[str] = []
    app = make_service()
    add_plugin(app, Recorder("pgsql", events))
    go = GoStyle(events)
    app.runtime.plugin.provide(lambda: go, provides=GoStyle, name="legacy")
    app.runtime.package.provide(lambda: Typos("typos", events), provides=Typos)
    with pytest.raises(lbtoolkit.StartError) as caught:
        await app.start()
    assert isinstance(caught.value.cause, lbtoolkit.HookNameError)
    assert str(caught.value) == (
        "start failed at hook names: HookNameError: 4 method(s) look like lifecycle hooks "
        "but would never run:\n"
        '  plugin "legacy": tests.runtime.test_hook_names.GoStyle.OnStopSync '
        "-> rename it to on_stop_sync\n"
        '  plugin "legacy": tests.runtime.test_hook_names.GoStyle.PreStart '
        "-> rename it to pre_start\n"
        "  package Typos: tests.runtime.test_hook_names.Typos.on_start_snyc "
        "-> rename it to on_start_sync\n"
        "  package Typos: tests.runtime.test_hook_names.Typos.on_stopp -> rename it to on_stop\n"
        "Hint: hooks are found by their exact names: "
        "pre_start, on_start_sync, on_start, on_stop_sync, on_stop"
    )
    assert events == []
    assert not app.runtime.tools.probes.started


def test_names_ruled_out_by_length_get_what_difflib_alone_would_give() -> None:
    # Every name from one letter to twice the longest hook, on each hook's first letter:
    # the length bound that skips difflib must never change a suggestion.
    hooks = {name.replace("_", ""): name for name in HOOK_NAMES}
    longest = max(map(len, hooks))
    for first in sorted({hook[0] for hook in hooks}):
        for hook in hooks:
            for size in range(1, 2 * longest + 1):
                method = (first + hook[1:] + "x" * size)[:size]
                candidates = [h for h in hooks if h[0] == method[0]]
                close = difflib.get_close_matches(method, candidates, n=1, cutoff=0.9)
                expected = hooks[close[0]] if close else None
                if method in hooks:
                    expected = hooks[method]
                assert suggest_hook_name(method) == expected, method


def test_the_shipped_plugins_have_no_misnamed_hooks() -> None:
    classes = 0
    for info in pkgutil.walk_packages(lbtoolkit.plugins.__path__, "lbtoolkit.plugins."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            classes += 1
            assert misnamed_hooks(info.name, cls) == []
    assert classes > 20  # the walk really reached the plugin packages
