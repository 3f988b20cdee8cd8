"""The replay and its judgement on synthetic histories, where every answer can be worked out by
hand: window sums against a naive sum, firing times against the engine's prediction, noise at
low traffic, misses when a guard keeps a tier silent, and policies compared."""

from __future__ import annotations

import math
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from slogen.backtest.history import History, Semantics, Series
from slogen.backtest.replay import Prefix, Windows, divide
from slogen.backtest.run import outcome
from slogen.engine import analyse_slo
from slogen.spec.model import SLO, Alerting, Indicator, Policy, Service, Tier
from slogen.spec.settings import BUILTIN_POLICIES

COUNTS = Semantics("counts", step=60)
DAY = 86400
START = 1_700_000_040  # a whole minute


def slo(min_events: int | None = None, policy: Policy | None = None) -> SLO:
    return SLO(
        "availability",
        Fraction(999, 10),
        30 * DAY,
        Indicator(),
        policy or BUILTIN_POLICIES["workbook"],
        Alerting(min_events=min_events),
    )


def history(errors: list[float], total: list[float], semantics: Semantics = COUNTS) -> History:
    return History("test", semantics, START, (Series((), errors, total),))


def steady(minutes: int, per_minute: float, ratio: float) -> tuple[list[float], list[float]]:
    return [per_minute * ratio] * minutes, [per_minute] * minutes


SERVICE = Service("shop", ())
samples = st.lists(
    st.one_of(
        st.none(),
        st.floats(min_value=0, max_value=1e6),
        st.sampled_from([math.nan, math.inf]),
    ),
    min_size=1,
    max_size=40,
)


def naive(values: list[float | None], end: int, count: int) -> float | None:
    window = [v for v in values[max(0, end + 1 - count) : end + 1] if v is not None]
    return (
        math.fsum(window)
        if window and all(math.isfinite(v) for v in window)
        else (sum(window) if window else None)
    )


@settings(max_examples=200, deadline=None)
@given(samples, st.integers(min_value=1, max_value=50), st.data())
def test_window_sums_equal_a_plain_sum_of_the_samples(values, count, data) -> None:
    prefix = Prefix(values)
    end = data.draw(st.integers(min_value=0, max_value=len(values) - 1))
    got, want = prefix.window(end, count), naive(values, end, count)
    if want is None or got is None:
        assert got is want
    elif math.isnan(want):
        assert math.isnan(got)
    else:
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-6)


def test_windows_count_samples_as_the_backend_does() -> None:
    closed = Semantics("prometheus 2", closed=True, per_sample=60, single=300, single_events=300)
    assert closed.samples_in(3600) == 61
    assert closed.samples_in(300) == 1
    assert Semantics("prometheus 3", per_sample=60, single=300).samples_in(3600) == 60
    assert COUNTS.samples_in(3600) == 60
    series = Series((), [1.0] * 100, [10.0] * 100)
    windows = Windows(series, closed)
    assert windows.ratio(99, 3600) == 0.1
    assert windows.events(99, 3600) == 61 * 10 * 60
    assert windows.events(99, 300) == 10 * 300


def test_division_by_a_zero_total_follows_the_backend() -> None:
    assert divide(0.0, 0.0, ieee=True) != divide(0.0, 0.0, ieee=True)  # NaN
    assert divide(2.0, 0.0, ieee=True) == math.inf
    assert divide(2.0, 0.0, ieee=False) is None
    assert divide(None, 1.0, ieee=True) is None


def test_an_outage_fires_when_the_engine_predicts() -> None:
    """A full outage from minute 4320 (after 3 quiet days): the page-1h tier (threshold 1.44 %)
    fires once 1h·T/e = 52 s of it is in the window: at the first whole minute."""
    errors, total = steady(3 * 1440 + 120, 1000, 0.0)
    for k in range(4320, 4340):
        errors[k] = 1000.0
    got = outcome(
        SERVICE, slo(), history(errors, total), START + 4320 * 60, START + 4400 * 60, None
    )
    page_1h = next(t for t in got.tiers if t.math.id == "page-1h")
    assert len(page_1h.firings) == 1
    firing = page_1h.firings[0]
    predicted = next(m for m in analyse_slo(slo()) if m.id == "page-1h")
    assert firing.start == START + 4320 * 60  # the sample at 4320 is the outage's first minute
    assert float(predicted.threshold) * 3600 < 60  # the prediction: within that first minute
    # the sample at 4320 counts the minute before it: the burn began one step before the firing
    assert firing.detection == 60
    assert not firing.noise
    assert got.misses == ()


