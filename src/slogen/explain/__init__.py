"""``slogen explain``: the engine's numbers per SLO and tier, and the alerts' quality.

:mod:`~slogen.explain.compute` builds the reports (JSON-ready data); :mod:`~slogen.explain.text`
and :mod:`~slogen.explain.quality_text` render them as text, :mod:`~slogen.explain.jsonout` as
JSON (numbers as JSON numbers). The names below are re-exported
for the CLI (``from slogen import explain``) and the tests.
"""

from __future__ import annotations

from slogen.explain.compute import explain, selected
from slogen.explain.jsonout import render_json
from slogen.explain.text import render_text

__all__ = ["explain", "render_json", "render_text", "selected"]
