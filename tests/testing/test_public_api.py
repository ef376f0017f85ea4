"""What plugin authors and test writers import: one builder, reachable from both places."""

from __future__ import annotations

import lbtoolkit.plugins
import lbtoolkit.testing


def test_testing_exports_the_builder_next_to_the_hook_runners() -> None:
    assert lbtoolkit.testing.__all__ == [
        "build_test_plugin",
        "new_test_runtime",
        "open_plugin",
        "open_service",
    ]


def test_plugins_package_exports_the_builder_for_production_code() -> None:
    assert lbtoolkit.plugins.__all__ == ["build_test_plugin", "new_test_runtime"]
    assert lbtoolkit.plugins.build_test_plugin.__module__ == "lbtoolkit.plugins"


def test_both_paths_are_the_same_builder() -> None:
    assert lbtoolkit.testing.build_test_plugin is lbtoolkit.plugins.build_test_plugin
    assert lbtoolkit.testing.new_test_runtime is lbtoolkit.plugins.new_test_runtime
