"""Saved plans: the changes, the desired resources, and fingerprints of the live state.

``slogen apply PLANFILE`` re-reads each target and refuses to continue when its fingerprint
differs, so what is applied is exactly what was reviewed. The file holds target settings
(directories, URLs) but never credentials: those come from the environment at apply time.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from slogen import __version__
from slogen.errors import SlogenError
from slogen.plan.model import Change, Plan, TargetState
from slogen.resources import Resource
from slogen.spec.model import Project, Target

FORMAT = "slogen-plan"
FORMAT_VERSION = 1


def plan_to_json(plan: Plan, project: Project) -> dict[str, Any]:
    used = {t.backend for t in plan.targets}
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "slogen_version": __version__,
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "targets": [
            {
                "backend": state.backend,
                "target": state.target,
                "fingerprint": state.fingerprint,
                "settings": {"type": t.type, **dict(t.options)},
            }
            for state in plan.targets
            for t in project.targets
            if t.backend == state.backend and t.backend in used
        ],
        "summary": plan.counts,
        "warnings": plan.warnings,
        "changes": [c.to_json() for c in plan.changes],
        "desired": [r.to_json() for r in plan.desired],
    }


def save(plan: Plan, project: Project, path: str) -> None:
    try:
        Path(path).write_text(json.dumps(plan_to_json(plan, project), indent=2) + "\n")
    except OSError as exc:
        raise SlogenError(f"cannot write the plan to {path}: {exc.strerror or exc}") from exc


def is_plan_file(path: str) -> bool:
    candidate = Path(path)
    if not candidate.is_file() or candidate.suffix != ".json":
        return False
    try:
        with candidate.open(encoding="utf-8") as handle:
            head = handle.read(4096)
    except (OSError, UnicodeDecodeError):
        return False
    return f'"{FORMAT}"' in head


def load(path: str) -> tuple[Plan, dict[str, Target]]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SlogenError(f"cannot read the plan file {path}: {exc}") from exc
    if data.get("format") != FORMAT or data.get("format_version") != FORMAT_VERSION:
        raise SlogenError(
            f"{path} is not a slogen plan (format {FORMAT} version {FORMAT_VERSION})",
            hint="create one with 'slogen plan -o plan.json'",
        )
    try:
        targets = {}
        states = []
        for t in data["targets"]:
            settings = dict(t["settings"])
            kind = settings.pop("type")
            targets[t["backend"]] = Target(t["backend"], kind, tuple(sorted(settings.items())))
            states.append(TargetState(t["backend"], t["target"], t["fingerprint"]))
        plan = Plan(
            changes=[Change.from_json(c) for c in data["changes"]],
            targets=states,
            warnings=list(data.get("warnings", [])),
            desired=[Resource.from_json(r) for r in data["desired"]],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SlogenError(f"the plan file {path} is damaged: missing or bad {exc}") from exc
    return plan, targets
