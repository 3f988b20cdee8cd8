"""Reading a service's ``document:`` block: the SLO document's people, dates and policy.

The block says what the Workbook's example SLO document and error budget policy say beyond the
numbers: who wrote and approved the SLOs, when they are reviewed next, who decides once the
budget is spent and what the team does then. Nothing a backend renders depends on it, so a
mistake here is still an error (a document that names the wrong date misleads as much as a
wrong objective), but a review date that has passed is only a warning: the alerts still work.

Problems go through the :class:`~slogen.spec.checks.Checker`, located like every other one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from slogen.errors import Problem, describe
from slogen.spec.checks import Checker, Field
from slogen.spec.model import Document

DOCUMENT_KEYS = (
    "overview",
    "authors",
    "reviewers",
    "approvers",
    "approved",
    "review",
    "escalation",
    "budget_exhausted",
    "satisfaction",
)
DATE_EXAMPLE = "a date such as 2027-03-31"
# The keys that take one text or a list of them (with what one item is), and the dates.
TEXT_LISTS = (
    ("authors", "a name"),
    ("reviewers", "a name"),
    ("approvers", "a name"),
    ("escalation", "an escalation step"),
    ("budget_exhausted", "an action"),
    ("satisfaction", "a source"),
)
TEXT_LIST_KEYS = tuple(key for key, _what in TEXT_LISTS)
DATE_KEYS = ("approved", "review")


def today() -> date:
    """The date a review date is compared with. A module-level function, looked up on every
    read, so that tests (and nothing else) can put a fixed day in its place."""
    return date.today()


def _text_list(check: Checker, f: Field, one: str) -> tuple[str, ...] | None:
    """One non-empty string, or a non-empty list of them (each checked at its own place):
    ``one`` names an item ("a name")."""
    if not isinstance(f.value, list):
        text = check.string(f, f"{one} or a list of them", "e.g. [first, second] for a list")
        return None if text is None else (text.strip(),)
    items = list(check.sequence(f, f"a list of {one.split(' ', 1)[1]}s", nonempty=True))
    read = [check.string(item, one) for item in items]
    if not items or None in read:
        return None
    return tuple(text.strip() for text in read if text is not None)


def _date(check: Checker, f: Field) -> date | None:
    """A calendar day: YAML's own date (``2027-03-31``) or the same text quoted."""
    value = f.value
    if isinstance(value, datetime):  # a date with a time: the document is reviewed on a day
        check.problems.error(
            f.loc,
            f.path,
            f"expected {DATE_EXAMPLE}, found a date with a time ({value.isoformat()})",
            "give the day only, without a time",
        )
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    check.problems.error(
        f.loc,
        f.path,
        f"expected {DATE_EXAMPLE} (year-month-day), found {describe(value)}",
        "write the date as YYYY-MM-DD",
    )
    return None


def review_warning(review: date, f: Field, now: date) -> Problem | None:
    """A warning at ``document.review`` when that day has passed (None while it has not)."""
    if review >= now:
        return None
    days = (now - review).days
    return Problem(
        f.loc,
        f.path,
        f"the SLO document's review date {review.isoformat()} has passed "
        f"({days} day{'s' if days != 1 else ''} ago)",
        "review the SLOs with the approvers, then set document.review to the next review date",
        severity="warning",
    )


def read_document(
    check: Checker, f: Field, clock: Callable[[], date] | None = None
) -> Document | None:
    """The block as a :class:`Document` (None after reporting errors). ``clock`` gives the
    day the review date is checked against (default: :func:`today`)."""
    fields = check.mapping(
        f,
        DOCUMENT_KEYS,
        what="a mapping (overview, authors, reviewers, approvers, approved, review, escalation, "
        "budget_exhausted, satisfaction)",
    )
    if fields is None:
        return None
    ok = True
    lists: dict[str, tuple[str, ...]] = {}
    for key, what in TEXT_LISTS:
        if key in fields:
            read = _text_list(check, fields[key], what)
            ok &= read is not None
            lists[key] = read or ()
    dates: dict[str, date | None] = {}
    for key in DATE_KEYS:
        if key in fields:
            dates[key] = _date(check, fields[key])
            ok &= dates[key] is not None
    overview = None
    if "overview" in fields:
        overview = check.string(fields["overview"], "the service overview as text")
        ok &= overview is not None
    approved, review = dates.get("approved"), dates.get("review")
    if approved is not None and review is not None and review < approved:
        rf = fields["review"]
        check.problems.error(
            rf.loc,
            rf.path,
            f"the next review ({review.isoformat()}) is before the approval "
            f"({approved.isoformat()})",
            "document.review is the date of the next review, after document.approved",
        )
        ok = False
    if not ok:
        return None
    if review is not None:
        warning = review_warning(review, fields["review"], (clock or today)())
        if warning is not None:
            check.problems.add(warning)
    return Document(
        authors=lists.get("authors", ()),
        reviewers=lists.get("reviewers", ()),
        approvers=lists.get("approvers", ()),
        approved=approved,
        review=review,
        escalation=lists.get("escalation", ()),
        budget_exhausted=lists.get("budget_exhausted", ()),
        satisfaction=lists.get("satisfaction", ()),
        overview=overview.strip() if overview else None,
        location=f.loc,
    )
