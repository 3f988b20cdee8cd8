"""promtool rule unit-test files, as data: input series, checks, test groups and their YAML.

No knowledge of SLOs and no processes (:mod:`slogen.testing.promtool` runs the files). Each
check carries an id in a PromQL comment (``... # check: <id>``) so promtool's failure report
maps back to it. A check is either an *assertion* (its failure fails the run) or a *probe*: a
probe expects no result, and when promtool reports otherwise, what it got is recorded as an
observation. Probes cost nothing extra (they read the same evaluated series) and report, for
example, when an alert actually started firing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import yaml

from slogen.durations import format_duration


def duration(seconds: float) -> str:
    """A Prometheus duration for whole seconds (``3780`` → ``1h3m``)."""
    if seconds != int(seconds):
        raise ValueError(f"promtool durations are whole seconds here, got {seconds}")
    return format_duration(int(seconds))


def number_text(value: float | Fraction) -> str:
    """Shortest text of a number for series values and PromQL (no ``1e-05`` surprises)."""
    if value == int(value):
        return str(int(value))
    value = float(value)
    text = repr(value)
    if "e" in text:
        text = f"{value:.17f}".rstrip("0")
    return text


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def selector(name: str, labels: Mapping[str, str]) -> str:
    """``name{a="x",b="y"}`` in the given label order."""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
    return f"{name}{{{inner}}}"


@dataclass(frozen=True)
class Sample:
    """One expected sample of an instant query: its complete label set and value."""

    labels: Mapping[str, str]
    value: float = 1.0

    def series_text(self) -> str:
        labels = dict(self.labels)
        name = labels.pop("__name__", "")
        return selector(name, dict(sorted(labels.items())))


@dataclass(frozen=True)
class InputSeries:
    series: str  # e.g. 'http_requests_total{code="500"}'
    values: str  # promtool expanding notation, e.g. '0+6000x4000'


@dataclass(frozen=True)
class ExprCheck:
    """``expr`` evaluated at ``eval_time`` (seconds) must return exactly ``expected``.

    An empty ``expected`` means "no result". A ``probe`` never fails the run: when promtool
    reports something other than nothing, that becomes an observation.
    """

    id: str
    expr: str
    eval_time: int
    expected: tuple[Sample, ...] = ()
    probe: bool = False

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[\w.:@%=+-]+", self.id):
            raise ValueError(f"check ids are one word (letters, digits, ._:@%=+-): {self.id!r}")
        if self.probe and self.expected:
            raise ValueError("a probe expects no result")

    def to_yaml(self) -> dict[str, Any]:
        return {
            "expr": f"{self.expr} # check: {self.id}",
            "eval_time": duration(self.eval_time),
            "exp_samples": [{"labels": s.series_text(), "value": s.value} for s in self.expected],
        }


@dataclass
class TestGroup:
    """One promtool test group: its own input series, evaluated from time 0."""

    __test__ = False  # not a pytest class

    name: str
    series: list[InputSeries]
    checks: list[ExprCheck] = field(default_factory=list)
    interval: int = 60
    # Rule files (name → text) for this group; None: the ones given to run_tests.
    rule_files: Mapping[str, str] | None = None
    # Relative CPU cost, to balance groups over processes (default: ``end``, the time range).
    cost: float | None = None

    @property
    def end(self) -> int:
        """The last evaluation instant promtool needs (it evaluates rules up to here)."""
        return max(c.eval_time for c in self.checks)

    @property
    def weight(self) -> float:
        return self.cost if self.cost is not None else float(self.end)

    def to_yaml(self, probes: bool = True) -> dict[str, Any]:
        return {
            "name": self.name,
            "interval": duration(self.interval),
            "input_series": [{"series": s.series, "values": s.values} for s in self.series],
            "promql_expr_test": [c.to_yaml() for c in self.checks if probes or not c.probe],
        }


def test_file_text(
    rule_files: Sequence[str],
    groups: Sequence[TestGroup],
    *,
    evaluation_interval: int = 60,
    probes: bool = True,
    header: str = "",
) -> str:
    """A promtool unit-test file. Without ``probes`` it holds only assertions, so that
    ``promtool test rules`` passes on it exactly when every assertion holds (for users' CI)."""
    doc = {
        "rule_files": list(rule_files),
        "evaluation_interval": duration(evaluation_interval),
        "tests": [g.to_yaml(probes) for g in groups],
    }
    return header + yaml.safe_dump(doc, sort_keys=False, width=10_000)


test_file_text.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
