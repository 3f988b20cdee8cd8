"""The Prometheus backend: recording rules and one alert per tier, one rule file per service.

Modules: :mod:`.source` (the spec's ``indicator.prometheus`` and routing labels), :mod:`.checks`
(PromQL and everything else validate must catch), :mod:`.render` (the rules), :mod:`.no_traffic`
(the opt-in alert on a silent total), :mod:`.rulefiles`
(the files they are written to), and the targets: :mod:`.files` (a directory, with optional
reload), :mod:`.ruler` (the Mimir/Cortex ruler API), :mod:`.vmalert` (rule files for vmalert
over VictoriaMetrics), :mod:`.amp` (Amazon Managed Service for Prometheus).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING

from slogen.backends import common
from slogen.backends.contract import Capabilities, target_label
from slogen.backends.prometheus import source
from slogen.backends.prometheus.render import base_window
from slogen.backends.prometheus.schema import SCHEMA

if TYPE_CHECKING:
    from slogen.backends.contract import HistoryReader, Target
    from slogen.errors import Problem
    from slogen.resources import Resource
    from slogen.spec.checks import Checker, Field
    from slogen.spec.model import SLO, Project, Service
    from slogen.spec.model import Target as TargetSettings


class PrometheusBackend:
    name = "prometheus"
    capabilities = Capabilities(
        openslo_source="Prometheus",
        # query_url: where `slogen backtest`/`status` read history (any target type: the
        # rules may be written to files that some Prometheus, reached elsewhere, evaluates)
        target_options={
            "files": ("dir", "reload_url", "format", "query_url"),
            "ruler": ("url", "namespace", "tenant", "username", "password", "token", "query_url"),
            "vmalert": ("dir", "url", "query_url"),
            "amp": ("workspace_id", "region", "endpoint_url", "query_url"),
        },
        required_options={
            "ruler": ("url",),
            "vmalert": ("dir", "url"),
            "amp": ("workspace_id", "region"),
        },
        build_options=("format",),
        history=True,
        schema=SCHEMA,
    )

    def read_source(self, check: Checker, f: Field) -> object | None:
        return source.read_source(check, f)

    def read_notify(self, check: Checker, f: Field) -> object | None:
        return source.read_notify(check, f)

    def validate(self, project: Project, templates: str | None = None) -> list[Problem]:
        from slogen.backends.prometheus.checks import validate

        return validate(project)

    def render(self, project: Project, templates: str | None) -> list[Resource]:
        from slogen.backends.prometheus import no_traffic
        from slogen.backends.prometheus.render import render

        tname = target_label(project.target(self.name))
        resources = render(project, tname, templates)  # every alert with the project annotation
        no_traffic_alert = partial(no_traffic.alert, project=project.project)
        return common.with_no_traffic(project, resources, self.name, no_traffic_alert, templates)

    def files(self, resources: Sequence[Resource], options: Mapping[str, object]) -> dict[str, str]:
        from slogen.backends.prometheus.rulefiles import rule_files

        return rule_files(list(resources), str(options.get("format") or "rules"))

    def target(self, settings: TargetSettings) -> Target:
        # each target's module is imported only when used (no ruler client to build files)
        if settings.type == "ruler":
            from slogen.backends.prometheus.ruler import RulerTarget

            return RulerTarget(settings)
        if settings.type == "vmalert":
            from slogen.backends.prometheus.vmalert import VmalertTarget

            return VmalertTarget(settings)
        if settings.type == "amp":
            from slogen.backends.prometheus.amp import AmpTarget

            return AmpTarget(settings)
        from slogen.backends.prometheus.files import RuleFilesTarget

        return RuleFilesTarget(settings)

    def tier_forms(self, service: Service, slo: SLO) -> dict[str, str]:
        from slogen.backends.prometheus import no_traffic
        from slogen.backends.prometheus.render import tier_forms

        return {**tier_forms(service, slo), **no_traffic.tier_forms(slo)}

    def plan_notes(self, project: Project) -> list[str]:
        return []

    def history(self, project: Project, url: str | None) -> HistoryReader | str:
        """The query API to read SLI history from: ``url`` (``--prometheus``), else the target's
        ``query_url``; else why there is none (:func:`.history.reader`)."""
        from slogen.backends.prometheus.history import reader

        return reader(project, url)


BACKEND = PrometheusBackend()

__all__ = ["BACKEND", "base_window"]
