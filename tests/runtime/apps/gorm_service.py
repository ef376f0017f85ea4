"""A service with a postgres_gorm plugin, run as a process to read its log output."""

from __future__ import annotations

import sys

import lbtoolkit
from lbtoolkit.plugins import postgres_gorm


def main() -> int:
    app = lbtoolkit.new_service("gormsvc", env_prefix="GS")
    plugin = postgres_gorm.new_plugin(app.runtime, postgres_gorm.Options(name="pgsql"))
    app.runtime.plugin.provide(lambda: plugin, provides=postgres_gorm.Plugin, name="pgsql")
    return app.run()


if __name__ == "__main__":
    sys.exit(main())
