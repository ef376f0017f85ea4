"""``python -m lbtoolkit.cli``: the ``lbtoolkit`` command, for a given interpreter."""

from lbtoolkit.cli import main

main()
