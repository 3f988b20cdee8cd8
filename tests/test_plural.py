"""Counted nouns, and that the CLI's summary lines use them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from slogen.plural import plural

SRC = Path(__file__).resolve().parents[1] / "src" / "slogen"


@pytest.mark.parametrize(
    ("count", "word", "many", "expected"),
    [
        (0, "service", None, "0 services"),
        (1, "service", None, "1 service"),
        (2, "service", None, "2 services"),
        (1, "SLO", None, "1 SLO"),
        (5, "SLO", None, "5 SLOs"),
        (1, "process", "processes", "1 process"),
        (3, "process", "processes", "3 processes"),
        (-1, "change", None, "-1 changes"),
    ],
)
def test_plural(count: int, word: str, many: str | None, expected: str) -> None:
    assert plural(count, word, many) == expected


@pytest.mark.parametrize("package", ["plan", "explain", "testing", "github", "cli"])
def test_no_counted_noun_says_s_in_parentheses(package: str) -> None:
    """A "(s)" after a placeholder in a message is what plural() replaces."""
    offenders = [
        f"{path.relative_to(SRC)}:{number}: {line.strip()}"
        for path in sorted((SRC / package).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\}\s*\w+\(s\)", line)
    ]
    assert offenders == []
