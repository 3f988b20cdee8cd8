"""``slogen validate`` passing means ``build`` and ``plan`` will not reject the spec, and back.

Specs are generated to sit near every backend's limits (objectives with many decimals, windows
that are and are not Datadog SLO timeframes, policies whose windows CloudWatch cannot evaluate,
PromQL that does and does not parse, low-traffic guards), then run through the real CLI. Every
malformed spec of the corpus is run the same way.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli import run
from tests.test_malformed import CASES, CORPUS, _args

PROMQL = [
    'sum(rate(http_requests_total{job="x",code=~"5.."}[{{ window }}]))',
    'sum(rate(http_requests_total{job="x"}[{{ window }}]))',
    'sum(rate(http_requests_total{job="x"}[{{ window }}])',  # unclosed
    "sum(rates(x_total[{{ window }}]))",  # unknown function
    "x_total[{{ window }}]",  # a range vector
    'sum(increase(x_total{le="0.3"}[{{ window }}]))',
    'rate(http_requests_total{code=~"5.."}[{{ window }}])',  # unaggregated
    "sum(irate(x_total[{{ window }}]))",  # ignores the window
    "sum by (code) (rate(http_requests_total[{{ window }}]))",  # labels only one side keeps
]
DATADOG = [
    "sum:x.requests.errors{env:prod}.as_count()",
    "sum:x.requests{env:prod}.as_count()",
]
WINDOWS = ["7d", "28d", "30d", "90d", "14d", "3d", "1w", "12h"]
OBJECTIVES = ["99", "99.9", "99.95", "99.995", "99.9995", "95.5", "99.12345", "90"]
TIERS = [
    "{severity: page, budget: 2%, long: 1h, short: 5m}",
    "{severity: page, budget: 5%, long: 6h, short: 30m}",
    "{severity: ticket, budget: 10%, long: 3d, short: 6h}",
    "{severity: ticket, budget: 10%, long: 2d}",
    "{severity: page, budget: 1%, long: 30m, short: 20s}",
    "{severity: ticket, budget: 20%, long: 5d, short: 12h}",
    "{severity: page, budget: 3%, long: 90m, short: 7m}",
]


@st.composite
def projects(draw: st.DrawFn) -> dict[str, str]:
    """File name -> text: a slogen.yaml with one policy and one service spec."""
    tiers = draw(st.lists(st.sampled_from(TIERS), min_size=1, max_size=3, unique=True))
    config = "policies:\n  custom:\n" + "".join(f"    - {t}\n" for t in tiers)
    backends = draw(
        st.lists(
            st.sampled_from(["prometheus", "datadog", "cloudwatch"]),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    lines = ["service: gen", "owner: team-a", "slos:"]
    for index in range(draw(st.integers(1, 2))):
        lines += [
            f"  - name: slo-{index}",
            f"    objective: {draw(st.sampled_from(OBJECTIVES))}",
            f"    window: {draw(st.sampled_from(WINDOWS))}",
            "    indicator:",
        ]
        if "prometheus" in backends:
            lines += [
                "      prometheus:",
                f"        errors: '{draw(st.sampled_from(PROMQL))}'",
                f"        total: '{draw(st.sampled_from(PROMQL))}'",
            ]
        if "datadog" in backends:
            lines += [
                "      datadog:",
                f"        errors: '{DATADOG[0]}'",
                f"        total: '{DATADOG[1]}'",
            ]
        if "cloudwatch" in backends:
            stat = draw(st.sampled_from(["Sum", "SampleCount", "p99"]))
            lines += [
                "      cloudwatch:",
                f"        region: {draw(st.sampled_from(['eu-west-1', 'us-east-1']))}",
                "        errors: {namespace: AWS/ApplicationELB, metric: HTTPCode_Target_5XX_Count"
                f", stat: {stat}}}",
                "        total: {namespace: AWS/ApplicationELB, metric: RequestCount}",
            ]
        lines += ["    alerting:", f"      policy: {draw(st.sampled_from(['custom', 'workbook']))}"]
        if draw(st.booleans()):
            lines.append(f"      min_events: {draw(st.sampled_from([1, 100, 5000]))}")
    return {"slogen.yaml": config, "gen.yaml": "\n".join(lines) + "\n"}


def _agree(directory: Path, out: Path) -> None:
    validated = run("validate", str(directory), exit_code=None).exit_code
    built = run("build", str(directory), "-o", str(out), exit_code=None).exit_code
    planned = run("plan", str(directory), exit_code=None).exit_code
    assert validated in (0, 1)
    assert (validated, built, planned) in ((0, 0, 0), (1, 1, 1)), (validated, built, planned)
    if validated:
        assert not out.exists(), "a rejected spec must write nothing"


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(files=projects())
def test_validate_passes_exactly_when_build_and_plan_do(
    files: dict[str, str], tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path_factory.mktemp("gen")
    monkeypatch.chdir(root)
    specs = root / "specs"
    specs.mkdir()
    for name, text in files.items():
        (specs / name).write_text(text, encoding="utf-8")
    _agree(specs, root / "built")


@pytest.mark.parametrize("case", CASES)
def test_the_malformed_corpus_fails_everywhere(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(CORPUS)
    args = _args(case)
    out = tmp_path / "out"
    assert run("validate", *args, exit_code=None).exit_code == 1
    assert run("build", *args, "-o", str(out), exit_code=None).exit_code == 1
    assert not out.exists()
