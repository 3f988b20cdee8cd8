"""``slogen explain``: the engine's numbers per SLO and tier, and the alerts' quality.

:mod:`~slogen.explain.compute` builds the reports (JSON-ready data); :mod:`~slogen.explain.text`
and :mod:`~slogen.explain.quality_text` render them as text. The names below are re-exported
for the CLI (``from slogen import explain``) and the tests.
"""

from __future__ import annotations

from slogen.explain.compute import explain, selected
from slogen.explain.text import render_text

__all__ = ["explain", "render_text", "selected"]
