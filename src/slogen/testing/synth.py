"""Synthetic counters for an SLO, built from the spec's own Prometheus queries.

Three steps, each of which can refuse with a reason (:class:`SynthesisError`), never guess:

1. **Series.** Every vector selector the queries read (``errors`` or ``good``, and ``total``) is
   collected. For each metric, slogen enumerates candidate values for the labels its matchers
   name (a value that satisfies each matcher and one that violates it: for a regex the shortest
   string it matches, found by walking the parsed pattern, and a plain word it does not match)
   and keeps one concrete series per distinct combination of selectors it is matched by. With
   ``errors: x{code=~"5.."}`` and ``total: x``, that is ``x{code="500"}`` (both) and
   ``x{code="other"}`` (total only). Labels named in ``sum by (...)`` get one shared value.
2. **Model.** Each query becomes a linear combination of those series' per-second rates
   (:mod:`slogen.testing.promql`). ``good`` SLIs use ``total − good`` as their errors, exactly
   as the recording rules do.
3. **Rates.** For an error ratio ``e`` and total ``r`` (in the total query's units: events per
   second for ``rate()``, events per base window for ``increase()``, see ``per_event``),
   non-negative rates with ``errors = e·r`` and ``total = r`` are found exactly (fractions): a
   basic solution of the two equations uses at most two series, so every pair is tried; one
   that works at both ``e = 0`` and ``e = 1`` (and therefore at every ratio in between) is
   preferred, so every phase of a scenario moves the same counters.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from slogen.backends.prometheus.semantics import INCREASE, query_kind
from slogen.backends.prometheus.source import PrometheusSource
from slogen.durations import format_duration
from slogen.testing import promql
from slogen.testing.labelvalues import values_for
from slogen.testing.promql import Lin, Series, VectorSelector

WINDOW_PLACEHOLDER = re.compile(r"\{\{\s*window\s*\}\}")
MAX_COMBINATIONS = 50_000
SHARED_VALUE = "slogen"  # value of a `by` label no matcher pins down


class SynthesisError(Exception):
    """The queries of one SLO cannot be fed synthetic series; ``query`` names which one."""

    def __init__(self, query: str, reason: str):
        super().__init__(f"{query}: {reason}")
        self.query = query
        self.reason = reason


def witnesses(
    name: str, selectors: Sequence[VectorSelector], shared: Mapping[str, str]
) -> list[tuple[Series, tuple[bool, ...]]]:
    """One series per distinct set of ``selectors`` (all on metric ``name``) it matches."""
    labels: list[str] = []
    for sel in selectors:
        labels.extend(m.label for m in sel.matchers if m.label not in labels)
    labels.extend(label for label in shared if label not in labels)
    candidates: list[list[str]] = []
    for label in labels:
        values: list[str] = [shared[label]] if label in shared else []
        for sel in selectors:
            for matcher in sel.matchers:
                if matcher.label == label:
                    values.extend(values_for(matcher))
        values.append("")  # the label absent
        candidates.append(list(dict.fromkeys(values)))
    combinations = 1
    for values in candidates:
        combinations *= len(values)
    if combinations > MAX_COMBINATIONS:
        raise ValueError(
            f"the matchers on {name} have {combinations} label combinations to try "
            f"(more than {MAX_COMBINATIONS})"
        )
    found: dict[tuple[bool, ...], Series] = {}
    wanted = 2 ** len(selectors) - 1
    for combo in itertools.product(*candidates):
        assignment = {k: v for k, v in zip(labels, combo, strict=True) if v}
        pattern = tuple(sel.matches(name, assignment) for sel in selectors)
        if any(pattern) and pattern not in found:
            found[pattern] = Series(name, tuple(sorted(assignment.items())))
            if len(found) == wanted:
                break
    return [(series, pattern) for pattern, series in found.items()]


@dataclass(frozen=True)
class Synthesis:
    """Concrete series and how the SLI's queries read them."""

    series: tuple[Series, ...]
    errors: Lin  # the errors the recording rule computes (total − good for good SLIs)
    total: Lin
    queries: Mapping[str, Lin]  # each spec query (errors or good, total) as written
    output_labels: Mapping[str, str]  # labels the queries keep (sum by ...)
    functions: frozenset[str]  # range functions used: rate, irate, increase
    base_window: int
    # The total query's value per event per second: 1 for rate(), the base window for
    # increase() (a count over it). Scenario traffic is stated in events; this converts.
    per_event: Fraction = Fraction(1)
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def irate_only(self) -> bool:
        return self.functions == {"irate"}

    def roles(self, index: int) -> list[str]:
        """The spec queries that read series ``index``."""
        return [role for role, lin in self.queries.items() if lin.coeffs.get(index)]

    def _bases(self) -> list[tuple[int, ...]]:
        indices = range(len(self.series))
        return [(i,) for i in indices] + list(itertools.combinations(indices, 2))

    def _solve_basis(
        self, basis: tuple[int, ...], error_ratio: Fraction, total: Fraction
    ) -> list[Fraction] | None:
        e_target = error_ratio * total - self.errors.const
        t_target = total - self.total.const
        ec = [self.errors.coeffs.get(i, Fraction(0)) for i in basis]
        tc = [self.total.coeffs.get(i, Fraction(0)) for i in basis]
        if len(basis) == 1:
            x = None
            for coeff, target in ((tc[0], t_target), (ec[0], e_target)):
                if coeff:
                    x = target / coeff
                    break
            if x is None or x < 0:
                return None
            if ec[0] * x != e_target or tc[0] * x != t_target:
                return None
            values = [x]
        else:
            det = ec[0] * tc[1] - ec[1] * tc[0]
            if det == 0:
                return None
            x0 = (e_target * tc[1] - ec[1] * t_target) / det
            x1 = (ec[0] * t_target - e_target * tc[0]) / det
            if x0 < 0 or x1 < 0:
                return None
            values = [x0, x1]
        rates = [Fraction(0)] * len(self.series)
        for i, v in zip(basis, values, strict=True):
            rates[i] = v
        return rates

    def rates(self, error_ratio: float | Fraction, total: float | Fraction) -> list[Fraction]:
        """Per-second rates of every series giving ``errors = e·total`` and ``total``."""
        e, r = Fraction(error_ratio), Fraction(total)
        key = (e, r)
        if key in self._cache:
            return self._cache[key]
        preferred = self.preferred_basis(r)
        bases = ([preferred] if preferred else []) + self._bases()
        for basis in bases:
            rates = self._solve_basis(basis, e, r)
            if rates is not None:
                self._cache[key] = rates
                return rates
        raise SynthesisError(
            "errors/total",
            f"no non-negative rates of the series {', '.join(map(str, self.series))} give "
            f"an error ratio of {float(e):g} (errors = {float(e):g} × total)",
        )

    def preferred_basis(self, total: Fraction) -> tuple[int, ...] | None:
        """The first basis that works at error ratio 0 and 1 (so at every ratio in between)."""
        key = ("basis", total)
        if key not in self._cache:
            self._cache[key] = next(
                (
                    b
                    for b in self._bases()
                    if self._solve_basis(b, Fraction(0), total) is not None
                    and self._solve_basis(b, Fraction(1), total) is not None
                ),
                None,
            )
        return self._cache[key]

    def describe(self) -> str:
        """The series, the queries that read them, and which are held at 0."""
        moving = {i for e in (0, 1) for i, rate in enumerate(self.rates(e, 1)) if rate} | set(
            self.preferred_basis(Fraction(1)) or ()
        )
        parts = []
        for i, series in enumerate(self.series):
            roles = " and ".join(self.roles(i)) or "no query"
            parts.append(f"{series} ({roles}{'' if i in moving else ', held at 0'})")
        return ", ".join(parts)


