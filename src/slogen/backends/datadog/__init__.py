"""Datadog: a metric-based SLO object per SLO and one alert per policy tier.

The package, by stage: :mod:`.source` (the ``datadog`` indicator and handles in specs),
:mod:`.facts` (Datadog's documented limits), :mod:`.forms` (how each tier is expressed),
:mod:`.checks` (every check, before anything is rendered), :mod:`.render` (desired
resources; :mod:`.no_traffic` the opt-in monitor on a silent total; :mod:`.dashboard` one
dashboard per service), :mod:`.normalise` (the
comparison form of live objects), :mod:`.files` (the ``files`` target), :mod:`.api` (the
``api`` target) and :mod:`.history` (per-minute SLI counts for ``slogen backtest`` and
``slogen status``); datadog-api-client is imported by these two only, and only when used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial

from slogen.backends import common
from slogen.backends.contract import Capabilities, HistoryReader, Target
from slogen.backends.datadog import dashboard, no_traffic
from slogen.backends.datadog.checks import validate
from slogen.backends.datadog.files import STORE
from slogen.backends.datadog.forms import plan_notes, tier_forms
from slogen.backends.datadog.render import render as render_resources
from slogen.backends.datadog.schema import SCHEMA
from slogen.backends.datadog.source import read_notify, read_source
from slogen.errors import Problem
from slogen.resources import Resource
from slogen.spec.model import SLO, Project, Service
from slogen.spec.model import Target as TargetSettings


class DatadogBackend:
    """The Datadog backend behind :class:`slogen.backends.contract.Backend`."""

    name = "datadog"
    capabilities = Capabilities(
        openslo_source="Datadog",
        target_options={"files": ("dir",), "api": ("host",)},
        immutable={"monitor": frozenset({"type"})},  # a monitor cannot change its type
        needs_recipients=True,  # a monitor notifies only the @handles in its message
        history=True,  # per-minute sums through the metrics query API (see .history)
        schema=SCHEMA,
    )

    # stages that are plain functions of the package's modules
    read_source = staticmethod(read_source)
    read_notify = staticmethod(read_notify)
    plan_notes = staticmethod(plan_notes)

    def validate(self, project: Project, templates: str | None = None) -> list[Problem]:
        return validate(project) + no_traffic.validate(project)

    def render(self, project: Project, templates: str | None) -> list[Resource]:
        # every object carries the project's tag (the ownership tags' scope), given at render
        resources = render_resources(project, templates)
        resources = common.with_no_traffic(
            project,
            resources,
            self.name,
            partial(no_traffic.monitor, project=project.project),
            templates,
        )
        # one dashboard per service, after the service's SLOs and monitors (it names the SLOs)
        return dashboard.with_dashboards(resources, dashboard.render(project, templates))

    def tier_forms(self, service: Service, slo: SLO) -> dict[str, str]:
        return {**tier_forms(service, slo), **no_traffic.tier_forms(slo)}

    def files(self, resources: Sequence[Resource], options: Mapping[str, object]) -> dict[str, str]:
        return STORE.files_for(resources)

    def target(self, settings: TargetSettings) -> Target:
        if settings.type == "api":  # imported here: only the API target uses the Datadog client
            from slogen.backends.datadog.api import ApiTarget

            return ApiTarget(settings)
        return STORE.target(settings)  # "files", the only other type the loader accepts

    def history(self, project: Project, url: str | None) -> HistoryReader | str:
        """Where the SLIs' history is read from (``url`` overrides the API host), or what to
        set for it; nothing is requested until the reader reads."""
        from slogen.backends.datadog.history import reader  # loads no SDK until it reads

        return reader(project, url)


BACKEND = DatadogBackend()
