"""User-facing problems: where, what was expected, what was found, how to fix.

Everything a user can get wrong is reported as a :class:`Problem` and collected in a
:class:`Problems` list, so one run shows every mistake at once. The CLI prints them and exits 1;
nothing below the CLI prints or exits.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True, order=True, slots=True)
class Location:
    """A position in a file; line and column are 1-based as editors show them."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return self.file


@dataclass(frozen=True)
class Problem:
    """One error (or warning) in the user's input."""

    location: Location
    path: str  # field path such as ``slos[0].objective``; empty for the whole file
    message: str  # "expected X, found Y" or a sentence saying what is wrong
    hint: str = ""  # how to fix it
    severity: str = "error"

    def render(self) -> str:
        where = f"{self.location}: "
        field_part = f"{self.path}: " if self.path else ""
        text = f"{where}{self.severity}: {field_part}{self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def as_dict(self) -> dict:
        return {
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.column,
            "path": self.path,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
        }


@dataclass
class Problems:
    """An ordered collection of problems found during one run."""

    items: list[Problem] = field(default_factory=list)

    def add(self, problem: Problem) -> None:
        self.items.append(problem)

    def error(self, location: Location, path: str, message: str, hint: str = "") -> None:
        self.items.append(Problem(location, path, message, hint))

    def extend(self, problems: Iterable[Problem]) -> None:
        self.items.extend(problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "warning"]

    def __bool__(self) -> bool:
        return bool(self.errors)

    def __iter__(self) -> Iterator[Problem]:
        return iter(sorted(self.items, key=lambda p: (p.location, p.path)))

    def __len__(self) -> int:
        return len(self.items)


class SlogenError(Exception):
    """A failure the user can act on (bad input, unreachable API, stale plan).

    Carries problems for spec errors, or just a message. The CLI turns it into a clean message and
    exit code 1; it must never reach the user as a traceback.
    """

    def __init__(self, message: str, problems: Problems | None = None, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.problems = problems or Problems()
        self.hint = hint


def did_you_mean(word: str, candidates: Iterable[str], listing: str = "allowed keys") -> str:
    """A hint naming the closest candidate, or listing them (as ``listing``) when none is close."""
    options = sorted(set(candidates))
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    if options and listing:
        return f"{listing}: " + ", ".join(options)
    return ""


def describe(value: object) -> str:
    """How a found value is named in messages: its type and a short rendering."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"string {shown!r}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__
