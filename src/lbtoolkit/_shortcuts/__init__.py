"""The one place where lbtoolkit relies on other libraries' private state.

Each module is named for the library it reaches into and offers a few
functions; nothing else in lbtoolkit touches a private attribute of Starlette
or uvicorn. Every shortcut has a test under ``tests/shortcuts`` that fails
when a release of the library changes what it relies on, and keeps its place
only while it is worth 2 % or more on its benchmark row (see "Shortcuts" in
``docs/design.md``).
"""
