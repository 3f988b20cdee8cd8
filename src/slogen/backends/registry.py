"""The one list of backends. Everything else asks here.

Each entry names a backend and the package that provides its :class:`~slogen.backends.contract.
Backend` object as ``BACKEND``. Packages are imported on first use, so listing the names (for
``--help``, the loader's allowed keys, ...) loads no SDK. The order is the order plans, build
output and reports use.

Adding a backend: write its package (see the contract) and add one line here.
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

NAMES: tuple[str, ...] = tuple(_PACKAGES)


@cache
def get(name: str) -> Backend:
    """The backend called ``name`` (KeyError for an unknown name)."""
    return importlib.import_module(_PACKAGES[name]).BACKEND


def backends() -> list[Backend]:
    """Every backend, in registry order."""
    return [get(name) for name in NAMES]


def used_by(project: Project) -> list[Backend]:
    """The backends at least one SLO's indicator names, in registry order."""
    named = {name for _, slo in project.slos() for name in slo.indicator.backends}
    return [get(name) for name in NAMES if name in named]


def order(name: str) -> int:
    """Position of a backend in the registry (unknown names sort last)."""
    return NAMES.index(name) if name in _PACKAGES else len(NAMES)


def listing(conjunction: str = "or") -> str:
    """The names for messages: ``prometheus, datadog or cloudwatch``."""
    if len(NAMES) == 1:
        return NAMES[0]
    return f"{', '.join(NAMES[:-1])} {conjunction} {NAMES[-1]}"
