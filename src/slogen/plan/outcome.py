"""What happened when a plan was applied: per change, done, failed (and why) or not attempted."""

from __future__ import annotations

from dataclasses import dataclass, field

from slogen.plan.model import SYMBOLS, Change
from slogen.plural import plural

DONE, FAILED, SKIPPED = "done", "failed", "not attempted"


@dataclass
class Outcome:
    change: Change
    status: str
    error: str = ""


@dataclass
class ApplyReport:
    outcomes: list[Outcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # failures not tied to one change (reload...)
    notes: list[str] = field(default_factory=list)

    def add(self, change: Change, status: str, error: str = "") -> None:
        self.outcomes.append(Outcome(change, status, error))

    def merge(self, other: ApplyReport) -> None:
        """Take in the outcomes, errors and notes of one target's apply."""
        self.outcomes.extend(other.outcomes)
        self.errors.extend(other.errors)
        self.notes.extend(other.notes)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def ok(self) -> bool:
        return not self.errors and self.count(FAILED) == 0 and self.count(SKIPPED) == 0

    def render(self) -> str:
        lines = []
        if not self.ok:
            lines.append(
                f"Apply incomplete: {self.count(DONE)} done, {self.count(FAILED)} failed, "
                f"{self.count(SKIPPED)} not attempted."
            )
            for o in self.outcomes:
                symbol = SYMBOLS[o.change.action]
                if o.status == FAILED:
                    lines.append(f"  failed         {symbol} {o.change.address}: {o.error}")
            for o in self.outcomes:
                if o.status == SKIPPED:
                    lines.append(f"  not attempted  {SYMBOLS[o.change.action]} {o.change.address}")
            for o in self.outcomes:
                if o.status == DONE:
                    lines.append(f"  done           {SYMBOLS[o.change.action]} {o.change.address}")
            lines.extend(f"  error: {e}" for e in self.errors)
            lines.append("Run 'slogen plan' to see what is left to do.")
        else:
            lines.append(f"Apply complete: {plural(self.count(DONE), 'change')} made.")
        lines.extend(self.notes)
        return "\n".join(lines)
