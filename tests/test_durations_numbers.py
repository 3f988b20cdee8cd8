"""Durations (text ⇄ whole seconds) and numbers printed without float noise."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slogen.durations import (
    UNITS,
    DurationError,
    format_duration,
    humanize_duration,
    parse_duration,
)
from slogen.numbers import CONFIG_DIGITS, HUMAN_DIGITS, fmt, fmt_percent, to_fraction

PROPERTY = settings(max_examples=100, deadline=None)

# -- durations ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1),
        ("5m", 300),
        ("1h", 3600),
        ("1h30m", 5400),
        ("7m30s", 450),
        ("30d", 2592000),
        ("4w", 2419200),
        ("1w2d", 777600),
        ("2d3h4m5s", 2 * 86400 + 3 * 3600 + 4 * 60 + 5),
        ("90m", 5400),  # not canonical, still accepted
        ("0h5m", 300),  # a zero part is harmless as long as the total is positive
    ],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("30 days", "expected a duration"),
        ("1h1h", "largest to smallest, each once"),
        ("30m1h", "largest to smallest, each once"),
        ("5x", "expected a duration"),
        ("", "expected a duration"),
        ("h", "expected a duration"),
        ("1.5h", "expected a duration"),
        ("-5m", "expected a duration"),
        (" 5m", "expected a duration"),
        ("5M", "expected a duration"),
        ("0s", "greater than zero"),
        ("0d0h", "greater than zero"),
    ],
)
def test_parse_duration_rejects(text: str, message: str) -> None:
    with pytest.raises(DurationError, match=re.escape(message)):
        parse_duration(text)


@pytest.mark.parametrize("value", [None, 5, 5.0, ["5m"], {"m": 5}, True])
def test_parse_duration_rejects_non_strings(value: object) -> None:
    with pytest.raises(DurationError):
        parse_duration(value)  # type: ignore[arg-type]


def test_parse_duration_allowed_units() -> None:
    assert parse_duration("30d", allowed_units="wdh") == 30 * 86400
    with pytest.raises(DurationError, match="unit 'm' is not allowed here; use one of w, d, h"):
        parse_duration("43200m", allowed_units="wdh")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (1, "1s"),
        (59, "59s"),
        (60, "1m"),
        (300, "5m"),
        (450, "7m30s"),
        (3600, "1h"),
        (5400, "1h30m"),
        (86400, "1d"),
        (259200, "3d"),
        (604800, "1w"),
        (1209600, "2w"),
        (864000, "10d"),  # not "1w3d"
        (2592000, "30d"),
        (2419200, "4w"),
        (90061, "1d1h1m1s"),
        (0, "0s"),
        (-5, "0s"),
        (299.6, "5m"),  # rounded to whole seconds
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@PROPERTY
@given(st.integers(1, 10**9))
def test_format_then_parse_is_the_identity(seconds: int) -> None:
    text = format_duration(seconds)
    assert parse_duration(text) == seconds
    # shortest form: units largest first, each at most once, no zero parts
    parts = re.findall(r"(\d+)([wdhms])", text)
    assert "".join(n + u for n, u in parts) == text
    assert all(int(n) > 0 for n, _ in parts)
    units = [u for _, u in parts]
    assert units == sorted(set(units), key="wdhms".index)
    if "w" in units:
        assert units == ["w"]  # weeks only for an exact number of weeks


@st.composite
def duration_texts(draw: st.DrawFn) -> str:
    units = draw(
        st.lists(st.sampled_from("wdhms"), min_size=1, unique=True).map(
            lambda us: sorted(us, key="wdhms".index)
        )
    )
    numbers = [draw(st.integers(0, 1000)) for _ in units]
    if not any(numbers):
        numbers[0] = 1
    return "".join(f"{n}{u}" for n, u in zip(numbers, units, strict=True))


@PROPERTY
@given(duration_texts())
def test_parse_then_format_keeps_the_value(text: str) -> None:
    seconds = parse_duration(text)
    expected = sum(int(n) * UNITS[u] for n, u in re.findall(r"(\d+)([wdhms])", text))
    assert seconds == expected
    assert parse_duration(format_duration(seconds)) == seconds
    assert format_duration(parse_duration(format_duration(seconds))) == format_duration(seconds)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (math.inf, "never"),
        (math.nan, "-"),
        (0.5, "0.5s"),
        (5.0, "5s"),
        (52, "52s"),
        (125, "2m 5s"),
        (3600, "1h"),
        (7500, "2h 5m"),
        (86400, "1d"),
        (86400 * 1.5, "1d 12h"),
    ],
)
def test_humanize_duration(seconds: float, text: str) -> None:
    assert humanize_duration(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(59.7, "1m"), (3599.6, "1h"), (86399, "1d")],
)
def test_humanize_duration_rounds_into_the_next_unit(seconds: float, text: str) -> None:
    """Just under a unit boundary, rounding must carry into the next unit: not 60s, 60m, 24h."""
    assert humanize_duration(seconds) == text


# -- numbers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Fraction(1, 1000), "0.001"),
        (Fraction(144, 10), "14.4"),
        (Fraction(144, 10000), "0.0144"),
        (Fraction(6, 1000), "0.006"),
        (Fraction(6), "6"),
        (0, "0"),
        (100, "100"),
        (Fraction(-25, 10), "-2.5"),
        (Fraction(2, 3), "0.6666666667"),  # 10 significant digits, rounded
        (Fraction(1, 3), "0.3333333333"),
        (Fraction(12345678901), "12345678900"),  # no exponent, even when rounding whole numbers
        (Fraction(1, 10**12), "0.000000000001"),
        (14.399999999999999, "14.4"),  # float noise from 0.02*720 is gone
        (0.0009999999999999432, "0.001"),
        (0.1 + 0.2, "0.3"),
        (1e-3, "0.001"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
        (math.nan, "NaN"),
    ],
)
def test_fmt(value: Fraction | int | float, text: str) -> None:
    assert fmt(value) == text


def test_fmt_of_the_workbook_product_has_no_float_noise() -> None:
    assert fmt(0.02 * 720) == "14.4"
    assert fmt(14.4 * (1 - 0.999)) == "0.0144"
    assert fmt(1 * (1 - 0.999)) == "0.001"
    assert fmt(Fraction(1, 1000)) != "0.0009999999999999432"


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        (Fraction(2, 3), 4, "0.6667"),
        (Fraction(25, 1000), 1, "0.02"),  # half-even
        (Fraction(35, 1000), 1, "0.04"),
        (Fraction(1234567, 100), HUMAN_DIGITS, "12350"),
        (Fraction(99999, 1000), HUMAN_DIGITS, "100"),
    ],
)
def test_fmt_digits(value: Fraction, digits: int, text: str) -> None:
    assert fmt(value, digits) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Fraction(2, 100), "2%"),
        (Fraction(9, 10000), "0.09%"),
        (Fraction(1, 10), "10%"),
        (Fraction(1), "100%"),
        (Fraction(1, 3), "33.33%"),
        (Fraction(1, 1000), "0.1%"),
        (Fraction(5, 100000), "0.005%"),
    ],
)
def test_fmt_percent(value: Fraction, text: str) -> None:
    assert fmt_percent(value) == text


def test_to_fraction_goes_through_the_decimal_text() -> None:
    assert to_fraction(0.1) == Fraction(1, 10)
    assert to_fraction(99.9) == Fraction(999, 10)
    assert to_fraction(99) == Fraction(99)
    assert to_fraction("2.5") == Fraction(5, 2)
    assert to_fraction(Decimal("0.001")) == Fraction(1, 1000)
    assert to_fraction(Fraction(1, 3)) == Fraction(1, 3)


NUMBER_TEXT = re.compile(r"^-?(0|[1-9]\d*)(\.\d*[1-9])?$")


@PROPERTY
@given(st.integers(-(10**12), 10**12), st.integers(0, 12))
def test_terminating_decimals_within_the_digits_print_exactly(mantissa: int, exponent: int) -> None:
    value = Fraction(mantissa, 10**exponent)
    assume_digits = len(str(abs(mantissa)).rstrip("0") or "0")
    text = fmt(value)
    assert NUMBER_TEXT.match(text), text  # no exponent, no trailing zeros, no "-0"
    if assume_digits <= CONFIG_DIGITS:
        assert Fraction(text) == value


@PROPERTY
@given(st.fractions(min_value=Fraction(-(10**9)), max_value=Fraction(10**9)), st.integers(1, 12))
def test_rounding_stays_within_half_a_unit_in_the_last_digit(value: Fraction, digits: int) -> None:
    text = fmt(value, digits)
    assert NUMBER_TEXT.match(text), text
    if value == 0:
        assert text == "0"
        return
    printed = Fraction(text)
    assert len(re.sub(r"[-.]", "", text).strip("0")) <= digits  # significant digits
    # |printed − value| ≤ half a unit in the digits-th significant place
    magnitude = math.floor(math.log10(abs(value)))
    unit = Fraction(10) ** (magnitude - digits + 1)
    assert abs(printed - value) <= unit  # generous by ×2 for values just under a power of 10


@PROPERTY
@given(st.floats(min_value=1e-9, max_value=1e9, allow_nan=False, allow_infinity=False))
def test_floats_with_a_short_repr_print_as_written(value: float) -> None:
    shortest = repr(value)
    digits = len(re.sub(r"e.*$", "", shortest).replace(".", "").lstrip("0").rstrip("0") or "0")
    if digits <= CONFIG_DIGITS:
        assert Fraction(fmt(value)) == Fraction(shortest)
