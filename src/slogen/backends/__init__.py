"""One module per backend, each with ``render`` (desired resources), ``read_live`` and ``apply``.

Backends are imported lazily by name so that ``slogen --help`` never loads an SDK.
"""

from __future__ import annotations

import importlib
from types import ModuleType

BACKENDS = ("prometheus", "datadog", "cloudwatch")


def backend_module(name: str) -> ModuleType:
    return importlib.import_module(f"slogen.backends.{name}")
