"""Reading one service spec (its SLOs, indicators and alerting blocks) into the model.

Every problem is recorded with its location and reading carries on, so one run reports every
mistake in a file; a part with a problem reads as ``None``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from fractions import Fraction

from slogen.backends import registry
from slogen.backends.contract import Backend
from slogen.durations import format_duration
from slogen.engine.burnrate import analyse_tier
from slogen.errors import describe, did_you_mean
from slogen.numbers import HUMAN_DIGITS, fmt, fmt_above, fmt_below, fmt_percent
from slogen.spec.checks import Checker, Field
from slogen.spec.model import CATEGORIES, SLO, Alerting, Indicator, Notify, Policy, Service
from slogen.spec.no_traffic import read_no_traffic
from slogen.spec.traffic import parse_traffic

RESERVED_LABELS = ("service", "slo", "severity", "tier", "team")
SEVERITY_RE = re.compile(r"^[a-z0-9-]+$")
RUNBOOK_RE = re.compile(r"^https?://\S+$")
OWNER_RE = re.compile(r"^[A-Za-z0-9_.-]+$")

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
    ):
        self.check = check
        self.policies = policies
        self.default_policy = default_policy
        self.broken_policies = broken_policies
        # Severities some policy has; the same for every alerting block, so worked out once.
        self.known_severities = frozenset(s for p in policies.values() for s in p.severities)
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

    def alerting(self, f: Field) -> tuple[Alerting, Policy] | None:
        policy = self.policies[self.default_policy]
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
                    did_you_mean(name, self.policies, listing="known policies"),
                )
            else:
                policy = self.policies[name]
        severities = policy.severities
        if not resolved:  # the policy's own error is reported; still check the blocks given
            severities = tuple(
                k
                for k in f.value
                if k not in ("policy", "min_events", "runbook", "no_traffic")
                and isinstance(k, str)
                and SEVERITY_RE.match(k)
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
            ("policy", "min_events", "runbook", "no_traffic", *severities),
            unknown=claim_severity,
        )
        if fields is None:
            return None
        min_events = None
        if "min_events" in fields:
            min_events = self.check.integer(fields["min_events"], 1)
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

    def slo(self, f: Field) -> SLO | None:
        fields = self.check.mapping(
            f,
            (
                "name",
                "description",
                "category",
                "objective",
                "window",
                "traffic",
                "indicator",
                "alerting",
            ),
            ("name", "objective", "window", "indicator"),
        )
        if fields is None:
            return None
        name, description = self._named(fields, "name", "an SLO name")
        category = None
        if "category" in fields:
            category = self.check.choice(fields["category"], CATEGORIES)
        objective = None
        if "objective" in fields:
            of = fields["objective"]
            objective = self.check.number(of, "a percentage between 0 and 100, such as 99.9")
            if objective is not None and not 0 < objective < 100:
                self.check.fail(of, "a percentage between 0 and 100 (exclusive), such as 99.9")
                objective = None
        window = None
        if "window" in fields:
            window = self.check.duration(fields["window"], "wdh", "30d, 4w or 720h")
        traffic = None
        traffic_ok = True
        if "traffic" in fields:
            tf = fields["traffic"]
            try:
                traffic = parse_traffic(tf.value)
            except ValueError as exc:
                self.check.problems.error(
                    tf.loc, tf.path, f"{exc}, found {describe(tf.value)}", "e.g. traffic: 3M/30d"
                )
                traffic_ok = False
        indicator = self.indicator(fields["indicator"]) if "indicator" in fields else None
        alerting_policy = None
        if "alerting" in fields:
            alerting_policy = self.alerting(fields["alerting"])
        else:
            alerting_policy = (Alerting(), self.policies[self.default_policy])
        if None in (name, objective, window, indicator, alerting_policy) or not traffic_ok:
            return None
        alerting, policy = alerting_policy  # type: ignore[misc]
        if not self.slo_checks(objective, window, policy, fields):  # type: ignore[arg-type]
            return None
        return SLO(
            name=name,  # type: ignore[arg-type]
            objective=objective,  # type: ignore[arg-type]
            window=window,  # type: ignore[arg-type]
            indicator=indicator,  # type: ignore[arg-type]
            policy=policy,
            alerting=alerting,
            description=description,
            category=category,
            location=f.loc,
            traffic=traffic,
        )

    def service(self, f: Field) -> Service | None:
        fields = self.check.mapping(
            f,
            ("service", "description", "owner", "labels", "slos"),
            ("service", "slos"),
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
        ok = True
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
                slos.append(slo)
        if not ok or name is None or not slos:
            return None
        return Service(name, tuple(slos), description, owner, labels, f.loc)
