"""A fourth backend, written only against the contract: one SLO "webhook" per tier.

It exists to prove that a new backend is one package plus one registry line: the test
(tests/test_fourth_backend.py) adds it to the registry and nothing else in slogen changes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slogen.backends import filestore
from slogen.backends.contract import Capabilities, Target, target_label
from slogen.engine import analyse_slo
from slogen.errors import Problem
from slogen.numbers import fmt
from slogen.resources import Resource
from slogen.spec.checks import Checker, Field
from slogen.spec.model import SLO, Project, Service
from slogen.spec.model import Target as TargetSettings

NAME = "webhook"
URL_RE = re.compile(r"^https?://")


@dataclass(frozen=True)
class WebhookSource:
    total: str
    errors: str | None = None
    good: str | None = None


def _file_text(service: str, resources: list[Resource]) -> str:
    entries = [{"key": r.key, "body": r.body} for r in resources]
    return filestore.json_text(service, "hooks", entries)


def _resources(data: dict[str, Any], path: Path, tname: str) -> list[Resource]:
    return [
        Resource(NAME, tname, "hook", e["key"], e["body"], live_id=str(path)) for e in data["hooks"]
    ]


STORE = filestore.JsonFiles(NAME, ".webhook.json", _file_text, _resources)


class WebhookBackend:
    name = NAME
    capabilities = Capabilities(target_options={"files": ("dir",)}, needs_recipients=True)

    def read_source(self, check: Checker, f: Field) -> object | None:
        read = check.sli_queries(f, "a metric name")
        if read is None or not read[2]:
            return None
        queries = read[0]
        return WebhookSource(queries["total"], queries.get("errors"), queries.get("good"))

    def read_notify(self, check: Checker, f: Field) -> object | None:
        return check.string_list(f, "a list of URLs", lambda s: bool(URL_RE.match(s)), "a URL")

    def validate(self, project: Project, templates: str | None = None) -> list[Problem]:
        problems = []
        for service in project.services:
            for index, slo in enumerate(service.slos):
                if slo.indicator.source(NAME) is not None and slo.window > 30 * 86400:
                    problems.append(
                        Problem(slo.location, f"slos[{index}].window", "webhooks keep 30d at most")
                    )
        return problems

    def render(self, project: Project, templates: str | None) -> list[Resource]:
        out = []
        where = target_label(project.target(NAME))
        for service, slo in project.slos():
            if slo.indicator.source(NAME) is None:
                continue
            for math in analyse_slo(slo):
                body = {
                    "threshold": fmt(math.threshold),
                    "urls": list(slo.alerting.for_severity(math.severity).route(NAME)),
                }
                key = f"{service.name}/{slo.name}/{math.id}"
                out.append(Resource(NAME, where, "hook", key, body))
        return out

    def files(self, resources: Sequence[Resource], options: Mapping[str, object]) -> dict[str, str]:
        return STORE.files_for(resources)

    def target(self, settings: TargetSettings) -> Target:
        # the shared files target: reads, writes and the apply lock (flock) come with it
        return STORE.target(settings)

    def tier_forms(self, service: Service, slo: SLO) -> dict[str, str]:
        return {m.id: f"a webhook above {fmt(m.threshold)}" for m in analyse_slo(slo)}

    def plan_notes(self, project: Project) -> list[str]:
        return []


BACKEND = WebhookBackend()
