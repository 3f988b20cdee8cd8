"""validate's PromQL verdicts agree with what Prometheus itself accepts.

Every query of the corpus is put in a recording rule and given to the real ``promtool check
rules``; slogen's check (``promql-parser``) must accept exactly the queries promtool accepts,
except the experimental functions, which the Prometheus 3 grammar knows and Debian's 2.x
promtool does not: those slogen accepts with a warning, never silently.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from slogen.backends.prometheus.checks import (
    difference_problem,
    experimental_functions,
    meaning_problems,
    promql_problem,
)
from slogen.backends.prometheus.render import events_expr, good_to_errors, substitute
from slogen.backends.prometheus.semantics import INCREASE, RATE, query_kind
from slogen.backends.prometheus.source import PrometheusSource
from slogen.errors import Location
from tests.promtool import need_promtool, promtool_or_none

pytestmark = pytest.mark.promtool

# (query, parses) — the second item is what both promtool and slogen must conclude.
CORPUS: list[tuple[str, bool]] = [
    ('sum(rate(http_requests_total{job="api",code=~"5.."}[5m]))', True),
    ('sum(rate(http_requests_total{job="api"}[5m])', False),
    ("rates(x_total[5m])", False),
    ('sum(rate(x_total{code=~"("}[5m]))', False),
    ("rate(x_total[5m:1m])", True),
    ("sum by (le) (rate(x_bucket[5m])) / ignoring(le) group_left sum(rate(y[5m]))", True),
    ("sum(rate(x_total[5m])) by (a,)", True),
    ("rate(x_total[5m] @ end())", True),
    ("x offset -5m", True),
    ("sum without() (x)", True),
    ('foo{__name__="a"}', False),
    ('{__name__=~".+"}', True),
    ('{a=""}', False),
    ("x and on() y", True),
    ("x / on(a) group_left(b) y", True),
    ("absent_over_time(x[5m])", True),
    ("rate(x[0m])", False),
    ("sum(rate(x[5m])) +", False),
    ("sum(rate(x[5m])) > bool 0.001", True),
    ('histogram_quantile(0.99, sum by (le) (rate(x_bucket{le!="+Inf"}[5m])))', True),
    ('label_replace(up, "a", "$1", "b", "(.*)")', True),
    ("sum(increase(x_total[1h5m]))", True),
    ("sum(rate(x_total[5m] offset 1d))", True),
    ("count(x) - count(y) unless z", True),
    ("sum(rate(x_total[5m])) / sum(rate(y_total[5m])) * 100", True),
]
EXPERIMENTAL = [
    "sum(limitk(5, rate(x_total[5m])))",
    'sort_by_label(rate(x_total[5m]), "job")',
    "mad_over_time(x[5m])",
]


def promtool_accepts(promtool: str, query: str, directory: Path) -> bool:
    rules = directory / "rules.yml"
    # JSON is YAML: quoting the query this way keeps every character as written.
    doc = {"groups": [{"name": "g", "rules": [{"record": "r", "expr": query}]}]}
    rules.write_text(json.dumps(doc), encoding="utf-8")
    result = subprocess.run(
        [promtool, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60
    )
    return result.returncode == 0


@pytest.mark.parametrize(("query", "parses"), CORPUS)
def test_slogen_and_promtool_agree(query: str, parses: bool, tmp_path: Path) -> None:
    promtool = need_promtool(promtool_or_none())
    assert promtool_accepts(promtool, query, tmp_path) is parses, "the corpus is wrong"
    problem = promql_problem(query)
    assert (problem is None) is parses, problem


@pytest.mark.parametrize("query", EXPERIMENTAL)
def test_experimental_functions_are_flagged(query: str, tmp_path: Path) -> None:
    promtool = need_promtool(promtool_or_none())
    assert not promtool_accepts(promtool, query, tmp_path)  # Prometheus 2.x: unknown
    assert promql_problem(query) is None
    assert experimental_functions(query)


def test_plain_queries_use_no_experimental_function() -> None:
    for query, parses in CORPUS:
        if parses:
            assert experimental_functions(query) == (), query


@pytest.mark.parametrize(
    ("query", "kind"),
    [("x_total[5m]", "range vector"), ("rate(x[5m])[1h:1m]", "subquery"), ('"x"', "string")],
)
def test_rules_need_instant_vectors(query: str, kind: str) -> None:
    problem = promql_problem(query)
    assert problem is not None and kind in problem and "instant vector" in problem
    assert promql_problem(f"(({query}))") == problem


def test_renamed_functions_say_what_to_use() -> None:
    problem = promql_problem("holt_winters(x[5m], 0.5, 0.5)")
    assert problem is not None and "double_exponential_smoothing" in problem


# -- what the queries mean (validate rejects what Prometheus accepts but pages wrongly) --------

W = "[{{ window }}]"
RATE_ERRORS = f'sum(rate(x_total{{code=~"5.."}}{W}))'
RATE_TOTAL = f"sum(rate(x_total{W}))"


def _meaning(errors: str, total: str) -> dict[str, list[str]]:
    """Problems of an SLI's queries, by field (all errors: validate refuses the spec)."""
    found: dict[str, list[str]] = {}
    for p in meaning_problems(PrometheusSource(total, errors), "w", Location("f"), set()):
        assert p.severity == "error" and p.hint
        found.setdefault(p.path.rsplit(".", 1)[1], []).append(p.message)
    return found


