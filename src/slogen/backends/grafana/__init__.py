"""Grafana: one dashboard per service, showing the SLOs slogen makes for Prometheus.

Design. Grafana measures nothing: it draws what a data source holds. So this backend is a
*view* (:attr:`~slogen.backends.contract.Capabilities.shows` = ``"prometheus"``): no spec names
it (``indicator.grafana`` is not a key the loader accepts, as the registry lists it apart from
the indicator backends), and it is used whenever some SLO has a Prometheus indicator. Its
panels query only the series slogen's Prometheus rules record (``slogen:sli_*``) and the
``ALERTS`` of slogen's alert rules, so a dashboard shows exactly what pages people.

One resource per service (kind ``dashboard``, key the service name), whose body is the
dashboard JSON, diffed field by field like any resource. Its ``uid`` is derived from project
and service (stable, at most Grafana's 40 characters); its tags carry the ownership marks
(``managed-by:slogen``, ``slogen-project:<project>``) that both targets read back.

Targets: ``files`` (default ``out/grafana``): ``<service>.json``, each a dashboard as Grafana's
file provisioning reads it; ``api``: a Grafana's HTTP API (``url``, ``folder`` uid, ``token``
a ``${VARIABLE}`` holding a service account token).

Modules: :mod:`.names` (uid, tags, file names), :mod:`.queries` (PromQL), :mod:`.panels`
(panel JSON), :mod:`.dashboard` (the dashboard and render), :mod:`.files` and :mod:`.api`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext

from slogen import envref
from slogen.backends.contract import Capabilities, Target
from slogen.backends.grafana.dashboard import BACKEND as NAME
from slogen.backends.grafana.dashboard import SHOWS, render
from slogen.backends.grafana.files import FilesTarget, files_for
from slogen.backends.grafana.schema import SCHEMA
from slogen.errors import Problem
from slogen.plan.model import Change
from slogen.plan.outcome import ApplyReport
from slogen.plan.progress import Progress
from slogen.resources import LiveState, Resource
from slogen.spec.checks import Checker, Field
from slogen.spec.model import SLO, Project, Service
from slogen.spec.model import Target as TargetSettings

OFF = "none"  # the target type that turns the dashboards off
FOLDER_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")  # Grafana's uid rule (see .api.options)


class GrafanaBackend:
    """The Grafana backend behind :class:`slogen.backends.contract.Backend`."""

    name = NAME
    capabilities = Capabilities(
        # "none": slogen makes no dashboards (a team without Grafana, or one that draws its own)
        target_options={"files": ("dir",), "api": ("url", "folder", "token"), "none": ()},
        required_options={"api": ("url", "token")},
        shows=SHOWS,
        schema=SCHEMA,
    )

    def read_source(self, check: Checker, f: Field) -> object | None:
        """Never called: no spec names a view backend (the loader's keys are the sources)."""
        check.fail(f, "an indicator of a backend that measures (Grafana only shows them)")
        return None

    def read_notify(self, check: Checker, f: Field) -> object | None:
        check.fail(f, "recipients of a backend that alerts (Grafana's dashboards do not)")
        return None

    def validate(self, project: Project, templates: str | None = None) -> list[Problem]:
        """The folder uid, when written out (a ``${VAR}`` is checked once expanded)."""
        settings = project.target(NAME)
        folder = settings.option("folder")
        if settings.type != "api" or folder is None or envref.references(str(folder)):
            return []
        if FOLDER_RE.match(str(folder)):
            return []
        return [
            Problem(
                settings.location,
                "targets.grafana.folder",
                f"expected a folder uid (letters, digits, '-' and '_', up to 40 characters), "
                f"found {folder!r}",
                "the uid is in the folder's URL: /dashboards/f/<uid>/...",
            )
        ]

    def render(self, project: Project, templates: str | None) -> list[Resource]:
        if project.target(NAME).type == OFF:
            return []
        return render(project)

    def files(self, resources: Sequence[Resource], options: Mapping[str, object]) -> dict[str, str]:
        return files_for(resources)

    def target(self, settings: TargetSettings) -> Target:
        if settings.type == OFF:
            return NoTarget(settings)
        if settings.type == "api":
            from slogen.backends.grafana.api import ApiTarget

            return ApiTarget(settings)
        return FilesTarget(settings)

    def tier_forms(self, service: Service, slo: SLO) -> dict[str, str]:
        return {}  # Grafana expresses no tier: it draws the Prometheus alerts' windows

    def plan_notes(self, project: Project) -> list[str]:
        return []


class NoTarget:
    """``type: none``: nothing is read, planned or written, and dashboards made before are
    left where they are (slogen no longer manages them)."""

    def __init__(self, settings: TargetSettings) -> None:
        self.name = OFF

    def read_live(self, known: Sequence[Resource]) -> LiveState:
        return LiveState([])

    def conflicts(self, desired: Sequence[Resource], live: LiveState) -> list[str]:
        return []

    def apply(
        self, changes: Sequence[Change], desired: Sequence[Resource], progress: Progress
    ) -> ApplyReport:
        return ApplyReport()

    def lock(self, holder: str, timeout: float) -> AbstractContextManager[None]:
        return nullcontext()


BACKEND = GrafanaBackend()
