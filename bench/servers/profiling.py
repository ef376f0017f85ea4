"""Statistical profiles (pyinstrument) of a measured window, when ``BENCH_PROFILE`` is set.

With ``BENCH_PROFILE=/path/name`` a process profiles only what it measures:
workers wrap their timed loops in :func:`window`; servers call
:func:`install_signal_window`, and the runner sends SIGUSR1 before its load
and SIGUSR2 after. Each window writes ``name[-label].txt`` (pyinstrument's
call tree) and ``name[-label].json``: self time per function and per package,
and how many operations the window served, so costs compare per operation.
"""

from __future__ import annotations

import json
import os
import signal
import sysconfig
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["IDLE", "install_signal_window", "package_of", "window"]

IDLE = "idle (waiting for I/O)"
_STDLIB = sysconfig.get_paths()["stdlib"]
_IDLE_FUNCTIONS = {"select", "poll", "epoll.poll", "sleep"}


def package_of(path: str | None, function: str) -> str:
    """A short name for where code lives: ``grpc``, ``lbtoolkit.server``, ``asyncio``."""
    if not path or path.startswith("<"):
        return IDLE if function in _IDLE_FUNCTIONS else "builtins"
    if "site-packages/" in path:
        part = path.split("site-packages/", 1)[1]
        return part.split("/", 1)[0].removesuffix(".py")
    if "/src/lbtoolkit/" in path:
        parts = path.split("/src/lbtoolkit/", 1)[1].split("/")
        return "lbtoolkit" if len(parts) == 1 else f"lbtoolkit.{parts[0]}"
    if "/bench/" in path:
        return "bench (handlers, generated code)"
    if path.startswith(_STDLIB):
        return path[len(_STDLIB) :].lstrip("/").split("/", 1)[0].removesuffix(".py")
    return Path(path).name


def _summarize(root: Any) -> dict[str, Any]:
    functions: Counter[tuple[str, str]] = Counter()
    packages: Counter[str] = Counter()
    stack = [root]
    while stack:
        frame = stack.pop()
        real = [c for c in frame.children if not c.is_synthetic]
        stack.extend(real)
        self_time = frame.time - sum(c.time for c in real)
        if self_time <= 0 or frame.is_synthetic:
            continue
        if (frame.file_path or "").startswith("<thread>"):
            packages["builtins"] += self_time  # the thread's root, not a function
            continue
        path = frame.file_path
        where = f"{frame.file_path_short}:{frame.line_no}" if path else "<built-in>"
        functions[frame.function, where] += self_time
        packages[package_of(path, frame.function)] += self_time
    return {
        "total_seconds": root.time,
        "functions": [
            {"function": name, "where": where, "seconds": seconds}
            for (name, where), seconds in functions.most_common(200)
        ],
        "packages": [{"package": name, "seconds": s} for name, s in packages.most_common()],
    }


class _Recorder:
    def __init__(self, target: Path) -> None:
        self.target = target
        self._profiler: Any = None

    def start(self) -> None:
        if self._profiler is None:
            from pyinstrument import Profiler  # noqa: PLC0415 - only when profiling

            self._profiler = Profiler(interval=0.0005, async_mode="disabled")
            self._profiler.start()

    def stop(self, label: str = "", operations: int | None = None) -> None:
        profiler, self._profiler = self._profiler, None
        if profiler is None:
            return
        session = profiler.stop()
        name = f"{self.target.name}-{label}" if label else self.target.name
        base = self.target.with_name(name)
        base.parent.mkdir(parents=True, exist_ok=True)
        text = profiler.output_text(unicode=False, color=False, show_all=False)
        Path(f"{base}.txt").write_text(text)
        root = session.root_frame()
        summary: dict[str, Any] = {"total_seconds": 0, "functions": [], "packages": []}
        if root is not None:
            summary = _summarize(root)
        summary["operations"] = operations
        Path(f"{base}.json").write_text(json.dumps(summary, indent=1))


_target = os.environ.get("BENCH_PROFILE")
_RECORDER = _Recorder(Path(_target)) if _target else None


@contextmanager
def window(label: str = "", operations: Callable[[], int] | None = None) -> Iterator[None]:
    """Profile the block (when ``BENCH_PROFILE`` is set); ``operations()`` counts its work."""
    if _RECORDER is None:
        yield
        return
    _RECORDER.start()
    try:
        yield
    finally:
        _RECORDER.stop(label, operations() if operations is not None else None)


def install_signal_window() -> None:
    """Servers: SIGUSR1 starts the profile, SIGUSR2 stops and writes it."""
    recorder = _RECORDER
    if recorder is None:
        return
    signal.signal(signal.SIGUSR1, lambda *_: recorder.start())
    signal.signal(signal.SIGUSR2, lambda *_: recorder.stop())