@pytest.mark.parametrize(
    ("errors", "total"),
    [
        (RATE_ERRORS, RATE_TOTAL),
        (f'sum(increase(x_total{{code=~"5.."}}{W}))', f"sum(increase(x_total{W}))"),
        # one SLO per job: same labels kept, filtered the same way on both sides
        (
            f'sum by (job) (rate(x_total{{job="a",code=~"5.."}}{W}))',
            f'sum by (job) (rate(x_total{{job="a"}}{W}))',
        ),
        (f"(sum(rate(x_total{{c='5'}}{W})) or vector(0))", RATE_TOTAL),
        (f"sum(rate(a_total{W})) - sum(rate(b_total{W}))", f"sum(rate(a_total{W}))"),
        (RATE_ERRORS, f"sum(rate(x_total{W})) > 0"),
        (RATE_ERRORS, f"histogram_quantile(0.9, sum by (le) (rate(x_bucket{W})))"),
    ],
)
def test_queries_that_mean_one_ratio_per_slo_are_accepted(errors: str, total: str) -> None:
    assert _meaning(errors, total) == {}


@pytest.mark.parametrize(
    ("errors", "total", "field", "says"),
    [
        # no aggregation: each 5xx series divides by itself
        (f'rate(x_total{{code=~"5.."}}{W})', f"rate(x_total{W})", "errors", "per-series labels"),
        (RATE_ERRORS, f"rate(x_total{W})", "total", "per-series labels"),
        (f"sum without (pod) (rate(x_total{W}))", RATE_TOTAL, "errors", "per-series labels"),
        (f"topk(1, sum by (a) (rate(x_total{W})))", RATE_TOTAL, "errors", "keeps by (a)"),
        (f"sum by (a) (rate(x_total{W}))", f"sum by (b) (rate(x_total{W}))", "errors", "by (b)"),
        # sum by (code) on both sides: each 5xx code divides by its own total
        (
            f'sum by (code) (rate(x_total{{code=~"5.."}}{W}))',
            f"sum by (code) (rate(x_total{W}))",
            "errors",
            'selects on it differently from total (code=~"5..")',
        ),
        (f"sum(irate(x_total{W}))", RATE_TOTAL, "errors", "irate() looks only at the last two"),
        (RATE_ERRORS, f"sum(delta(x{W}))", "total", "the range of delta()"),
        (RATE_ERRORS, "sum(rate(x[5m] offset {{ window }}))", "total", "outside a range"),
        (RATE_ERRORS, "max_over_time(sum(rate(x[1m]))[{{ window }}:1m])", "total", "subquery"),
        (RATE_ERRORS, f"sum(rate(a{W})) + sum(increase(b{W}))", "total", "mixes rate() and"),
        (f"sum(increase(x{W}))", RATE_TOTAL, "errors", "counts with increase() but total with"),
        (f"sum(increase(x{W})) / 300", RATE_TOTAL, "errors", "scales increase() by a constant"),
        (RATE_ERRORS, f"sum(rate(x{W})) * 60", "total", "(* 60)"),
    ],
)
def test_queries_that_page_wrongly_are_refused_with_the_field(
    errors: str, total: str, field: str, says: str
) -> None:
    found = _meaning(errors, total)
    assert any(says in message for message in found.get(field, [])), found


def test_each_query_is_classified_and_the_rules_count_events_for_it() -> None:
    assert query_kind(PrometheusSource(RATE_TOTAL, RATE_ERRORS)) == RATE
    increase = PrometheusSource(f"sum(increase(x_total{W}))", f"sum(increase(y{W}))")
    assert query_kind(increase) == INCREASE
    total = 'slogen:sli_total:increase5m{service="s",slo="o"}'
    assert events_expr(total, INCREASE, 300, 300) == total
    assert events_expr(total, INCREASE, 3600, 300) == f"sum_over_time({total}[1h]) * 60 / 300"
    assert events_expr("t", RATE, 3600, 300) == "sum_over_time(t[1h]) * 60"
    assert events_expr("t", RATE, 300, 300) == "t * 300"


# (total, good): the errors rule of a ``good`` SLI is "(total) - (good)"; whether it is a valid
# rule is decided without parsing when neither query can break the other (see
# difference_problem), so promtool checks that shortcut's verdicts, both ways.
DIFFERENCES = [
    ("sum(rate(x_total[{{ window }}]))", 'sum(rate(x_total{code!~"5.."}[{{ window }}]))'),
    (
        "sum(rate(x_total[{{ window }}]))",
        "sum(rate(x_total{ok='1'}[{{ window }}])) # the good ones",
    ),
    ("sum(rate(x_total[{{ window }}])) # all of them", "sum(rate(y_total[{{ window }}]))"),
    ("sum(increase(x_total[{{ window }}]))", "sum(increase(y_total[{{ window }}] offset 1m))"),
    ('sum(rate(x_total{a="#"}[{{ window }}]))', 'sum(rate(y_total{a="#"}[{{ window }}]))'),
    ("sum(rate(x_total[{{ window }}:1m]))", "sum(rate(y_total[{{ window }}:1m]))"),
    ("sum(rate(x_total[{{ window }}])) # all\n+ 0", "sum(rate(y_total[{{ window }}]))"),
]


@pytest.mark.parametrize(("total", "good"), DIFFERENCES)
def test_total_minus_good_is_refused_exactly_when_promtool_refuses_it(
    total: str, good: str, tmp_path: Path
) -> None:
    promtool = need_promtool(promtool_or_none())
    source = PrometheusSource(total=total, good=good)
    for query in (total, good):  # each alone is a valid rule: only the difference is in question
        assert promql_problem(substitute(query, 300)) is None
    expected = promtool_accepts(promtool, good_to_errors(source, 300), tmp_path)
    assert (difference_problem(source, 300) is None) is expected
