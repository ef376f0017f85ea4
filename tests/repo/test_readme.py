"""README.md's extras table says what pyproject.toml's optional dependencies are."""

from __future__ import annotations

import re
import tomllib

from tests.repo.support import ROOT


def _extras() -> dict[str, list[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras: dict[str, list[str]] = project["optional-dependencies"]
    return extras


def _table_rows() -> list[str]:
    """The first cell of each row of the README's table headed ``| extra |``, backticks off."""
    lines = (ROOT / "README.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| extra |"))
    rows = []
    for line in lines[start + 2 :]:  # past the header and its |---| line
        if not line.startswith("|"):
            break
        rows.append(line.split("|")[1].strip().strip("`"))
    return rows


def test_the_readme_lists_every_extra_and_no_other() -> None:
    rows = _table_rows()
    assert len(rows) == len(set(rows)), f"an extra listed twice: {rows}"
    assert sorted(rows) == sorted(_extras())


def test_all_installs_exactly_the_extras_listed_above_it() -> None:
    # The README says `all` is "every plugin above": the rows before it are its members.
    rows = _table_rows()
    (spec,) = _extras()["all"]
    members = re.fullmatch(r"lbtoolkit\[([a-z0-9_,-]+)\]", spec)
    assert members is not None, spec
    assert sorted(members[1].split(",")) == sorted(rows[: rows.index("all")])
