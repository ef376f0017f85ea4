"""Every code block of docs/plugins/writing-a-plugin.md is copied from the mailer or its tests."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "plugins" / "writing-a-plugin.md"
SOURCES = [
    *sorted((ROOT / "examples" / "plugins" / "mailer").rglob("*.py")),
    ROOT / "examples" / "plugins" / "mailer" / "pyproject.toml",
    *sorted((ROOT / "tests" / "examples").glob("test_mailer*.py")),
    ROOT / "tests" / "examples" / "notify" / "notify.proto",
]


def _lines(text: str) -> list[str]:
    """Non-blank lines without their indentation: a quoted block is dedented."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def _contains(haystack: list[str], needle: list[str]) -> bool:
    return any(
        haystack[start : start + len(needle)] == needle
        for start in range(len(haystack) - len(needle) + 1)
    )


def test_every_code_block_is_quoted_from_a_real_file() -> None:
    blocks = re.findall(r"```\w*\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.DOTALL)
    sources = [_lines(path.read_text(encoding="utf-8")) for path in SOURCES]
    invented = [block for block in blocks if not any(_contains(s, _lines(block)) for s in sources)]
    assert len(blocks) > 20
    assert invented == []
