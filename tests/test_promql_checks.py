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

from slogen.backends.prometheus.checks import experimental_functions, promql_problem
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