def test_a_tier_resolves_when_its_short_window_clears() -> None:
    errors, total = steady(3 * 1440 + 240, 1000, 0.0)
    for k in range(4320, 4380):  # one hour down
        errors[k] = 1000.0
    got = outcome(
        SERVICE, slo(), history(errors, total), START + 4300 * 60, START + 4550 * 60, None
    )
    page_1h = next(t for t in got.tiers if t.math.id == "page-1h")
    (firing,) = page_1h.firings
    # the 5m short window holds the samples k-4..k: the first without an outage minute is at
    # k = 4384 (samples 4380..4384)
    assert firing.end == START + 4384 * 60


def test_low_traffic_errors_are_noise_and_min_events_keeps_them_quiet() -> None:
    """A night at one request a minute, failing every other minute from its second hour: 50 %
    errors, far above every threshold, but a tiny share of a month's budget at 1,000 requests a
    minute. With ``min_events: 100`` the hour-long window holds too few events to fire (in the
    night's first hour it would still hold daytime traffic: then the guard could not help)."""
    errors, total = steady(6 * 1440, 1000, 0.0001)
    for k in range(5000, 5240):
        total[k] = 1.0
        errors[k] = 1.0 if k % 2 and k >= 5100 else 0.0
    span = (START + 4400 * 60, START + 6 * 1440 * 60 - 60)
    loose = outcome(SERVICE, slo(), history(errors, total), *span, None)
    firings = loose.firings("page")
    assert firings and all(f.noise for f in firings)
    assert loose.misses == ()
    guarded = outcome(SERVICE, slo(min_events=100), history(errors, total), *span, None)
    assert guarded.firings() == []


def test_a_burn_that_no_tier_may_fire_on_is_a_miss() -> None:
    """min_events above the traffic: the outage spends the page shares, nothing fires."""
    errors, total = steady(4 * 1440, 10, 0.0)
    for k in range(4400, 4500):
        errors[k] = 10.0
    got = outcome(
        SERVICE,
        slo(min_events=10**6),
        history(errors, total),
        START + 4320 * 60,
        START + 5700 * 60,
        None,
    )
    assert got.firings() == []
    severities = {m.severity for m in got.misses}
    assert "page" in severities
    page = next(m for m in got.misses if m.severity == "page")
    # the month's budget is 0.1 % of 10 a minute for 30 days = 432 failures; the first outage
    # minute (10 failures) is over page-1h's 2 % share (8.64): the miss begins there
    assert page.start == START + 4400 * 60
    assert page.peak_share > 0.05


def test_a_slow_burn_is_a_ticket_with_its_detection_time() -> None:
    """Errors at twice the budget rate for two days: the ticket tier (burn 1 over 3d) fires once
    the 3-day window averages above 0.1 %: 1.5 days in; no page tier fires."""
    errors, total = steady(9 * 1440, 1000, 0.0)
    for k in range(3 * 1440, 5 * 1440):
        errors[k] = 2.0
    got = outcome(
        SERVICE, slo(), history(errors, total), START + 3 * DAY, START + 9 * DAY - 60, None
    )
    assert got.firings("page") == []
    (ticket,) = got.firings("ticket")
    assert abs(ticket.start - (START + 3 * DAY + int(1.5 * DAY))) <= 60
    assert ticket.detection is not None and abs(ticket.detection - 1.5 * DAY) <= 120
    assert not ticket.noise
    assert got.misses == ()
    # the span (3d, 9d − 1m] holds samples 3·1440+1 .. 9·1440−1
    failed, seen = 2 * (2 * 1440 - 1), 1000 * (6 * 1440 - 1)
    assert (got.error_events, got.total_events) == (failed, seen)
    assert math.isclose(got.attainment or 0, 1 - failed / seen)


def test_a_stricter_policy_pages_more_on_the_same_history() -> None:
    strict = Policy(
        "strict",
        (
            Tier("page", Fraction(1, 100), 3600, 300),
            Tier("page", Fraction(25, 1000), 21600, 1800),
            Tier("ticket", Fraction(5, 100), 259200, 21600),
        ),
    )
    errors, total = steady(5 * 1440, 1000, 0.0)
    for k in range(4400, 4403):  # three minutes at 25 %: 0.75 % of a month's budget... in 1h
        errors[k] = 250.0
    for k in range(6000, 6010):  # ten minutes at 10 %
        errors[k] = 100.0
    h = history(errors, total)
    span = (START + 4320 * 60, START + 5 * DAY - 60)
    loose = outcome(SERVICE, slo(), h, *span, None)
    tight = outcome(SERVICE, slo(), h, *span, strict)
    assert tight.policy == "strict"
    assert len(tight.firings("page")) > len(loose.firings("page"))
