"""Small typed readers over located YAML values.

Each reader either returns a clean Python value or records a problem (with the value's
location, its field path, what was expected and what was found) and returns ``None``. Callers
carry on after a ``None`` so that every mistake in a file is reported in one run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from fractions import Fraction
from typing import Any, TypeVar

from slogen.durations import DurationError, parse_duration
from slogen.errors import Location, Problems, describe, did_you_mean
from slogen.numbers import to_fraction
from slogen.spec.yamlsource import LocDict, LocList

NAME_RE = re.compile(r"^[a-z0-9-]+$")
LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
PERCENT_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
RESERVED_LABEL_PREFIX = "__"  # label names starting with it are Prometheus's own
# An SLI source's sides: bad events (errors) or good ones (good), and the total.
SLI_KEYS = ("errors", "good", "total")
SLI_EITHER = ("errors", "good")  # exactly one of them
SLI_REQUIRED = ("total",)
# What an SLO's values are, in a spec and in a request class alike.
OBJECTIVE_ABOVE, OBJECTIVE_BELOW = 0, 100  # a percentage strictly between the two
WINDOW_UNITS = "wdh"  # a compliance window is whole hours at least
MIN_EVENTS_AT_LEAST = 1

T = TypeVar("T")
# Why a list is refused where one query can already add several series (PromQL).
ONE_QUERY_HINT = (
    "add the series up inside one expression (e.g. a + b) instead of giving a list of queries"
)


class Field:
    """A value from a YAML file with its location and its field path.

    Reading 1,000 SLOs makes some 25,000 fields, and most of their locations are never asked
    for (only a problem or an SLO's own position needs one). So this is a plain class with slots
    rather than a frozen dataclass, whose ``__init__`` took four times as long, and a field read
    from a located mapping or list (:meth:`located`) makes its :class:`Location` on first use.
    Fields are not changed once made.
    """

    __slots__ = ("_column", "_file", "_line", "_loc", "path", "value")

    def __init__(self, value: Any, loc: Location, path: str) -> None:
        self.value = value
        self.path = path
        self._loc: Location | None = loc

    @classmethod
    def located(cls, value: Any, path: str, file: str, line: int, column: int) -> Field:
        """A field at the 0-based ``line`` and ``column`` of ``file``."""
        made = cls.__new__(cls)
        made.value = value
        made.path = path
        made._loc = None
        made._file = file
        made._line = line
        made._column = column
        return made

    @property
    def loc(self) -> Location:
        loc = self._loc
        if loc is None:
            loc = self._loc = Location(self._file, self._line + 1, self._column + 1)
        return loc

    def __repr__(self) -> str:
        return f"Field(value={self.value!r}, loc={self.loc!r}, path={self.path!r})"

    def child_path(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else key


class Checker:
    """Typed readers that record problems instead of raising."""

    def __init__(self, problems: Problems):
        self.problems = problems

    def fail(self, f: Field, expected: str, hint: str = "") -> None:
        self.problems.error(f.loc, f.path, f"expected {expected}, found {describe(f.value)}", hint)

    # -- containers -------------------------------------------------------------------------

    def mapping(
        self,
        f: Field,
        allowed: Iterable[str],
        required: Iterable[str] = (),
        *,
        what: str = "a mapping",
        unknown: Callable[[str, Field], bool] | None = None,
    ) -> dict[str, Field] | None:
        """Read a mapping, reporting unknown keys (with a hint) and missing required keys.

        ``unknown`` may claim keys outside ``allowed`` by returning True (it reports them).
        """
        data = f.value
        if not isinstance(data, dict):
            self.fail(f, what)
            return None
        allowed = allowed if isinstance(allowed, tuple) else tuple(allowed)
        # Where each value starts, when the mapping was read from YAML (a LocDict); the
        # fields' Locations are made from these on demand (see Field).
        pairs = data._pairs if isinstance(data, LocDict) else None
        prefix = f"{f.path}." if f.path else ""
        out: dict[str, Field] = {}
        for key, value in data.items():
            path = f"{prefix}{key}" if key.__class__ is str else f.child_path(key)
            if key in allowed:
                at = pairs.get(key) if pairs is not None else None
                if at is None:
                    out[key] = Field(value, f.loc, path)
                else:
                    out[key] = Field.located(value, path, data._filename, at[2], at[3])
                continue
            key_loc = data.key_locs.get(key, f.loc) if pairs is not None else f.loc
            if unknown is not None and unknown(key, Field(value, key_loc, path)):
                continue
            self.problems.error(key_loc, path, f"unknown key '{key}'", did_you_mean(key, allowed))
        for key in required:
            if key not in data:
                self.problems.error(
                    f.loc,
                    f.child_path(key),
                    f"missing required key '{key}'",
                    f"add '{key}:' to this mapping",
                )
        return out

    def sequence(self, f: Field, what: str = "a list", nonempty: bool = False) -> Iterator[Field]:
        if not isinstance(f.value, list):
            self.fail(f, what)
            return
        if nonempty and not f.value:
            self.problems.error(f.loc, f.path, f"expected {what} with at least one entry, found []")
            return
        items = f.value
        if isinstance(items, LocList):
            file = items._filename
            for index, (value, (line, column)) in enumerate(zip(items, items._items, strict=True)):
                yield Field.located(value, f"{f.path}[{index}]", file, line, column)
        else:
            for index, value in enumerate(items):
                yield Field(value, f.loc, f"{f.path}[{index}]")

    # -- scalars ------------------------------------------------------------------------------

    def string(self, f: Field, what: str = "a non-empty string", hint: str = "") -> str | None:
        if not isinstance(f.value, str) or not f.value.strip():
            self.fail(f, what, hint or "quote the value if YAML reads it as another type")
            return None
        return f.value

    def name(self, f: Field, what: str = "a name") -> str | None:
        if not isinstance(f.value, str) or not NAME_RE.match(f.value):
            self.fail(
                f,
                f"{what} of lower-case letters, digits and dashes ([a-z0-9-]+)",
                "names become parts of rule names, tags and alarm names; e.g. 'checkout-api'",
            )
            return None
        return f.value

    def number(self, f: Field, what: str = "a number") -> Fraction | None:
        if isinstance(f.value, bool) or not isinstance(f.value, int | float):
            self.fail(f, what)
            return None
        if f.value != f.value or f.value in (float("inf"), float("-inf")):
            self.fail(f, what)
            return None
        return to_fraction(f.value)

    def integer(self, f: Field, minimum: int = 1) -> int | None:
        if isinstance(f.value, bool) or not isinstance(f.value, int) or f.value < minimum:
            self.fail(f, f"a whole number of at least {minimum}")
            return None
        return f.value

    def duration(
        self, f: Field, units: str = "wdhms", example: str = "5m, 1h or 30d"
    ) -> int | None:
        try:
            return parse_duration(f.value, allowed_units=units)
        except DurationError as exc:
            self.problems.error(
                f.loc,
                f.path,
                f"{exc}; found {describe(f.value)}",
                f"write a duration such as {example}",
            )
            return None

    def percent(self, f: Field) -> Fraction | None:
        """``"2%"`` → 1/50. Must be above 0 and at most 100 %."""
        match = PERCENT_RE.match(f.value) if isinstance(f.value, str) else None
        value = Fraction(match.group(1)) / 100 if match else None
        if value is None or not 0 < value <= 1:
            self.fail(f, "a percentage above 0% and at most 100%, such as 2%")
            return None
        return value

    def choice(self, f: Field, options: Iterable[str]) -> str | None:
        options = list(options)
        if not isinstance(f.value, str) or f.value not in options:
            hint = did_you_mean(f.value, options, listing="") if isinstance(f.value, str) else ""
            self.fail(f, "one of " + ", ".join(options), hint)
            return None
        return f.value

    def string_list(
        self, f: Field, what: str, item_ok: Callable[[str], bool], item_what: str
    ) -> tuple[str, ...] | None:
        if isinstance(f.value, str):
            f = Field([f.value], f.loc, f.path)  # a single handle is accepted as a list of one
        result = []
        ok = isinstance(f.value, list)
        for item in self.sequence(f, what):
            if isinstance(item.value, str) and item_ok(item.value):
                result.append(item.value)
            else:
                self.fail(item, item_what)
                ok = False
        return tuple(result) if ok else None

    def label_map(self, f: Field, reserved: Iterable[str] = ()) -> tuple[tuple[str, str], ...]:
        """A mapping of label names to string values, as Prometheus and tags accept them."""
        reserved = set(reserved)
        if not isinstance(f.value, dict):
            self.fail(f, "a mapping of label names to values, such as {env: prod}")
            return ()
        data: LocDict = f.value  # type: ignore[assignment]
        result = []
        for key, value in data.items():
            bad_name = not LABEL_NAME_RE.match(key) or key.startswith(RESERVED_LABEL_PREFIX)
            if not bad_name and key not in reserved and isinstance(value, str) and value:
                result.append((key, value))
                continue
            key_loc = data.key_locs.get(key, f.loc)  # located only for the problem
            child = Field(value, data.value_locs.get(key, f.loc), f.child_path(key))
            if bad_name:
                self.problems.error(
                    key_loc,
                    child.path,
                    f"expected a label name matching [a-zA-Z_][a-zA-Z0-9_]*, found '{key}'",
                    "use letters, digits and underscores; names starting with __ are reserved",
                )
            elif key in reserved:
                self.problems.error(
                    key_loc,
                    child.path,
                    f"label '{key}' is set by slogen itself and cannot be overridden",
                    "reserved labels: " + ", ".join(sorted(reserved)),
                )
            else:
                self.fail(child, "a non-empty string value", 'quote numbers, e.g. shard: "3"')
        return tuple(sorted(result))

    def pattern(self, f: Field, regex: re.Pattern[str], what: str) -> str | None:
        """A string matching ``regex`` (``what`` says what was expected, with an example)."""
        if isinstance(f.value, str) and regex.match(f.value):
            return f.value
        self.fail(f, what)
        return None

    def sli_fields(self, f: Field, *extra: str) -> tuple[dict[str, Field], bool] | None:
        """An SLI source's keys (``errors`` or ``good``, ``total``, and ``extra`` required ones),
        and whether errors/good are given right; None when ``f`` is not a mapping."""
        fields = self.mapping(f, (*extra, *SLI_KEYS), (*extra, *SLI_REQUIRED))
        if fields is None:
            return None
        return fields, self.errors_or_good(fields, f)

    def sli_queries(
        self, f: Field, what: str
    ) -> tuple[dict[str, str], dict[str, Field], bool] | None:
        """An SLI source of query strings (``what`` names the language): the queries that are
        strings (whitespace-trimmed), every field, and whether all is well so far."""
        read = self.sli_fields(f)
        if read is None:
            return None
        fields, ok = read
        queries = {key: self.query(value, what) for key, value in fields.items()}
        ok = ok and None not in queries.values() and "total" in queries
        return {k: q.strip() for k, q in queries.items() if q is not None}, fields, ok

    def query(self, f: Field, what: str) -> str | None:
        """One query string; a list gets its own hint, since one expression can add series."""
        if isinstance(f.value, list):
            self.fail(f, f"{what} (one string)", ONE_QUERY_HINT)
            return None
        return self.string(f, what)

    def sli_query_lists(
        self, f: Field, what: str
    ) -> tuple[dict[str, tuple[str, ...]], dict[str, Field], bool] | None:
        """Like :meth:`sli_queries`, but each side may also be a non-empty list of queries that
        the backend sums (several metrics counting the same events, e.g. two status classes)."""
        read = self.sli_fields(f)
        if read is None:
            return None
        fields, ok = read
        queries = {
            key: self.one_or_more(value, lambda v: self.string(v, what), f"{what} or a list")
            for key, value in fields.items()
        }
        ok = ok and None not in queries.values() and "total" in queries
        found = {k: tuple(q.strip() for q in qs) for k, qs in queries.items() if qs is not None}
        return found, fields, ok

    def one_or_more(
        self, f: Field, read: Callable[[Field], T | None], what: str
    ) -> tuple[T, ...] | None:
        """One item, or a non-empty list of items (a side of an SLI that sums several sources),
        each read by ``read`` at its own location and path (``errors[1]``); None after errors."""
        if not isinstance(f.value, list):
            item = read(f)
            return None if item is None else (item,)
        items: list[T] = []
        ok = True
        for entry in self.sequence(f, what, nonempty=True):  # read all: report every problem
            value = read(entry)
            if value is None:
                ok = False
            else:
                items.append(value)
        return tuple(items) if ok and items else None

    def errors_or_good(self, fields: dict[str, Field], f: Field) -> bool:
        """An SLI source names bad events (``errors``) or good ones (``good``), not both."""
        has_errors, has_good = (key in fields for key in SLI_EITHER)
        if has_errors and has_good:
            self.problems.error(
                fields["good"].loc,
                f.path,
                "has both 'errors' and 'good'",
                "give one of them: 'errors' (bad events) or 'good' (good events), plus 'total'",
            )
            return False
        if not has_errors and not has_good and isinstance(f.value, dict):
            self.problems.error(
                f.loc,
                f.path,
                "needs 'errors' or 'good' (found neither)",
                "add 'errors:' (bad events) or 'good:' (good events) next to 'total:'",
            )
            return False
        return True
