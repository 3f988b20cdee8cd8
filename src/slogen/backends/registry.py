"""The one list of backends. Everything else asks here.

Each entry names a backend and the package that provides its :class:`~slogen.backends.contract.
Backend` object as ``BACKEND``. Packages are imported on first use, so listing the names (for
``--help``, the loader's allowed keys, ...) loads no SDK. The order is the order plans, build
output and reports use.

Adding a backend: write its package (see the contract) and add one line here.

Two sorts: *sources*, the backends an SLO's indicator (and alerting block) may name, and
*views*, which measure nothing themselves and show what a source backend makes
(:attr:`~slogen.backends.contract.Capabilities.shows`: Grafana draws the Prometheus SLOs).
:data:`NAMES` lists the sources only, since specs name only those; targets, plans and builds
take every backend, :func:`every`.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slogen.backends.contract import Backend
    from slogen.spec.model import Project

_PACKAGES: dict[str, str] = {
    "prometheus": "slogen.backends.prometheus",
    "datadog": "slogen.backends.datadog",
    "cloudwatch": "slogen.backends.cloudwatch",
}

# Backends no spec names; each shows the SLOs of the source its capabilities name.
_VIEWS: dict[str, str] = {
    "grafana": "slogen.backends.grafana",
}

NAMES: tuple[str, ...] = tuple(_PACKAGES)  # the sources: keys of indicators and alerting blocks


def every() -> tuple[str, ...]:
    """Every backend: the sources, then the views (targets, plans and builds take them all)."""
    return NAMES + tuple(name for name in _VIEWS if name not in NAMES)


@cache
def get(name: str) -> Backend:
    """The backend called ``name`` (KeyError for an unknown name)."""
    return importlib.import_module({**_VIEWS, **_PACKAGES}[name]).BACKEND


def backends() -> list[Backend]:
    """Every backend, sources and views, in registry order."""
    return [get(name) for name in every()]


def used_by(project: Project) -> list[Backend]:
    """The backends at least one SLO's indicator names, and the views of those, in registry
    order."""
    named = {name for _, slo in project.slos() for name in slo.indicator.backends}
    out = []
    for name in every():
        if name in NAMES:
            if name in named:
                out.append(get(name))
        elif get(name).capabilities.shows in named and project.target(name).type != "none":
            out.append(get(name))  # a view, unless its target turns it off
    return out


def order(name: str) -> int:
    """Position of a backend in the registry (unknown names sort last)."""
    names = every()
    return names.index(name) if name in names else len(names)


def listing(conjunction: str = "or", names: tuple[str, ...] | None = None) -> str:
    """The names for messages: ``prometheus, datadog or cloudwatch`` (default: the sources)."""
    names = NAMES if names is None else names
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} {conjunction} {names[-1]}"
