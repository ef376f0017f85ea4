"""A fresh clone passes the README's ``make test`` with nothing but what the repository installs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.repo.support import ROOT


@pytest.mark.slow
def test_a_fresh_clone_passes_make_test() -> None:
    finished = subprocess.run(
        ["bash", str(ROOT / "scripts" / "fresh-check.sh"), str(ROOT)],
        check=False,
        timeout=1800,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    sys.stdout.write(finished.stdout[-4000:])
    assert finished.returncode == 0, finished.stdout[-4000:]
    assert " passed" in finished.stdout
