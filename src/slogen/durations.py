"""Durations as whole seconds.

Specs write durations the way Prometheus does (``5m``, ``1h30m``, ``30d``). Everything inside
slogen works in integer seconds so that window arithmetic is exact; these helpers convert in
both directions and always print the shortest exact form.
"""

from __future__ import annotations

import re
from functools import lru_cache

UNITS: dict[str, int] = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+)([wdhms])")
_WHOLE = re.compile(r"^(?:\d+[wdhms])+$")


class DurationError(ValueError):
    """Raised for text that is not a duration; the message says what is accepted."""


def parse_duration(text: str, *, allowed_units: str = "wdhms") -> int:
    """Parse ``"1h30m"`` into seconds. Units must appear largest first, each at most once."""
    if not isinstance(text, str) or not _WHOLE.match(text):
        raise DurationError(
            f"expected a duration such as 5m, 1h or 30d (units {', '.join(allowed_units)})"
        )
    seconds = 0
    previous = None
    for number, unit in _PART.findall(text):
        if unit not in allowed_units:
            raise DurationError(
                f"unit '{unit}' is not allowed here; use one of {', '.join(allowed_units)}"
            )
        rank = "wdhms".index(unit)
        if previous is not None and rank <= previous:
            raise DurationError("expected units from largest to smallest, each once (e.g. 1h30m)")
        previous = rank
        seconds += int(number) * UNITS[unit]
    if seconds <= 0:
        raise DurationError("expected a duration greater than zero")
    return seconds


@lru_cache(maxsize=1024, typed=True)
def format_duration(seconds: int | float) -> str:
    """Shortest exact Prometheus-style form: 3600 → ``1h``, 5400 → ``1h30m``, 259200 → ``3d``.

    Weeks are not used unless the value is an exact number of weeks, because ``2w`` reads
    better than ``14d`` but ``1w3d`` reads worse than ``10d``.
    """
    total = round(seconds)
    if total <= 0:
        return "0s"
    if total % UNITS["w"] == 0:
        return f"{total // UNITS['w']}w"
    parts = []
    for unit in "dhms":
        size = UNITS[unit]
        if total >= size:
            parts.append(f"{total // size}{unit}")
            total %= size
    return "".join(parts)


def humanize_duration(seconds: float) -> str:
    """Rounded, readable duration for tables: ``52s``, ``3.2m``, ``2h 5m``, ``1.5d``."""
    if seconds != seconds:  # NaN
        return "-"
    if seconds == float("inf"):
        return "never"
    if round(seconds) < 60:
        return f"{seconds:.0f}s" if seconds >= 10 else f"{seconds:.1f}s".replace(".0s", "s")
    if round(seconds) < 3600:
        minutes, rest = divmod(round(seconds), 60)
        return f"{minutes}m" if rest == 0 else f"{minutes}m {rest}s"
    if round(seconds / 60) < 1440:
        hours, rest = divmod(round(seconds / 60), 60)
        return f"{hours}h" if rest == 0 else f"{hours}h {rest}m"
    days, rest = divmod(round(seconds / 3600), 24)
    return f"{days}d" if rest == 0 else f"{days}d {rest}h"
