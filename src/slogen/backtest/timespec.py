"""``--from`` / ``--to`` values: RFC 3339 times, ``now``, or ``-30d``-style offsets from now."""

from __future__ import annotations

from datetime import UTC, datetime

from slogen.durations import parse_duration
from slogen.errors import SlogenError


def parse_time(text: str, option: str, now: float) -> int:
    """Epoch seconds for ``text`` (see the module docstring); a clear error otherwise."""
    value = text.strip()
    if value == "now":
        return int(now)
    if value.startswith("-"):
        try:
            return int(now) - parse_duration(value[1:])
        except ValueError as exc:
            raise SlogenError(
                f"{option} {text!r} is not a time: {exc}",
                hint="write an offset such as -30d, -12h or -90m, 'now', or an RFC 3339 time",
            ) from None
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise SlogenError(
            f"{option} {text!r} is not a time",
            hint="write an RFC 3339 time with its offset (2026-11-01T00:00:00Z), 'now', "
            "or an offset from now such as -30d",
        )
    return int(parsed.astimezone(UTC).timestamp())


def rfc3339(when: int) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
