"""The protobuf messages of ``bench/protos``, generated into ``bench/.gen/benchgen`` by the runner.

Imported by name at run time: the generated modules are not on mypy's path,
so they are typed ``Any`` here.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["pb"]

pb: Any = importlib.import_module("benchgen.bench_messages_pb2")
