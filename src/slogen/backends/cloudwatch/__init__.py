"""CloudWatch: per tier, two metric-math alarms (long and short window) and a composite alarm.

The backend behind :class:`slogen.backends.contract.Backend`. Its modules, in data-flow order:

* :mod:`.source` - the spec's ``indicator.cloudwatch`` and ``alerting.<severity>.cloudwatch``;
* :mod:`.names`, :mod:`.limits` - alarm names and ownership tags; AWS's rules, with sources;
* :mod:`.checks` - ``validate``: everything AWS would refuse, located in the specs;
* :mod:`.render` - the alarms of each SLO; :mod:`.no_traffic` - the opt-in alarm on a silent
  total; :mod:`.dashboard` - one dashboard per service; :mod:`.forms` - how tiers are
  expressed (explain, plan notes);
* :mod:`.normalise` - the comparison form of alarms, requests and ownership;
* :mod:`.files` - the ``files`` target (the exact requests as JSON, one file per service);
* :mod:`.api` - the ``api`` target: :mod:`.aws` (sessions, calls, errors), :mod:`.read`
  (paged reads), :mod:`.requests` (the writes, run by :mod:`slogen.plan.executor`),
  :mod:`.dashboard_api` (the dashboards' reads and writes).

Importing this package loads no AWS SDK: the targets are imported when one is made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import slogen.backends.cloudwatch.source as source
from slogen.backends import common
from slogen.backends.cloudwatch import dashboard, no_traffic
from slogen.backends.cloudwatch.checks import validate
from slogen.backends.cloudwatch.files import STORE
from slogen.backends.cloudwatch.forms import plan_notes, tier_forms
from slogen.backends.cloudwatch.names import BACKEND as NAME
from slogen.backends.cloudwatch.names import COMPOSITE_ALARM, METRIC_ALARM
from slogen.backends.cloudwatch.render import render
from slogen.backends.cloudwatch.schema import SCHEMA
from slogen.backends.contract import Capabilities, HistoryReader, Target, target_label
from slogen.errors import Problem, Problems
from slogen.resources import Resource
from slogen.spec.model import SLO, Project, Service
from slogen.spec.model import Target as TargetSettings


class CloudWatchBackend:
    """CloudWatch alarms, kept in step with a directory of request files or with AWS."""

    name = NAME
    # The alarm's region is part of what it is: moving it is a replacement (create in the new
    # region, then delete in the old one).
    capabilities = Capabilities(
        openslo_source="CloudWatch",
        target_options={"files": ("dir",), "api": ("endpoint_url", "regions")},
        immutable={METRIC_ALARM: frozenset({"Region"}), COMPOSITE_ALARM: frozenset({"Region"})},
        needs_recipients=True,  # a composite alarm notifies only its AlarmActions
        history=True,  # GetMetricData reads the alarms' metrics back (.history)
        schema=SCHEMA,
    )

    # stages that are plain functions of the package's modules
    read_source = staticmethod(source.read_source)
    read_notify = staticmethod(source.read_notify)
    plan_notes = staticmethod(plan_notes)

    def validate(self, project: Project, templates: str | None = None) -> list[Problem]:
        """Every problem render and apply would hit; descriptions made from the ``--templates``
        overrides count against AWS's length limit."""
        return (
            validate(project, templates)
            + no_traffic.validate(project, templates)
            + dashboard_problems(project)
        )

    def render(self, project: Project, templates: str | None) -> list[Resource]:
        tname = target_label(project.target(NAME))
        resources = render(project, tname, templates)  # tagged with the project (scope)

        def no_traffic_alarm(
            service: Service, slo: SLO, templates: str | None, tname: str
        ) -> Resource:
            return no_traffic.alarm(service, slo, templates, tname, project.project)

        resources = common.with_no_traffic(project, resources, NAME, no_traffic_alarm, templates)
        return resources + dashboard.render(project, tname)  # one per service, after its alarms

    def tier_forms(self, service: Service, slo: SLO) -> dict[str, str]:
        return {**tier_forms(service, slo), **no_traffic.tier_forms(slo)}

    def files(self, resources: Sequence[Resource], options: Mapping[str, object]) -> dict[str, str]:
        return STORE.files_for(resources)

    def target(self, settings: TargetSettings) -> Target:
        if settings.type == "api":  # imported here: only the API target uses AWS's SDK
            from slogen.backends.cloudwatch.api import ApiTarget

            return ApiTarget(settings)
        return STORE.target(settings)  # "files", the only other type the loader accepts

    def history(self, project: Project, url: str | None) -> HistoryReader | str:
        """The alarms' metrics, read back with GetMetricData (:mod:`.history`): from ``url``,
        else the target's ``endpoint_url``, else AWS; or why not (no credentials found)."""
        from slogen.backends.cloudwatch.history import history_reader  # loads AWS's SDK

        return history_reader(project, url)


def dashboard_problems(project: Project) -> list[Problem]:
    """What AWS would refuse of the dashboards (name length, widget count), at the service."""
    problems = Problems()
    for service, field, message in dashboard.problems(project):
        problems.error(
            service.location,
            field,
            message,
            "shorten the service name or the project name (slogen.yaml's project:), or split "
            "the service's SLOs",
        )
    return problems.items


BACKEND = CloudWatchBackend()
