"""``slogen test``: promtool rule unit tests that prove each SLO's alerts behave as the engine
says.

* :mod:`slogen.testing.promtool`: promtool plumbing (no SLO knowledge): test groups, checks,
  parallel runs, failure parsing.
* :mod:`slogen.testing.scenarios`: what slogen renders for one SLO, synthetic traffic, and the
  detection and quiet scenarios the SRE Workbook reasons about.
* :mod:`slogen.testing.promql` and :mod:`slogen.testing.synth`: input series synthesised from a
  spec's own PromQL queries.
* :mod:`slogen.testing.suite`: every scenario for a project, run, reported, or written out.
"""
