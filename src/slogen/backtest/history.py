"""What a backend's history reader hands to the replay: samples on the evaluation grid, and how
the backend's own alert logic turns them into window ratios.

Every backend slogen writes alerts for evaluates them once a minute over sums of short samples,
but each sums something slightly different:

* **Prometheus** records ``errors`` and ``total`` as rates (or increases) over a base range
  ``b`` (5m, or the shortest short window) once per group interval ``i`` = 60 s, and a window
  ``W`` is ``sum_over_time(errors[W]) / sum_over_time(total[W])`` over those recorded samples
  (:mod:`slogen.backends.prometheus.render`). The range ``[W]`` holds ``W/i + 1`` samples on
  Prometheus 2 (both ends closed) and ``W/i`` on Prometheus 3 (left-open: ``(t−W, t]``). A
  window equal to ``b`` reads the latest sample alone. Events over ``W`` are
  ``sum_over_time(total[W]) · i`` (rates) or ``· i/b`` (increases).
* **Datadog** and **CloudWatch** sum per-minute event counts over the window: ``W/60`` counts.

:class:`Semantics` carries those differences as data, so :mod:`.replay` has one algorithm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

STEP = 60  # seconds: every backend evaluates slogen's alerts once a minute


@dataclass(frozen=True)
class Semantics:
    """How a backend reads windows from its samples (see the module docstring).

    ``closed``: a window ``W`` holds ``W/step + 1`` samples (Prometheus 2's ``[t−W, t]``), not
    ``W/step``. ``per_sample``: the events one unit of a ``total`` sample stands for when summed
    over a window (``step`` for per-second rates, ``step/base`` for increases over ``base``, 1 for
    counts). ``single``: a window of exactly this many seconds reads the newest sample alone
    (Prometheus's base window), and ``single_events`` is its events per unit then. ``ieee``:
    a window whose total is 0 divides as PromQL does (errors > 0 gives +Inf, which fires; 0/0
    is NaN, which does not); Datadog and CloudWatch give no value there.
    """

    name: str  # for reports: "prometheus 2.42.0 (rates over 5m)"
    step: int = STEP
    closed: bool = False
    per_sample: float = 1.0
    single: int | None = None
    single_events: float = 1.0
    ieee: bool = False  # x/0 is ±Inf or NaN (PromQL); otherwise a zero total has no value

    def samples_in(self, window: int) -> int:
        """How many samples the window ``window`` (seconds) sums."""
        if self.single is not None and window == self.single:
            return 1
        return window // self.step + (1 if self.closed else 0)


@dataclass(frozen=True)
class Series:
    """One label set's ``errors`` and ``total`` samples, index ``k`` at ``start + k·step``.

    ``None`` is a missing sample (the query had no value then): it adds nothing to a window, and
    a window without any sample of a side has no value, as in the backends.
    """

    labels: tuple[tuple[str, str], ...]
    errors: Sequence[float | None]
    total: Sequence[float | None]


@dataclass(frozen=True)
class History:
    """One SLO's history from one backend: its series on a grid from ``start`` (epoch seconds,
    a multiple of ``semantics.step``), ``len(series[k].total)`` samples long."""

    backend: str
    semantics: Semantics
    start: int
    series: tuple[Series, ...]
    requests: int = 0  # API requests it took, for the report and the bench
    notes: tuple[str, ...] = field(default=())

    @property
    def length(self) -> int:
        return len(self.series[0].total) if self.series else 0

    def time(self, index: int) -> int:
        return self.start + index * self.semantics.step
