"""``slogen test``: prove with promtool that each SLO's alerts behave as the engine says.

For every SLO with a Prometheus indicator, synthetic counters are built from the spec's own
queries (:mod:`slogen.testing.synth`, :mod:`slogen.testing.traffic`) and fed to the rendered rules
(or the user's rule files) in promtool rule unit tests. The steps live in their own modules; this
one gathers what the CLI (and the tests) call:

* :mod:`~slogen.testing.planning`: which SLOs, rules and scenarios (:func:`plan_tests`);
* :mod:`~slogen.testing.scenarios`: the scenarios of one SLO and their checks;
* :mod:`~slogen.testing.timing`: the expected times and the evaluations that bracket them;
* :mod:`~slogen.testing.running`: promtool runs and each scenario's outcome (:func:`run_plan`);
* :mod:`~slogen.testing.report`: the text printed (:func:`render_text`, :func:`render_plan`);
* :mod:`~slogen.testing.export`: the files ``--out`` writes (:func:`write_out`).
"""

from __future__ import annotations

from slogen.testing.export import write_out
from slogen.testing.planning import load_rule_files, plan_tests
from slogen.testing.report import progress_line, render_plan, render_text
from slogen.testing.running import require_promtool, run_plan
from slogen.testing.timing import bracket, timing
from slogen.testing.traffic import SeriesTraffic

__all__ = [
    "SeriesTraffic",
    "bracket",
    "load_rule_files",
    "plan_tests",
    "progress_line",
    "render_plan",
    "render_text",
    "require_promtool",
    "run_plan",
    "timing",
    "write_out",
]
