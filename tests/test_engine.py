"""The burn-rate engine against the SRE Workbook (ch. 5) and the properties its numbers must have.

Notation as in DESIGN.md §4: objective o (a fraction), period P, budget share b, long window L,
short window S, burn rate B = b·P/L, error-ratio threshold T = B·(1 − o), error ratio e.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from slogen.backends.prometheus.source import PrometheusSource
from slogen.engine import TierMath, analyse_slo, analyse_tier, default_short_window
from slogen.numbers import fmt
from slogen.spec.loader import BUILTIN_POLICIES
from slogen.spec.model import SLO, Indicator, Tier

DAY, HOUR, MINUTE = 86400, 3600, 60
WORKBOOK = BUILTIN_POLICIES["workbook"]
THIRTY_DAYS = 30 * DAY


def workbook(objective: str = "99.9", period: int = THIRTY_DAYS) -> list[TierMath]:
    return [analyse_tier(Fraction(objective), period, tier) for tier in WORKBOOK.tiers]


# -- the Workbook's numbers -----------------------------------------------------------------------


def test_workbook_burn_rates_on_30_days_are_exact() -> None:
    rates = [t.burn_rate for t in workbook()]
    assert rates == [Fraction(144, 10), Fraction(6), Fraction(1)]
    assert all(isinstance(r, Fraction) for r in rates)
    assert [fmt(r) for r in rates] == ["14.4", "6", "1"]


def test_workbook_thresholds_at_99_9_are_exact() -> None:
    thresholds = [t.threshold for t in workbook()]
    assert thresholds == [Fraction(144, 10000), Fraction(6, 1000), Fraction(1, 1000)]
    assert [fmt(t) for t in thresholds] == ["0.0144", "0.006", "0.001"]
    assert all(t.can_fire for t in workbook())
    assert [t.min_error_ratio for t in workbook()] == thresholds


def test_error_budget_and_tier_fields() -> None:
    page = workbook()[0]
    assert page.error_budget == Fraction(1, 1000)
    assert page.target == Fraction(999, 1000)
    assert (page.id, page.severity, page.long, page.short, page.budget) == (
        "page-1h",
        "page",
        HOUR,
        5 * MINUTE,
        Fraction(2, 100),
    )


def test_analyse_slo_gives_every_tier_in_policy_order() -> None:
    slo = SLO(
        name="availability",
        objective=Fraction(999, 10),
        window=THIRTY_DAYS,
        indicator=Indicator(prometheus=PrometheusSource("sum(rate(x[{{ window }}]))", "e")),
        policy=WORKBOOK,
    )
    assert [(t.id, t.burn_rate) for t in analyse_slo(slo)] == [
        ("page-1h", Fraction(72, 5)),
        ("page-6h", Fraction(6)),
        ("ticket-3d", Fraction(1)),
    ]


def test_workbook_single_window_reset_example() -> None:
    """Workbook, "Increment alert window": alert when 5% of the budget burns in 1 hour, i.e. a
    1h window at burn rate 36. With 99.9% it detects a full outage in about 2 minutes, and
    after the outage ends keeps firing for about 58 minutes.

    A single-window alert is the engine's multiwindow tier with S = L: the condition over the
    "short" window is then the same as over the long one.
    """
    single = analyse_tier(Fraction("99.9"), THIRTY_DAYS, Tier("page", Fraction(5, 100), HOUR, HOUR))
    assert single.burn_rate == 36
    assert single.threshold == Fraction(36, 1000)
    assert single.detection_time(1.0) == pytest.approx(0.036 * HOUR)  # 2.16 minutes
    assert single.reset_time(1.0) == pytest.approx(HOUR * (1 - 0.036))  # 57.84 minutes
    assert round(single.reset_time(1.0) / MINUTE) == 58
    # The multiwindow version (S = L/12 = 5m) resets within those 5 minutes: S·(1 − T/e).
    multi = analyse_tier(
        Fraction("99.9"),
        THIRTY_DAYS,
        Tier("page", Fraction(5, 100), HOUR, default_short_window(HOUR)),
    )
    assert multi.reset_time(1.0) == pytest.approx(5 * MINUTE * (1 - 0.036))


@pytest.mark.parametrize("index", [0, 1, 2])
def test_detection_at_full_outage_is_long_window_times_threshold(index: int) -> None:
    tier = workbook()[index]
    assert tier.detection_time(1.0) == pytest.approx(tier.long * float(tier.threshold))
    # The Workbook's table: 1h tier ≈ 52 s, 6h tier ≈ 2.2 min, 3d tier ≈ 4.3 min.
    expected = {0: 51.84, 1: 129.6, 2: 259.2}[index]
    assert tier.detection_time(1.0) == pytest.approx(expected)


@pytest.mark.parametrize("index", [0, 1, 2])
@pytest.mark.parametrize("ratio", [1.0, 0.5, 0.1, 0.02])
def test_budget_spent_before_firing_is_the_tier_budget_share(index: int, ratio: float) -> None:
    tier = workbook()[index]
    assert ratio > tier.threshold
    assert tier.budget_spent(ratio) == pytest.approx(float(tier.budget))


def test_nothing_happens_at_or_below_the_threshold() -> None:
    for tier in workbook():
        at = float(tier.threshold)
        for e in (0.0, at / 2, at):
            assert tier.detection_time(e) == math.inf
            assert tier.detection_time(e, resolution=300) == math.inf
            assert tier.budget_spent(e) == math.inf
            assert tier.reset_time(e) == 0.0


@pytest.mark.parametrize(
    ("objective", "index", "can_fire"),
    [("50", 0, False), ("50", 1, False), ("50", 2, True), ("93.05", 0, False), ("93.06", 0, True)],
)
def test_a_threshold_of_one_or_more_can_never_fire(
    objective: str, index: int, can_fire: bool
) -> None:
    tier = workbook(objective)[index]
    assert tier.can_fire is can_fire
    assert (tier.threshold < 1) is can_fire
    if not can_fire:
        assert tier.detection_time(1.0) == math.inf


def test_a_threshold_of_exactly_one_cannot_fire() -> None:
    # burn rate 100% × 30d / 15d = 2, threshold 2 × (1 − 0.5) = 1: even a total outage only
    # reaches the threshold, never exceeds it.
    tier = analyse_tier(Fraction(50), THIRTY_DAYS, Tier("ticket", Fraction(1), 15 * DAY, DAY))
    assert tier.threshold == 1
    assert not tier.can_fire
    assert tier.detection_time(1.0) == math.inf


def test_detection_with_prometheus_resolution_is_later_but_bounded() -> None:
    page = workbook()[0]
    ideal = page.detection_time(1.0)
    real = page.detection_time(1.0, resolution=300)
    assert ideal < real <= ideal + 300


def test_with_resolution_detection_can_take_longer_than_the_long_window() -> None:
    """Ideally a tier fires within L for any e > T; smoothed rates can push that past L."""
    page = workbook()[0]
    e = float(page.threshold) * 1.0001
    assert page.detection_time(e) < page.long
    assert page.long < page.detection_time(e, resolution=300) <= page.detection_time(e) + 300


def test_window_no_longer_than_the_resolution_is_read_directly() -> None:
    page = workbook()[0]  # long 1h, short 5m
    # With a 5m resolution, the 5m window is read as one raw range (no smoothing), and the 1h
    # window is smoothed; with a 1h resolution both are read raw: ideal figures.
    assert page.detection_time(1.0, resolution=HOUR) == pytest.approx(page.detection_time(1.0))


# -- properties -----------------------------------------------------------------------------------

OBJECTIVES = st.integers(1, 99999).map(lambda k: Fraction(k, 1000))  # percent, 3 decimals
PERIODS = st.integers(1, 90).map(lambda d: d * DAY)


@st.composite
def tiers(draw: st.DrawFn) -> TierMath:
    """A tier that can fire: any period, windows and budget share, and an objective high enough
    for its threshold to stay below 1 (o > 1 − L/(b·P))."""
    period = draw(PERIODS)
    long = draw(st.integers(60, period))
    short = draw(st.integers(1, long - 1))
    budget = Fraction(draw(st.integers(1, 10000)), 10000)
    bound = 1 - Fraction(long) / (budget * period)
    lowest = max(1, math.floor(bound * 100000) + 1)  # in thousandths of a percent
    assume(lowest <= 99999)  # no objective below 100 % lets this tier fire
    objective = Fraction(draw(st.integers(lowest, 99999)), 1000)
    tier = analyse_tier(objective, period, Tier("page", budget, long, short))
    assert tier.can_fire
    assume(tier.threshold > Fraction(1, 10**7))  # rare: thresholds this small are not realistic
    return tier


def ratios_above(threshold: Fraction) -> st.SearchStrategy[float]:
    """Error ratios clearly above the threshold, up to 1 (a relative margin of 1e-9 keeps
    float rounding from making ``e`` indistinguishable from ``T``)."""
    low = float(threshold) * (1 + 1e-9)
    return st.floats(min_value=low, max_value=1.0, allow_nan=False)


RESOLUTIONS = st.sampled_from([0, 10, 30, 60, 120, 300, 600, 3600])
PROPERTY = settings(max_examples=50, deadline=None)


@PROPERTY
@given(tiers(), st.data())
def test_detection_is_exactly_l_times_t_over_e(tier: TierMath, data: st.DataObject) -> None:
    e = data.draw(ratios_above(tier.threshold))
    expected = tier.long * float(tier.threshold) / e
    assert tier.detection_time(e) == pytest.approx(expected, rel=1e-12)
    # so it is always within the long window once e > T, and a total outage is seen after L·T
    assert tier.detection_time(e) < tier.long
    assert tier.detection_time(1.0) == pytest.approx(tier.long * float(tier.threshold))


@PROPERTY
@given(tiers(), st.data(), RESOLUTIONS)
def test_detection_strictly_falls_as_the_error_ratio_rises(
    tier: TierMath, data: st.DataObject, resolution: int
) -> None:
    e1 = data.draw(ratios_above(tier.threshold), label="e1")
    assume(e1 * (1 + 1e-9) < 1)
    e2 = data.draw(st.floats(e1 * (1 + 1e-9), 1.0), label="e2")
    assert tier.detection_time(e2, resolution) < tier.detection_time(e1, resolution)


@PROPERTY
@given(tiers(), st.data(), RESOLUTIONS)
def test_no_detection_at_or_below_the_threshold(
    tier: TierMath, data: st.DataObject, resolution: int
) -> None:
    e = data.draw(st.floats(0.0, float(tier.threshold)))
    assert tier.detection_time(e, resolution) == math.inf
    assert tier.budget_spent(e, resolution) == math.inf
    assert tier.reset_time(e, resolution) == 0.0


@PROPERTY
@given(tiers(), st.data(), RESOLUTIONS)
def test_resolution_delays_detection_by_at_most_the_resolution(
    tier: TierMath, data: st.DataObject, resolution: int
) -> None:
    e = data.draw(ratios_above(tier.threshold))
    ideal = tier.detection_time(e)
    real = tier.detection_time(e, resolution)
    slack = 1e-9 * max(1.0, ideal)
    assert ideal - slack <= real <= ideal + resolution + slack


@PROPERTY
@given(tiers(), st.data())
def test_reset_is_short_window_times_one_minus_t_over_e(
    tier: TierMath, data: st.DataObject
) -> None:
    e = data.draw(ratios_above(tier.threshold))
    reset = tier.reset_time(e)
    assert reset == pytest.approx(tier.short * (1 - float(tier.threshold) / e), rel=1e-9, abs=1e-9)
    assert 0 <= reset <= tier.short


@PROPERTY
@given(tiers(), st.data(), RESOLUTIONS)
def test_reset_with_resolution_is_bounded(
    tier: TierMath, data: st.DataObject, resolution: int
) -> None:
    e = data.draw(ratios_above(tier.threshold))
    ideal = tier.reset_time(e)
    real = tier.reset_time(e, resolution)
    assert real >= 0
    assert ideal - 1e-6 <= real <= ideal + resolution + 1e-6


@PROPERTY
@given(tiers(), st.data(), RESOLUTIONS)
def test_budget_spent_is_at_least_the_budget_share(
    tier: TierMath, data: st.DataObject, resolution: int
) -> None:
    e = data.draw(ratios_above(tier.threshold))
    assert tier.budget_spent(e) == pytest.approx(float(tier.budget), rel=1e-9)
    assert tier.budget_spent(e, resolution) >= float(tier.budget) * (1 - 1e-9)


@PROPERTY
@given(
    st.integers(1, 10000),
    st.integers(60, 90 * DAY),
    PERIODS,
    OBJECTIVES,
    OBJECTIVES,
)
def test_thresholds_scale_linearly_with_the_error_budget(
    budget: int, long: int, period: int, o1: Fraction, o2: Fraction
) -> None:
    tier = Tier("page", Fraction(budget, 10000), long, 1)
    a, b = analyse_tier(o1, period, tier), analyse_tier(o2, period, tier)
    assert a.burn_rate == b.burn_rate == Fraction(budget, 10000) * period / long
    assert a.threshold * (1 - o2 / 100) == b.threshold * (1 - o1 / 100)
    assert a.threshold == a.burn_rate * (1 - o1 / 100)


@PROPERTY
@given(st.integers(1, 10**7))
def test_default_short_window_is_a_twelfth(long: int) -> None:
    short = default_short_window(long)
    if long >= 12:
        assert abs(short - long / 12) <= 0.5
        assert short < long
    else:
        assert short == 1
