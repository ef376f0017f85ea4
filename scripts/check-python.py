"""Fail early, with a clear message, when the interpreter is too old."""

import sys

if sys.version_info < (3, 11):
    sys.exit(f"lbtoolkit needs Python 3.11 or newer; {sys.executable} is {sys.version.split()[0]}")
