"""Which scenarios ``slogen test`` runs: per SLO with a Prometheus indicator, its rules (rendered,
or the user's with ``--rules``), synthetic series from its queries, and the test groups.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from slogen import yamltext
from slogen.backends import registry
from slogen.backends.contract import uses
from slogen.backends.prometheus import base_window
from slogen.backends.prometheus.source import PrometheusSource
from slogen.engine import analyse_slo
from slogen.resources import Resource
from slogen.spec.model import SLO, Project, Service
from slogen.testing.promtool import rule_file_from_prometheusrule
from slogen.testing.rendered import RenderedSLO
from slogen.testing.scenarios import Scenario, ScenarioBuilder, SLOTests
from slogen.testing.synth import SynthesisError, synthesise
from slogen.testing.testfile import TestGroup
from slogen.testing.timing import INTERVAL


@dataclass
class TestPlan:
    __test__ = False

    slos: list[SLOTests]
    skipped: list[tuple[str, str]]  # (SLO, why it is not tested)

    @property
    def groups(self) -> list[TestGroup]:
        return [g for s in self.slos for g in s.groups]

    @property
    def scenarios(self) -> list[Scenario]:
        return [x for s in self.slos for x in s.scenarios]

    @property
    def problems(self) -> list[SLOTests]:
        return [s for s in self.slos if s.problem]


def load_rule_files(paths: Sequence[str | Path]) -> dict[str, str]:
    """Rule files given with ``--rules`` (files or directories; plain or PrometheusRule)."""
    files: dict[str, str] = {}
    for raw in paths:
        path = Path(raw)
        found = (
            sorted(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())
            if path.is_dir()
            else [path]
        )
        for p in found:
            text = p.read_text(encoding="utf-8")
            doc = yamltext.load(text)
            if isinstance(doc, dict) and doc.get("kind") == "PrometheusRule":
                text = rule_file_from_prometheusrule(text)
            elif not (isinstance(doc, dict) and "groups" in doc):
                raise ValueError(f"{p}: not a Prometheus rule file (no 'groups')")
            files[str(p)] = text
    return files


def plan_tests(
    project: Project,
    only: str | None = None,
    rule_files: Mapping[str, str] | None = None,
    templates: str | None = None,
    tiers: Sequence[str] = (),
) -> TestPlan:
    """Every test group and scenario for the SLOs of ``project`` (``only``: SERVICE[/SLO];
    ``tiers``: only these tier ids, e.g. ``page-1h``).

    ``rule_files``: test these (the user's, e.g. deployed) rules instead of rendering them;
    the expected alert labels still come from the specs.
    """
    resources = registry.get("prometheus").render(project, templates)
    slos: list[SLOTests] = []
    skipped: list[tuple[str, str]] = []
    for service, slo in project.slos():
        name = f"{service.name}/{slo.name}"
        if only is not None and only not in (service.name, name):
            continue
        if not uses("prometheus", slo):
            skipped.append((name, "no prometheus indicator, nothing to test"))
            continue
        if tiers and not {t.id for t in slo.policy.tiers} & set(tiers):
            skipped.append((name, f"no tier {' or '.join(tiers)} in policy {slo.policy.name}"))
            continue
        slos.append(_plan_slo(service, slo, resources, rule_files, tiers))
    return TestPlan(slos, skipped)


def _plan_slo(
    service: Service,
    slo: SLO,
    resources: Sequence[Resource],
    rule_files: Mapping[str, str] | None,
    tiers: Sequence[str] = (),
) -> SLOTests:
    """One SLO's scenarios; an SLO that cannot be tested says why in ``problem``."""
    tests = SLOTests(service.name, slo.name, None, None)
    mine = [r for r in resources if r.key.startswith(f"{service.name}/")]
    tier_ids = {tier.id for tier in slo.policy.tiers}  # the tiers' alerts (not no-traffic)
    alerts = {
        r.key.split("/")[2]: r.body
        for r in mine
        if r.kind == "alert"
        and r.key.startswith(f"{service.name}/{slo.name}/")
        and r.key.split("/")[2] in tier_ids
    }
    source = slo.indicator.source("prometheus")
    assert isinstance(source, PrometheusSource)  # plan_tests only plans SLOs that have one
    try:
        synthesis = synthesise(source, base_window(slo))
    except SynthesisError as exc:
        tests.problem = f"cannot synthesise series for the {exc.query} query: {exc.reason}"
        return tests
    files = (
        dict(rule_files) if rule_files is not None else registry.get("prometheus").files(mine, {})
    )
    rendered = RenderedSLO(
        service.name,
        slo.name,
        files,
        alerts,
        {m.id: m for m in analyse_slo(slo)},
        INTERVAL if synthesis.irate_only else base_window(slo),
        slo.alerting.min_events,
        output_labels=dict(synthesis.output_labels),
    )
    tests.rendered, tests.synthesis = rendered, synthesis
    try:
        ScenarioBuilder(tests, slo, rendered, synthesis).build(tiers)
    except ValueError as exc:
        where = "the given rule files" if rule_files is not None else "the rendered rules"
        tests.problem = f"{exc} in {where}"
        tests.groups.clear()
        tests.scenarios.clear()
    return tests
