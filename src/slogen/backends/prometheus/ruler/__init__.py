"""The ``ruler`` target of the Prometheus backend: rule groups in a Grafana Mimir (or Cortex)
ruler, through its configuration API.

Modules: :mod:`.options` (the target's settings, ``${VAR}`` expanded at use), :mod:`.client`
(HTTP, auth, retries, error text), :mod:`.groups` (the list's shape, slogen's marker, the
comparison form) and :mod:`.target` (read_live, conflicts, apply).
"""

from __future__ import annotations

from slogen.backends.prometheus.ruler.target import RulerTarget

__all__ = ["RulerTarget"]
