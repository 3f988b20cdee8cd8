"""Reading one service spec (its SLOs, indicators and alerting blocks) into the model.

Every problem is recorded with its location and reading carries on, so one run reports every
mistake in a file; a part with a problem reads as ``None``. An SLO's request class (``class:``)
is looked up and applied by :mod:`slogen.spec.resolve`, the ``document:`` block read by
:mod:`slogen.spec.document`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from fractions import Fraction

from slogen.backends import registry
from slogen.backends.contract import Backend
from slogen.durations import format_duration
from slogen.engine.burnrate import analyse_tier
from slogen.errors import describe, did_you_mean
from slogen.numbers import HUMAN_DIGITS, fmt, fmt_above, fmt_below, fmt_percent
from slogen.spec.checks import (
    MIN_EVENTS_AT_LEAST,
    OBJECTIVE_ABOVE,
    OBJECTIVE_BELOW,
    WINDOW_UNITS,
    Checker,
    Field,
)
from slogen.spec.classes import BUILTIN_CLASSES, RequestClass
from slogen.spec.document import read_document
from slogen.spec.model import (
    CATEGORIES,
    SLO,
    Alerting,
    ExemptSLO,
    Indicator,
    Notify,
    Policy,
    Service,
)
from slogen.spec.no_traffic import read_no_traffic
from slogen.spec.resolve import ClassResolver, read_exempt
from slogen.spec.settings import CLASS_POLICIES
from slogen.spec.traffic import parse_traffic

RESERVED_LABELS = ("service", "slo", "severity", "tier", "team")
SEVERITY_RE = re.compile(r"^[a-z0-9-]+$")
RUNBOOK_RE = re.compile(r"^https?://\S+$")
OWNER_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
SLO_KEYS = (
    "name",
    "description",
    "category",
    "class",
    "objective",
    "window",
    "traffic",
    "indicator",
    "alerting",
)
SLO_REQUIRED = ("name",)  # the rest is required from the SLO or its class (resolve.NEEDED)
SERVICE_KEYS = ("service", "description", "owner", "labels", "slos", "document")
SERVICE_REQUIRED = ("service", "slos")
# The keys of an `alerting:` block besides its notification blocks (one per severity).
ALERTING_KEYS = ("policy", "min_events", "runbook", "no_traffic")

# A backend's reader of its part of a spec (``read_source`` or ``read_notify``).
Reader = Callable[[Checker, Field], object | None]


class SpecReader:
    """Reads service specs against one project's policies; a reader serves every file."""

    def __init__(
        self,
        check: Checker,
        policies: dict[str, Policy],
        default_policy: str,
        broken_policies: frozenset[str] = frozenset(),
        classes: dict[str, RequestClass] | None = None,
        broken_classes: frozenset[str] = frozenset(),
    ):
        self.check = check
        # the built-in classes' policies are there to be named, the project's own win
        self.policies = {**CLASS_POLICIES, **policies}
        self.listed = tuple(policies)  # what a "known policies" hint lists
        self.default_policy = default_policy
        self.broken_policies = broken_policies
        self.classes = ClassResolver(
            check,
            BUILTIN_CLASSES if classes is None else classes,
            broken_classes,
            self.policies,
            default_policy,
            broken_policies,
        )
        # Severities some policy has; the same for every alerting block, so worked out once.
        self.known_severities = frozenset(s for p in self.policies.values() for s in p.severities)
        # (objective, window, policy name) combinations that passed slo_checks: the checks
        # depend on nothing else, and a project repeats a few combinations many times.
        self._checked: set[tuple[Fraction, int, str]] = set()

    def _named(self, fields: dict[str, Field], key: str, what: str) -> tuple[str | None, str]:
        """The name under ``key`` (None when missing or wrong) and the optional free-text
        ``description`` ("" when absent or after an error)."""
        name = self.check.name(fields[key], what) if key in fields else None
        described = fields.get("description")
        return name, (self.check.string(described) or "") if described is not None else ""

    def _per_backend(
        self, f: Field, what: str, stage: Callable[[Backend], Reader]
    ) -> dict[str, object] | None:
        """A mapping of backend names to what each backend's ``stage`` (its ``read_source`` or
        ``read_notify``) reads there; None after any problem."""
        fields = self.check.mapping(f, registry.NAMES, what=f"a mapping of backend names to {what}")
        if fields is None:
            return None
        built = {
            name: stage(registry.get(name))(self.check, value) for name, value in fields.items()
        }
        return None if any(v is None for v in built.values()) else built

    def indicator(self, f: Field) -> Indicator | None:
        if isinstance(f.value, dict) and not f.value:
            self.check.problems.error(
                f.loc, f.path, f"needs at least one source: {registry.listing()}"
            )
            return None
        built = self._per_backend(f, "SLI queries", lambda backend: backend.read_source)
        return Indicator(tuple(built.items())) if built else None

    def notify(self, f: Field) -> Notify | None:
        routes = self._per_backend(f, "notification targets", lambda backend: backend.read_notify)
        if routes is None:
            return None
        return Notify(tuple((name, route) for name, route in routes.items() if route))

    def alerting(self, f: Field, fallback: Policy | None = None) -> tuple[Alerting, Policy] | None:
        """The block, and the policy it names, else ``fallback`` (the SLO's class's), else the
        project's default."""
        policy = fallback or self.policies[self.default_policy]
        if not isinstance(f.value, dict):
            self.check.fail(
                f, "a mapping (policy, min_events, runbook, no_traffic, one block per severity)"
            )
            return None
        ok = True
        resolved = True
        if "policy" in f.value:
            pf = Field(f.value["policy"], f.value.value_locs["policy"], f.child_path("policy"))
            name = self.check.name(pf, "a policy name")
            if name is None or name in self.broken_policies:
                ok = resolved = False
            elif name not in self.policies:
                ok = resolved = False
                self.check.problems.error(
                    pf.loc,
                    pf.path,
                    f"unknown policy '{name}'",
                    did_you_mean(name, self.policies, listing="")
                    or did_you_mean(name, self.listed, listing="known policies"),
                )
            else:
                policy = self.policies[name]
        severities = policy.severities
        if not resolved:  # the policy's own error is reported; still check the blocks given
            severities = tuple(
                k
                for k in f.value
                if k not in ALERTING_KEYS and isinstance(k, str) and SEVERITY_RE.match(k)
            )
        known_elsewhere = self.known_severities

        def claim_severity(key: str, field: Field) -> bool:
            if key in known_elsewhere:
                self.check.problems.error(
                    field.loc,
                    field.path,
                    f"policy '{policy.name}' has no '{key}' tier, so this block would never be "
                    "used",
                    f"the policy's severities are: {', '.join(severities)}; remove the block or "
                    "choose a policy that uses it",
                )
                return True
            return False

        fields = self.check.mapping(
            f,
            (*ALERTING_KEYS, *severities),
            unknown=claim_severity,
        )
        if fields is None:
            return None
        min_events = None
        if "min_events" in fields:
            min_events = self.check.integer(fields["min_events"], MIN_EVENTS_AT_LEAST)
            ok &= min_events is not None
        runbook = None
        if "runbook" in fields:
            runbook = self.check.string(fields["runbook"], "a runbook URL")
            if runbook is not None and not RUNBOOK_RE.match(runbook):
                self.check.fail(
                    fields["runbook"], "an http(s) URL such as https://runbooks.example.com/x"
                )
                runbook = None
            ok &= runbook is not None
        no_traffic = None
        if "no_traffic" in fields:
            no_traffic = read_no_traffic(
                self.check, fields["no_traffic"], policy if resolved else None
            )
            ok &= no_traffic is not None
        notify = []
        for severity in severities:
            if severity in fields:
                block = self.notify(fields[severity])
                ok &= block is not None
                if block is not None:
                    notify.append((severity, block))
        if not ok:
            return None
        alerting = Alerting(
            policy.name if "policy" in fields else None,
            min_events,
            runbook,
            tuple(notify),
            no_traffic,
        )
        return alerting, policy

    def slo_checks(
        self, objective: Fraction, window: int, policy: Policy, fields: dict[str, Field]
    ) -> bool:
        """Cross-field checks that need the engine: windows fit, thresholds can be reached."""
        key = (objective, window, policy.name)
        if key in self._checked:
            return True
        ok = True
        for tier in policy.tiers:
            if tier.long > window:
                wf = fields["window"]
                self.check.problems.error(
                    wf.loc,
                    wf.path,
                    f"policy '{policy.name}' tier '{tier.id}' has a long window of "
                    f"{format_duration(tier.long)}, longer than this SLO's window "
                    f"{format_duration(window)}",
                    f"use a window of at least {format_duration(tier.long)}, or a policy whose "
                    f"long windows fit in {format_duration(window)}",
                )
                ok = False
                continue
            math = analyse_tier(objective, window, tier)
            if not math.can_fire:
                of = fields["objective"]
                need_objective = (1 - Fraction(tier.long) / (tier.budget * window)) * 100
                need_budget = Fraction(tier.long) / (window * math.error_budget)
                self.check.problems.error(
                    of.loc,
                    of.path,
                    f"tier '{tier.id}' of policy '{policy.name}' could never fire: its error-ratio "
                    f"threshold is {fmt(math.threshold, HUMAN_DIGITS)} (burn rate "
                    f"{fmt(math.burn_rate, HUMAN_DIGITS)} × error budget "
                    f"{fmt_percent(math.error_budget)}), and an error ratio cannot exceed 1",
                    f"raise the objective above {fmt_above(need_objective, 6)}%, or give tier "
                    f"'{tier.id}' a budget share below {fmt_below(need_budget * 100, 4)}% in a "
                    "policy of its own",
                )
                ok = False
        if ok:
            self._checked.add(key)
        return ok

    def scalars(self, fields: dict[str, Field]) -> tuple[dict[str, object], bool]:
        """The optional plain values of an SLO (category, objective, window, traffic) that it
        gives itself; and whether they all read."""
        found: dict[str, object] = {}
        ok = True
        if "category" in fields:
            found["category"] = self.check.choice(fields["category"], CATEGORIES)
        if "objective" in fields:
            of = fields["objective"]
            objective = self.check.number(of, "a percentage between 0 and 100, such as 99.9")
            if objective is not None and not OBJECTIVE_ABOVE < objective < OBJECTIVE_BELOW:
                self.check.fail(of, "a percentage between 0 and 100 (exclusive), such as 99.9")
                objective = None
            found["objective"] = objective
            ok &= objective is not None
        if "window" in fields:
            found["window"] = self.check.duration(fields["window"], WINDOW_UNITS, "30d, 4w or 720h")
            ok &= found["window"] is not None
        if "traffic" in fields:
            tf = fields["traffic"]
            try:
                found["traffic"] = parse_traffic(tf.value)
            except ValueError as exc:
                self.check.problems.error(
                    tf.loc, tf.path, f"{exc}, found {describe(tf.value)}", "e.g. traffic: 3M/30d"
                )
                ok = False
        return found, ok

    def slo(self, f: Field) -> SLO | ExemptSLO | None:
        fields = self.check.mapping(f, SLO_KEYS, SLO_REQUIRED)
        if fields is None:
            return None
        rclass, class_ok = self.classes.lookup(fields.get("class"))
        if rclass is not None and not rclass.alerts:
            return read_exempt(self, f, fields, rclass)
        required_ok = self.classes.require(f, fields, rclass, class_ok)
        name, description = self._named(fields, "name", "an SLO name")
        found, scalars_ok = self.scalars(fields)
        objective = found.get("objective", rclass.objective if rclass else None)
        window = found.get("window", rclass.window if rclass else None)
        indicator = self.indicator(fields["indicator"]) if "indicator" in fields else None
        fallback = self.classes.policy(rclass, fields["class"]) if rclass else None
        if rclass is not None and fallback is None:
            class_ok = False
        alerting_policy = None
        if "alerting" in fields:
            alerting_policy = self.alerting(fields["alerting"], fallback)
        else:
            alerting_policy = (Alerting(), fallback or self.policies[self.default_policy])
        if None in (name, objective, window, indicator, alerting_policy) or not (
            scalars_ok and class_ok and required_ok
        ):
            return None
        alerting, policy = alerting_policy  # type: ignore[misc]
        spots = dict(fields)
        if rclass is not None:  # a problem with a value from the class is reported at `class:`
            spots.setdefault("objective", fields["class"])
            spots.setdefault("window", fields["class"])
        if not self.slo_checks(objective, window, policy, spots):  # type: ignore[arg-type]
            return None
        block = fields["alerting"].value if "alerting" in fields else {}
        origins = self.classes.origins(fields, block, rclass)
        if rclass is not None:
            if "policy" not in block and (rclass.policy or not rclass.pages):
                alerting = replace(alerting, policy=policy.name)
            if "min_events" not in block and rclass.min_events is not None:
                alerting = replace(alerting, min_events=rclass.min_events)
        return SLO(
            name=name,  # type: ignore[arg-type]
            objective=objective,  # type: ignore[arg-type]
            window=window,  # type: ignore[arg-type]
            indicator=indicator,  # type: ignore[arg-type]
            policy=policy,
            alerting=alerting,
            description=description,
            category=found.get("category"),  # type: ignore[arg-type]
            location=f.loc,
            traffic=found.get("traffic"),  # type: ignore[arg-type]
            request_class=rclass.name if rclass else None,
            origins=origins,
        )

    def service(self, f: Field) -> Service | None:
        fields = self.check.mapping(
            f,
            SERVICE_KEYS,
            SERVICE_REQUIRED,
            what="a mapping (a service spec with 'service:' and 'slos:')",
        )
        if fields is None:
            return None
        name, description = self._named(fields, "service", "a service name")
        owner = None
        if "owner" in fields:
            of = fields["owner"]
            if isinstance(of.value, str) and OWNER_RE.match(of.value):
                owner = of.value
            else:
                self.check.fail(of, "a team name of letters, digits, '.', '_' or '-'")
        labels: tuple[tuple[str, str], ...] = ()
        if "labels" in fields:
            labels = self.check.label_map(fields["labels"], RESERVED_LABELS)
        slos: list[SLO] = []
        exempt: list[ExemptSLO] = []
        document = read_document(self.check, fields["document"]) if "document" in fields else None
        ok = document is not None or "document" not in fields
        seen: dict[str, Field] = {}
        if "slos" in fields:
            for item in self.check.sequence(fields["slos"], "a list of SLOs", nonempty=True):
                slo = self.slo(item)
                if slo is None:
                    ok = False
                    continue
                if slo.name in seen:
                    self.check.problems.error(
                        item.loc,
                        f"{item.path}.name",
                        f"duplicate SLO name '{slo.name}' in service '{name}' "
                        f"(first at line {seen[slo.name].loc.line})",
                        "SLO names must be unique within a service",
                    )
                    ok = False
                    continue
                seen[slo.name] = item
                if isinstance(slo, ExemptSLO):
                    exempt.append(slo)
                else:
                    slos.append(slo)
        if not ok or name is None or not (slos or exempt):
            return None
        return Service(
            name, tuple(slos), description, owner, labels, f.loc, tuple(exempt), document
        )
