"""CPU time and memory of a server's processes, read from ``/proc``.

A server's requests per CPU-second does not change when other work on the
machine slows it down, so it settles comparisons that a busy machine could
flip. A server may run workers in child processes (granian does), so the
figures cover the process and all its descendants.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "ANONYMOUS",
    "cpu_seconds",
    "descendants",
    "per_cpu_second",
    "resident_by_mapping",
    "rss_mib",
]

_TICKS = os.sysconf("SC_CLK_TCK")
ANONYMOUS = "anonymous"  # where resident_by_mapping counts memory mapped from no file
_PATH_COLUMN = 5


def _parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and brackets: fields follow its last ')'.
    return int(stat.rsplit(")", 1)[1].split()[1])


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it, as they are now."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = _parent_of(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(children.get(current, ()))
    return found


def _ticked_cpu_seconds(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0  # gone in the meantime: its time is no longer counted anywhere
    fields = stat.rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of proc(5); fields[0] is field 3.
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _threads_cpu_seconds(pid: int) -> float | None:
    """Time on CPU of the process's threads, in nanoseconds' precision; ``None`` if unknown."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            total += int((task / "schedstat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return total / 1e9


def cpu_seconds(pids: list[int]) -> float:
    """CPU time of ``pids`` (user plus system, all their threads), in seconds.

    ``utime + stime`` of ``/proc/PID/stat`` counts in clock ticks (10 ms): a
    server given a quarter of a busy CPU for a one-second slice shows 25 of
    them, a 4 % step. The per-thread ``schedstat`` counts the same time in
    nanoseconds, and is read where the kernel offers it; it misses threads
    that ended, which the servers measured here do not have.
    """
    total = 0.0
    for pid in pids:
        precise = _threads_cpu_seconds(pid)
        total += _ticked_cpu_seconds(pid) if precise is None else precise
    return total


def per_cpu_second(count: int, seconds: float) -> float:
    """``count`` over ``seconds`` of CPU time.

    A slice whose process shows no CPU time at all did not run: its rate is
    kept finite, where it stands out, rather than dividing by zero.
    """
    return count / max(seconds, 0.001)


def rss_mib(pids: list[int]) -> float:
    """Resident memory of ``pids`` together, in MiB."""
    total = 0
    for pid in pids:
        try:
            lines = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in lines if line.startswith("VmRSS:")), 0)
    return total / 1024


def resident_by_mapping(pid: int) -> dict[str, float]:
    """Resident memory of ``pid`` by what is mapped, in MiB.

    A file's mappings (its code, read-only data and relocated data) count under
    the file's name; anonymous memory, where the heap, the Python objects and
    the thread stacks live, under :data:`ANONYMOUS`.
    """
    resident: dict[str, float] = {}
    name = ANONYMOUS
    try:
        lines = Path(f"/proc/{pid}/smaps").read_text().splitlines()
    except OSError:
        return resident
    for line in lines:
        fields = line.split()
        if not fields:
            continue
        if not fields[0].endswith(":"):
            # A mapping's header: range, permissions, offset, device, inode, then its path if any.
            path = fields[_PATH_COLUMN] if len(fields) > _PATH_COLUMN else ""
            name = Path(path).name if path.startswith("/") else ANONYMOUS
        elif fields[0] == "Rss:":
            resident[name] = resident.get(name, 0.0) + int(fields[1]) / 1024
    return resident
