"""``slogen test``: promtool rule unit tests that prove each SLO's alerts behave as the engine
says.

* :mod:`slogen.testing.suite`: what the CLI calls (plan, run, report, write out);
* :mod:`slogen.testing.planning`, :mod:`~slogen.testing.scenarios`,
  :mod:`~slogen.testing.timing`: which scenarios, their checks, and when each tier must fire or
  clear;
* :mod:`slogen.testing.running` and :mod:`~slogen.testing.report`: promtool runs and their text;
  :mod:`~slogen.testing.export`: the files ``--out`` writes;
* :mod:`slogen.testing.rendered`: what slogen renders for one SLO, and checks on its records;
* :mod:`slogen.testing.promql`, :mod:`~slogen.testing.labelvalues`,
  :mod:`~slogen.testing.synth` and :mod:`~slogen.testing.traffic`: input series synthesised from
  a spec's own PromQL queries;
* :mod:`slogen.testing.testfile` and :mod:`~slogen.testing.promtool`: promtool plumbing with no
  SLO knowledge (test files; runs and failure parsing).
"""
