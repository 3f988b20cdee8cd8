"""Applying a request class (:mod:`slogen.spec.classes`) to one SLO entry of a spec.

The rule is one order of precedence, value by value: what the SLO gives itself, else what its
class sets, else the project's default (the default policy; no ``min_events``). Resolved values
land in the SLO's own fields, so nothing after the loader knows classes exist; where each value
came from is kept beside them (``SLO.origins``) for ``slogen explain``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from slogen.errors import Location, Problem
from slogen.spec.checks import Checker, Field
from slogen.spec.classes import RequestClass, class_hint, ticket_variant
from slogen.spec.model import FROM_DEFAULT, FROM_SPEC, ExemptSLO, Origin, Policy

if TYPE_CHECKING:
    from slogen.spec.specreader import SpecReader

DEFAULT = Origin(FROM_DEFAULT)
CLASS_SETS = ("objective", "window")  # the SLO keys a class may give instead of the spec
# What an SLO that alerts needs, from itself or (the first two) from its class.
NEEDED = (*CLASS_SETS, "indicator")


class ClassResolver:
    """The classes of one project, looked up and applied for every spec file."""

    def __init__(
        self,
        check: Checker,
        classes: dict[str, RequestClass],
        broken: frozenset[str],
        policies: dict[str, Policy],
        default_policy: str,
        broken_policies: frozenset[str],
    ):
        self.check = check
        self.classes = classes
        self.broken = broken
        self.policies = policies
        self.default_policy = default_policy
        self.broken_policies = broken_policies

    def lookup(self, f: Field | None) -> tuple[RequestClass | None, bool]:
        """The class ``class:`` names (None without one), and whether all is well."""
        if f is None:
            return None, True
        if not isinstance(f.value, str) or not f.value:
            self.check.fail(f, "a request class name such as HIGH_SLOW")
            return None, False
        if f.value in self.broken:
            return None, False  # its own errors say what is wrong with it
        if f.value not in self.classes:
            self.check.problems.error(
                f.loc, f.path, f"unknown class '{f.value}'", class_hint(f.value, self.classes)
            )
            return None, False
        return self.classes[f.value], True

    def policy(self, rclass: RequestClass, f: Field) -> Policy | None:
        """The policy an SLO of ``rclass`` gets unless its spec names one: the class's, else the
        project default, as tickets when the class does not page; None after a problem."""
        name = rclass.policy or self.default_policy
        policy = self.policies.get(name)
        if policy is None or name in self.broken_policies:
            return None  # reported where the policy is defined
        if rclass.pages:
            return policy
        variant, why = ticket_variant(policy)
        if variant is None:
            self.check.problems.error(
                f.loc,
                f.path,
                f"class '{rclass.name}' does not page: {why}",
                f"give class '{rclass.name}' a policy without that clash in slogen.yaml",
            )
        return variant

    def require(
        self, f: Field, fields: dict[str, Field], rclass: RequestClass | None, known: bool
    ) -> bool:
        """Report the keys an SLO needs that neither it nor its class gives (with a class that
        is not ``known``, only those no class can give)."""
        ok = True
        for key in NEEDED:
            if key in fields or (key in CLASS_SETS and not known):
                continue
            if key in CLASS_SETS and rclass is not None and getattr(rclass, key) is not None:
                continue
            hint = f"add '{key}:' to this mapping"
            if rclass is not None and key in CLASS_SETS:
                hint = f"add '{key}:' to this SLO: its class '{rclass.name}' does not set it"
            self.check.problems.error(
                f.loc, f.child_path(key), f"missing required key '{key}'", hint
            )
            ok = False
        return ok

    @staticmethod
    def origins(
        fields: dict[str, Field], block: object, rclass: RequestClass | None
    ) -> tuple[tuple[str, Origin], ...]:
        """Where the SLO's objective, window, policy and min_events came from (``block``: its
        ``alerting:`` mapping, if any); first, with a class, where the class is defined."""
        given = block if isinstance(block, dict) else {}
        given_locs = getattr(given, "value_locs", {})

        def pick(spec: Location | None, by_class: bool, class_key: str) -> Origin:
            if spec is not None:
                return Origin(FROM_SPEC, location=spec)
            if rclass is not None and by_class:
                return rclass.origin(class_key)
            return DEFAULT

        def at(key: str) -> Location | None:
            return fields[key].loc if key in fields else None

        class_policy = rclass is not None and (rclass.policy is not None or not rclass.pages)
        resolved = (
            ("objective", pick(at("objective"), True, "objective")),
            ("window", pick(at("window"), True, "window")),
            (
                "policy",
                pick(
                    given_locs.get("policy") if "policy" in given else None,
                    class_policy,
                    "policy" if rclass is not None and rclass.policy else "pages",
                ),
            ),
            (
                "min_events",
                pick(
                    given_locs.get("min_events") if "min_events" in given else None,
                    rclass is not None and rclass.min_events is not None,
                    "min_events",
                ),
            ),
        )
        return resolved if rclass is None else (("class", rclass.origin()), *resolved)


def read_exempt(
    reader: SpecReader, f: Field, fields: dict[str, Field], rclass: RequestClass
) -> ExemptSLO | None:
    """An entry of a class that builds no alerts (NO_SLO): checked like an SLO, kept, and noted.

    It may leave out ``objective``, ``window`` and ``indicator`` (a class without alerts has no
    target, and nothing reads the queries); what it gives is still checked, so that giving it
    a class that alerts later fails only for what is missing. An ``alerting:`` block is an
    error: it would silently do nothing.
    """
    check = reader.check
    ok = True
    if "alerting" in fields:
        af = fields["alerting"]
        check.problems.error(
            af.loc,
            af.path,
            f"class '{rclass.name}' builds no alerts, so this block would never be used",
            "remove 'alerting:', or give the SLO a class that alerts",
        )
        ok = False
    name, description = reader._named(fields, "name", "an SLO name")
    found, scalars_ok = reader.scalars(fields)
    indicator = reader.indicator(fields["indicator"]) if "indicator" in fields else None
    if not ok or not scalars_ok or name is None:
        return None
    if "indicator" in fields and indicator is None:
        return None
    cf = fields["class"]
    check.problems.add(
        Problem(
            cf.loc,
            cf.path,
            f"SLO '{name}' is of class '{rclass.name}': no alerts are built for it, and no "
            "backend renders anything for it",
            "give it a class that alerts (or no class) to alert on it",
            severity="note",
        )
    )
    return ExemptSLO(
        name=name,
        request_class=rclass.name,
        description=description,
        category=found.get("category"),  # type: ignore[arg-type]
        objective=found.get("objective"),  # type: ignore[arg-type]
        window=found.get("window"),  # type: ignore[arg-type]
        indicator=indicator,
        location=f.loc,
        origin=rclass.origin(),
    )
