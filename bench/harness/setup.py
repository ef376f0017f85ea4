"""What the suite needs before it measures: load generators, packages, local servers."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING

from bench.harness.context import ROOT

if TYPE_CHECKING:
    from bench.harness.context import Context

__all__ = ["ensure_packages", "ensure_services", "ensure_tools", "tool_versions"]

# command -> Debian package
_TOOLS = {"wrk": "wrk", "h2load": "nghttp2-client"}
# module -> PyPI requirement (the `bench` extra of pyproject.toml)
_PACKAGES = {"fastapi": "fastapi>=0.110", "pyinstrument": "pyinstrument>=4.6"}


def ensure_tools(ctx: Context) -> None:
    """Install wrk and h2load from Debian's packages when they are missing."""
    missing = sorted({pkg for cmd, pkg in _TOOLS.items() if shutil.which(cmd) is None})
    if not missing:
        return
    ctx.log(f"installing {', '.join(missing)} (apt-get)")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", *missing], check=True, env=env)


def ensure_packages(ctx: Context) -> None:
    """Install the ``bench`` extra's packages into this interpreter when missing."""
    missing = [req for mod, req in _PACKAGES.items() if importlib.util.find_spec(mod) is None]
    if missing:
        ctx.log(f"installing {', '.join(missing)} (pip)")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *missing], check=True)


def ensure_services(ctx: Context, *names: str) -> bool:
    """Start the local servers a scenario needs; ``False`` if one cannot be had."""
    script = ROOT / "scripts" / "ensure-services.sh"
    result = subprocess.run(["bash", str(script), *names], check=False)
    if result.returncode != 0:
        ctx.log(f"could not start {', '.join(names)}")
    return result.returncode == 0


def tool_versions() -> dict[str, str]:
    """Versions of the load generators, for the report."""
    versions = {}
    for command, flag in (("wrk", "-v"), ("h2load", "--version")):
        if shutil.which(command) is None:
            continue
        out = subprocess.run([command, flag], capture_output=True, text=True, check=False)
        text = (out.stdout or out.stderr).strip().splitlines()
        versions[command] = " ".join(text[0].split()[:2]) if text else "?"
    return versions