def _query_text(template: str, base_window: int) -> str:
    return WINDOW_PLACEHOLDER.sub(format_duration(base_window), template)


def synthesise(source: PrometheusSource, base_window: int) -> Synthesis:
    """Series and linear model for an SLI's Prometheus queries, or :class:`SynthesisError`."""
    queries: dict[str, promql.Node] = {}
    for role in ("errors", "good", "total"):
        template = getattr(source, role)
        if template is None:
            continue
        text = _query_text(template, base_window)
        try:
            queries[role] = promql.parse(text)
        except promql.Unsupported as exc:
            raise SynthesisError(role, str(exc)) from exc
        except promql.PromQLError as exc:
            raise SynthesisError(role, f"{exc} in {text}") from exc
    functions: set[str] = set()
    for role, node in queries.items():
        used = promql.range_functions(node)
        if not used:
            raise SynthesisError(role, "no rate(), irate() or increase() of a counter")
        functions |= used
    if "irate" in functions and functions != {"irate"}:
        raise SynthesisError(
            "errors/total",
            "mixes irate() with rate()/increase(): the windows would see an incident at "
            "different speeds, so no detection time can be predicted",
        )
    by_metric: dict[str, list[VectorSelector]] = {}
    shared: dict[str, str] = {}
    for node in queries.values():
        for sel in promql.selectors(node):
            group = by_metric.setdefault(sel.name, [])
            if sel not in group:
                group.append(sel)
        for label in promql.grouping_labels(node):
            shared.setdefault(label, "")
    for label in shared:
        pinned = [
            m.value
            for sels in by_metric.values()
            for sel in sels
            for m in sel.matchers
            if m.label == label and m.op == "=" and m.value
        ]
        shared[label] = pinned[0] if pinned else SHARED_VALUE

    def role_of(selector: VectorSelector) -> str:
        return next(r for r, n in queries.items() if selector in promql.selectors(n))

    for sels in by_metric.values():  # a regex nothing matches: say which query has it
        for sel in sels:
            for matcher in sel.matchers:
                try:
                    values_for(matcher)
                except ValueError as exc:
                    raise SynthesisError(role_of(sel), str(exc)) from exc
    series: list[Series] = []
    for name, sels in by_metric.items():
        try:
            found = witnesses(name, sels, shared)
        except ValueError as exc:
            raise SynthesisError(role_of(sels[0]), str(exc)) from exc
        for index, sel in enumerate(sels):
            if not any(pattern[index] for _s, pattern in found):
                raise SynthesisError(
                    role_of(sel), f"no label values satisfy every matcher of {sel}"
                )
        series.extend(s for s, _pattern in found)
    values: dict[str, promql.Vector] = {}
    for role, node in queries.items():
        try:
            value = promql.evaluate(node, series)
        except promql.PromQLError as exc:
            raise SynthesisError(role, str(exc)) from exc
        if not isinstance(value, promql.Vector):
            raise SynthesisError(role, "is a number, not a vector of rates")
        if len(value.elements) != 1:
            found = "; ".join(str(dict(k)) for k in value.elements) or "nothing"
            raise SynthesisError(
                role,
                f"yields {len(value.elements)} series for the synthetic input ({found}); "
                "slogen's ratio rules need each query to aggregate to one series "
                "(sum(...) or sum by (...) with the same labels on every query)",
            )
        values[role] = value
    total_labels, total = next(iter(values["total"].elements.items()))
    other_role = "errors" if "errors" in values else "good"
    other_labels, other = next(iter(values[other_role].elements.items()))
    if other_labels != total_labels:
        raise SynthesisError(
            other_role,
            f"keeps labels {dict(other_labels)} but total keeps {dict(total_labels)}; the ratio "
            "rules divide series with identical labels",
        )
    errors = other if other_role == "errors" else total - other
    synthesis = Synthesis(
        tuple(series),
        errors,
        total,
        {role: next(iter(v.elements.values())) for role, v in values.items()},
        dict(total_labels),
        frozenset(functions),
        base_window,
        Fraction(base_window) if query_kind(source) == INCREASE else Fraction(1),
    )
    for e in (0, 1):
        try:
            synthesis.rates(e, 1)
        except SynthesisError as exc:
            raise SynthesisError(
                "errors/total",
                f"{exc.reason}; do the errors (or good) and total queries select the right series?",
            ) from None
    return synthesis
