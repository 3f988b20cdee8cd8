"""Which backends a backtest reads from: asked of the registry, never listed here.

A backend can serve history when its capabilities say so (``Capabilities.history``) and at
least one selected SLO names it. Without ``--backend``, every such backend that is set up
(e.g. Prometheus has a ``query_url``) is read and the others are named in a note; a backend
asked for by name that cannot be read is an error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from slogen.backends import registry
from slogen.backends.contract import HistoryReader
from slogen.errors import SlogenError, did_you_mean
from slogen.spec.model import Project


def narrowed(project: Project, only: str | None) -> Project:
    """The project with only the service or ``service/slo`` that ``only`` names."""
    if only is None:
        return project
    services = []
    for service in project.services:
        slos = tuple(
            slo for slo in service.slos if only in (service.name, f"{service.name}/{slo.name}")
        )
        if slos:
            services.append(dataclasses.replace(service, slos=slos))
    if not services:
        known = ", ".join(f"{s.name}/{o.name}" for s, o in project.slos())
        raise SlogenError(f"no SLO matches '{only}'", hint=f"known SLOs: {known}")
    return dataclasses.replace(project, services=tuple(services))


def readers(
    project: Project, asked: Sequence[str], urls: Mapping[str, str | None]
) -> tuple[dict[str, HistoryReader], list[str]]:
    """The readers to use, and notes on the backends left out (for people)."""
    able = [b for b in registry.NAMES if registry.get(b).capabilities.history]
    for name in asked:
        if name not in able:
            raise SlogenError(
                f"cannot read history from '{name}'",
                hint=did_you_mean(name, able, "backends that can"),
            )
    named = {b for _, slo in project.slos() for b in slo.indicator.backends}
    out: dict[str, HistoryReader] = {}
    notes: list[str] = []
    for name in asked or able:
        if name not in named:
            if asked:
                notes.append(f"{name}: no selected SLO has a {name} indicator")
            continue
        backend = registry.get(name)
        got = backend.history(project, urls.get(name))  # type: ignore[attr-defined]
        if isinstance(got, str):
            if asked:
                raise SlogenError(f"cannot read history from {name}", hint=got)
            notes.append(f"{name} not read: {got}")
        else:
            out[name] = got
    if not out:
        reasons = "".join(f"\n  - {note}" for note in notes)
        reasons = reasons or "no selected SLO names a backend that keeps history"
        raise SlogenError("nothing to read history from", hint=reasons)
    return out, notes
