"""Load spec files and the optional ``slogen.yaml`` into a :class:`Project`.

Validation is strict and complete: every file is read, every problem recorded with its
location, and a :class:`SlogenError` carrying all of them is raised at the end if any was an
error. Nothing is half-loaded: callers either get a valid project or the full list of problems.
"""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

from slogen.durations import format_duration
from slogen.engine.burnrate import analyse_tier, default_short_window
from slogen.errors import Location, Problems, SlogenError, describe, did_you_mean
from slogen.numbers import HUMAN_DIGITS, fmt, fmt_above, fmt_below, fmt_percent
from slogen.spec.checks import Checker, Field
from slogen.spec.model import (
    CATEGORIES,
    SLO,
    Alerting,
    CloudWatchMetric,
    CloudWatchSource,
    DatadogSource,
    Indicator,
    Notify,
    Policy,
    Project,
    PrometheusSource,
    Service,
    Target,
    Tier,
)
from slogen.spec.traffic import parse_traffic
from slogen.spec.yamlsource import load_yaml

CONFIG_NAME = "slogen.yaml"
BACKENDS = ("prometheus", "datadog", "cloudwatch")
RESERVED_LABELS = ("service", "slo", "severity", "tier", "team")
# Routing labels may set `team` (e.g. to route to another team than the owner); the rest are
# how slogen identifies its alerts.
RESERVED_ROUTING_LABELS = ("service", "slo", "severity", "tier")
WINDOW_PLACEHOLDER = re.compile(r"\{\{\s*window\s*\}\}")
REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+$")
CLOUDWATCH_STATS = re.compile(r"^(Sum|SampleCount|Average|Minimum|Maximum|p\d{1,2}(\.\d+)?)$")

BUILTIN_POLICIES = {
    "workbook": Policy(
        "workbook",
        (
            Tier("page", Fraction(2, 100), 3600, 300),
            Tier("page", Fraction(5, 100), 21600, 1800),
            Tier("ticket", Fraction(10, 100), 259200, 21600),
        ),
    )
}

# Which options each target type takes, per backend.
TARGET_TYPES: dict[str, dict[str, tuple[str, ...]]] = {
    "prometheus": {"files": ("dir", "reload_url", "format")},
    "datadog": {"files": ("dir",), "api": ("host",)},
    "cloudwatch": {"files": ("dir",), "api": ("endpoint_url", "regions")},
}
PROMETHEUS_FORMATS = ("rules", "prometheusrule")


def default_targets() -> tuple[Target, ...]:
    """With no configuration, every backend is a directory of files under ``out/``."""
    return tuple(Target(b, "files", (("dir", f"out/{b}"),)) for b in BACKENDS)


# -- discovery ----------------------------------------------------------------------------------


def discover(paths: list[str], problems: Problems) -> tuple[list[Path], Path | None]:
    """Spec files under ``paths`` (files or directories, searched recursively) and the config.

    ``slogen.yaml`` is the project configuration when it sits at the root of a given directory
    (or is named directly); hidden directories are skipped.
    """
    specs: list[Path] = []
    configs: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            problems.error(Location(raw), "", "no such file or directory")
            continue
        if path.is_file():
            if path.name == CONFIG_NAME:
                configs.append(path)
            else:
                specs.append(path)
                # a spec named on its own still belongs to the project it sits in
                beside = path.parent / CONFIG_NAME
                if beside.is_file():
                    configs.append(beside)
            continue
        root_config = path / CONFIG_NAME
        if root_config.is_file():
            configs.append(root_config)
        found = [
            p
            for p in sorted(path.rglob("*"))
            if p.suffix in (".yaml", ".yml")
            and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
            and p != root_config
        ]
        for p in found:
            if p.name == CONFIG_NAME:
                problems.error(
                    Location(str(p), 1, 1),
                    "",
                    f"{CONFIG_NAME} is only read at the root of the spec directory",
                    f"move it to {path / CONFIG_NAME} or rename it",
                )
            else:
                specs.append(p)
        if not found and not root_config.is_file():
            problems.error(Location(raw), "", "no spec files (*.yaml, *.yml) in this directory")
    unique_configs = sorted(set(configs))
    if len(unique_configs) > 1:
        problems.error(
            Location(str(unique_configs[1])),
            "",
            f"more than one {CONFIG_NAME} given (also {unique_configs[0]})",
            "pass the spec directories of one project at a time",
        )
    seen: set[Path] = set()
    unique_specs = []
    for p in specs:
        resolved = p.resolve()
        if resolved not in seen:
            seen.add(resolved)
            unique_specs.append(p)
    return unique_specs, (unique_configs[0] if unique_configs else None)


# -- configuration --------------------------------------------------------------------------------


class _ConfigReader:
    def __init__(self, check: Checker):
        self.check = check
        self.broken: set[str] = set()  # policies defined but invalid (already reported)

    def tier(self, f: Field) -> Tier | None:
        fields = self.check.mapping(
            f, ("severity", "budget", "long", "short"), ("severity", "budget", "long")
        )
        if fields is None:
            return None
        severity = (
            self.check.name(fields["severity"], "a severity") if "severity" in fields else None
        )
        budget = self.check.percent(fields["budget"]) if "budget" in fields else None
        long = self.check.duration(fields["long"], example="1h") if "long" in fields else None
        short = None
        if "short" in fields:
            short = self.check.duration(fields["short"], example="5m")
        elif long is not None:
            short = default_short_window(long)
        if long is not None and short is not None and short >= long:
            where = fields.get("short", f)
            self.check.problems.error(
                where.loc,
                where.path,
                f"the short window ({format_duration(short)}) must be shorter than the long "
                f"window ({format_duration(long)})",
                "the Workbook uses a short window of 1/12 of the long one; omit 'short' for that",
            )
            return None
        if None in (severity, budget, long, short):
            return None
        return Tier(severity, budget, long, short, f.loc)  # type: ignore[arg-type]

    def policy(self, name: str, f: Field) -> Policy | None:
        tiers: list[Tier] = []
        ok = True
        seen: dict[str, Field] = {}
        for item in self.check.sequence(f, "a list of tiers", nonempty=True):
            tier = self.tier(item)
            if tier is None:
                ok = False
                continue
            if tier.id in seen:
                self.check.problems.error(
                    item.loc,
                    item.path,
                    f"tier '{tier.id}' appears twice in policy '{name}' "
                    f"(also at line {seen[tier.id].loc.line})",
                    "tiers are identified by severity and long window; change one of them",
                )
                ok = False
            seen[tier.id] = item
            tiers.append(tier)
        if not ok or not tiers:
            return None
        return Policy(name, tuple(tiers), f.loc)

    def target(self, backend: str, f: Field) -> Target | None:
        types = TARGET_TYPES[backend]
        if not isinstance(f.value, dict):
            self.check.fail(f, "a mapping with a 'type' key, such as {type: files, dir: out}")
            return None
        type_field = Field(
            f.value.get("type"), f.value.value_locs.get("type", f.loc), f"{f.path}.type"
        )
        if "type" not in f.value:
            self.check.problems.error(
                f.loc, type_field.path, "missing required key 'type'", "one of " + ", ".join(types)
            )
            return None
        kind = self.check.choice(type_field, types)
        if kind is None:
            return None
        fields = self.check.mapping(f, ("type", *types[kind]))
        if fields is None:
            return None
        options: list[tuple[str, object]] = []
        for key, value in fields.items():
            if key == "type":
                continue
            if key == "format":
                chosen = self.check.choice(value, PROMETHEUS_FORMATS)
                if chosen:
                    options.append((key, chosen))
            elif key == "regions":
                regions = self.check.string_list(
                    value,
                    "a list of AWS regions",
                    lambda s: bool(REGION_RE.match(s)),
                    "an AWS region such as eu-west-1",
                )
                if regions:
                    options.append((key, tuple(sorted(set(regions)))))
            elif key in ("reload_url", "host", "endpoint_url"):
                url = self.check.string(value, "an http(s) URL")
                if url and not re.match(r"^https?://", url):
                    self.check.fail(value, "an http(s) URL such as http://127.0.0.1:9090")
                elif url:
                    options.append((key, url.rstrip("/")))
            else:
                text = self.check.string(value)
                if text:
                    options.append((key, text))
        if kind == "files" and not any(k == "dir" for k, _ in options):
            options.append(("dir", f"out/{backend}"))
        return Target(backend, kind, tuple(sorted(options)), f.loc)

    def read(self, f: Field) -> tuple[dict[str, Policy], str, tuple[Target, ...]]:
        policies = dict(BUILTIN_POLICIES)
        default = "workbook"
        targets = {t.backend: t for t in default_targets()}
        fields = self.check.mapping(
            f, ("default_policy", "policies", "targets"), what="a mapping (the project settings)"
        )
        if fields is None:
            return policies, default, tuple(targets.values())
        if "policies" in fields:
            pf = fields["policies"]
            if isinstance(pf.value, dict):
                for name, value in pf.value.items():
                    key_field = Field(name, pf.value.key_locs[name], pf.child_path(name))
                    if self.check.name(key_field, "a policy name") is None:
                        continue
                    policy = self.policy(
                        name, Field(value, pf.value.value_locs[name], key_field.path)
                    )
                    if policy is not None:
                        policies[name] = policy
                    else:
                        self.broken.add(name)
            else:
                self.check.fail(pf, "a mapping of policy names to lists of tiers")
        if "default_policy" in fields:
            df = fields["default_policy"]
            name = self.check.name(df, "a policy name")
            if name in self.broken:
                pass  # its own errors say what is wrong with it
            elif name is not None and name not in policies:
                self.check.problems.error(
                    df.loc,
                    df.path,
                    f"unknown policy '{name}'",
                    did_you_mean(name, policies, listing="known policies")
                    if len(policies) > 1
                    else "define it under policies:",
                )
            elif name is not None:
                default = name
        if "targets" in fields:
            tf = fields["targets"]
            backends = self.check.mapping(
                tf, BACKENDS, what="a mapping of backend names to targets"
            )
            for backend, value in (backends or {}).items():
                target = self.target(backend, value)
                if target is not None:
                    targets[backend] = target
        return policies, default, tuple(targets[b] for b in BACKENDS)


# -- spec files -----------------------------------------------------------------------------------


class _SpecReader:
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

    def _errors_or_good(self, fields: dict[str, Field], f: Field) -> bool:
        has_errors, has_good = "errors" in fields, "good" in fields
        if has_errors and has_good:
            self.check.problems.error(
                fields["good"].loc,
                f.path,
                "has both 'errors' and 'good'",
                "give one of them: 'errors' (bad events) or 'good' (good events), plus 'total'",
            )
            return False
        if not has_errors and not has_good and isinstance(f.value, dict):
            self.check.problems.error(
                f.loc,
                f.path,
                "needs 'errors' or 'good' (found neither)",
                "add 'errors:' (bad events) or 'good:' (good events) next to 'total:'",
            )
            return False
        return True

    def prometheus(self, f: Field) -> PrometheusSource | None:
        fields = self.check.mapping(f, ("errors", "good", "total"), ("total",))
        if fields is None:
            return None
        ok = self._errors_or_good(fields, f)
        queries: dict[str, str] = {}
        for key, value in fields.items():
            query = self.check.string(value, "a PromQL expression")
            if query is None:
                ok = False
            elif not WINDOW_PLACEHOLDER.search(query):
                self.check.problems.error(
                    value.loc,
                    value.path,
                    "expected a PromQL expression with a {{ window }} range placeholder, "
                    f"found {query!r}",
                    "write the range as [{{ window }}], e.g. "
                    "sum(rate(http_requests_total[{{ window }}]))",
                )
                ok = False
            else:
                queries[key] = query.strip()
        if not ok or "total" not in queries:
            return None
        return PrometheusSource(queries["total"], queries.get("errors"), queries.get("good"))

    def datadog(self, f: Field) -> DatadogSource | None:
        fields = self.check.mapping(f, ("errors", "good", "total"), ("total",))
        if fields is None:
            return None
        ok = self._errors_or_good(fields, f)
        queries: dict[str, str] = {}
        for key, value in fields.items():
            query = self.check.string(value, "a Datadog metric query")
            if query is None:
                ok = False
            else:
                queries[key] = " ".join(query.split())
        if not ok or "total" not in queries:
            return None
        return DatadogSource(queries["total"], queries.get("errors"), queries.get("good"))

    def cloudwatch_metric(self, f: Field) -> CloudWatchMetric | None:
        fields = self.check.mapping(
            f,
            ("namespace", "metric", "dimensions", "stat"),
            ("namespace", "metric"),
            what="a mapping with namespace, metric and optional dimensions and stat",
        )
        if fields is None:
            return None
        namespace = self.check.string(fields["namespace"]) if "namespace" in fields else None
        metric = self.check.string(fields["metric"]) if "metric" in fields else None
        dimensions: tuple[tuple[str, str], ...] = ()
        ok = namespace is not None and metric is not None
        if "dimensions" in fields:
            df = fields["dimensions"]
            if isinstance(df.value, dict):
                pairs = []
                for key, value in df.value.items():
                    if isinstance(value, str) and value:
                        pairs.append((str(key), value))
                    else:
                        ok = False
                        self.check.fail(
                            Field(value, df.value.value_locs[key], df.child_path(key)),
                            "a non-empty string dimension value",
                        )
                dimensions = tuple(sorted(pairs))
                if len(pairs) > 30:
                    ok = False
                    self.check.problems.error(
                        df.loc,
                        df.path,
                        f"CloudWatch allows at most 30 dimensions, found {len(pairs)}",
                    )
            else:
                ok = False
                self.check.fail(df, "a mapping of dimension names to values")
        stat = "Sum"
        if "stat" in fields:
            sf = fields["stat"]
            if isinstance(sf.value, str) and CLOUDWATCH_STATS.match(sf.value):
                stat = sf.value
            else:
                ok = False
                self.check.fail(
                    sf, "a statistic: Sum, SampleCount, Average, Minimum, Maximum or pNN"
                )
        if not ok:
            return None
        return CloudWatchMetric(namespace, metric, dimensions, stat)  # type: ignore[arg-type]

    def cloudwatch(self, f: Field) -> CloudWatchSource | None:
        fields = self.check.mapping(f, ("region", "errors", "good", "total"), ("region", "total"))
        if fields is None:
            return None
        ok = self._errors_or_good(fields, f)
        region = None
        if "region" in fields:
            rf = fields["region"]
            if isinstance(rf.value, str) and REGION_RE.match(rf.value):
                region = rf.value
            else:
                ok = False
                self.check.fail(rf, "an AWS region such as eu-west-1")
        metrics = {}
        for key in ("errors", "good", "total"):
            if key in fields:
                metric = self.cloudwatch_metric(fields[key])
                if metric is None:
                    ok = False
                metrics[key] = metric
        if not ok or region is None or metrics.get("total") is None:
            return None
        return CloudWatchSource(
            region, metrics["total"], metrics.get("errors"), metrics.get("good")
        )

    def indicator(self, f: Field) -> Indicator | None:
        fields = self.check.mapping(f, BACKENDS, what="a mapping of backend names to SLI queries")
        if fields is None:
            return None
        if not fields and isinstance(f.value, dict) and not f.value:
            self.check.problems.error(
                f.loc, f.path, "needs at least one source: prometheus, datadog or cloudwatch"
            )
            return None
        sources = {
            "prometheus": self.prometheus,
            "datadog": self.datadog,
            "cloudwatch": self.cloudwatch,
        }
        built = {name: sources[name](value) for name, value in fields.items()}
        if any(v is None for v in built.values()):
            return None
        if not built:
            return None
        return Indicator(**built)

    def notify(self, f: Field) -> Notify | None:
        fields = self.check.mapping(
            f,
            ("datadog", "cloudwatch", "prometheus"),
            what="a mapping of backend names to notification targets",
        )
        if fields is None:
            return None
        datadog = cloudwatch = ()
        labels: tuple[tuple[str, str], ...] = ()
        ok = True
        if "datadog" in fields:
            datadog = self.check.string_list(
                fields["datadog"],
                "a list of Datadog handles",
                lambda s: bool(re.match(r"^@[\w.+\-@/]+$", s)),
                "a Datadog notification handle starting with @, such as @pagerduty-checkout",
            )
            ok &= datadog is not None
        if "cloudwatch" in fields:
            cloudwatch = self.check.string_list(
                fields["cloudwatch"],
                "a list of action ARNs",
                lambda s: s.startswith("arn:"),
                "an action ARN such as arn:aws:sns:eu-west-1:123456789012:checkout-page",
            )
            ok &= cloudwatch is not None
        if "prometheus" in fields:
            labels = self.check.label_map(fields["prometheus"], RESERVED_ROUTING_LABELS)
        if not ok:
            return None
        return Notify(tuple(datadog or ()), tuple(cloudwatch or ()), labels)

    def alerting(self, f: Field) -> tuple[Alerting, Policy] | None:
        policy = self.policies[self.default_policy]
        if not isinstance(f.value, dict):
            self.check.fail(f, "a mapping (policy, min_events, runbook and one block per severity)")
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
                if k not in ("policy", "min_events", "runbook")
                and isinstance(k, str)
                and re.match(r"^[a-z0-9-]+$", k)
            )
        known_elsewhere = {s for p in self.policies.values() for s in p.severities}

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
            f, ("policy", "min_events", "runbook", *severities), unknown=claim_severity
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
            if runbook is not None and not re.match(r"^https?://\S+$", runbook):
                self.check.fail(
                    fields["runbook"], "an http(s) URL such as https://runbooks.example.com/x"
                )
                runbook = None
            ok &= runbook is not None
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
            policy.name if "policy" in fields else None, min_events, runbook, tuple(notify)
        )
        return alerting, policy

    def slo_checks(
        self, objective: Fraction, window: int, policy: Policy, fields: dict[str, Field]
    ) -> bool:
        """Cross-field checks that need the engine: windows fit, thresholds can be reached."""
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
        name = self.check.name(fields["name"], "an SLO name") if "name" in fields else None
        description = ""
        if "description" in fields:
            description = self.check.string(fields["description"]) or ""
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
        name = self.check.name(fields["service"], "a service name") if "service" in fields else None
        description = ""
        if "description" in fields:
            description = self.check.string(fields["description"]) or ""
        owner = None
        if "owner" in fields:
            of = fields["owner"]
            if isinstance(of.value, str) and re.match(r"^[A-Za-z0-9_.-]+$", of.value):
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


def _read_file(path: Path, problems: Problems) -> object | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.error(Location(str(path)), "", f"cannot read the file: {exc}")
        return None
    return load_yaml(text, str(path), problems)


def load_project(paths: list[str] | tuple[str, ...], config: str | None = None) -> Project:
    """Read every spec under ``paths`` and the project configuration; raise on any error.

    Warnings (problems of severity ``warning``) do not stop loading; they are returned on the
    raised error or can be retrieved with :func:`load_project_with_warnings`.
    """
    project, _problems = load_project_with_warnings(paths, config)
    return project


def load_project_with_warnings(
    paths: list[str] | tuple[str, ...], config: str | None = None
) -> tuple[Project, Problems]:
    problems = Problems()
    check = Checker(problems)
    spec_paths, found_config = discover(list(paths), problems)
    config_path = Path(config) if config else found_config
    policies = dict(BUILTIN_POLICIES)
    default_policy = "workbook"
    targets = default_targets()
    broken: frozenset[str] = frozenset()
    if config_path is not None:
        data = _read_file(config_path, problems) if config_path.exists() else None
        if not config_path.exists():
            problems.error(Location(str(config_path)), "", "no such file")
        elif data is not None or problems.errors == []:
            root_loc = getattr(data, "loc", Location(str(config_path), 1, 1))
            config_reader = _ConfigReader(check)
            policies, default_policy, targets = config_reader.read(
                Field(data if data is not None else {}, root_loc, "")
            )
            broken = frozenset(config_reader.broken)
        config_resolved = config_path.resolve()
        spec_paths = [p for p in spec_paths if p.resolve() != config_resolved]
    reader = _SpecReader(check, policies, default_policy, broken)
    services: list[Service] = []
    by_name: dict[str, Service] = {}
    for path in spec_paths:
        data = _read_file(path, problems)
        if data is None:
            if not any(p.location.file == str(path) for p in problems.errors):
                problems.error(
                    Location(str(path), 1, 1), "", "the file is empty; expected a service spec"
                )
            continue
        root = Field(data, getattr(data, "loc", Location(str(path), 1, 1)), "")
        service = reader.service(root)
        if service is None:
            continue
        if service.name in by_name:
            first = by_name[service.name].location
            name_loc = data.value_locs.get("service", root.loc)  # type: ignore[union-attr]
            problems.error(
                name_loc,
                "service",
                f"service '{service.name}' is already defined in {first.file}:{first.line}",
                "service names must be unique across all spec files; rename one or merge them",
            )
            continue
        by_name[service.name] = service
        services.append(service)
    if problems:
        raise SlogenError(f"{len(problems.errors)} error(s) in the specs", problems)
    project = Project(
        services=tuple(sorted(services, key=lambda s: s.name)),
        policies=tuple(policies[name] for name in sorted(policies)),
        default_policy=default_policy,
        targets=targets,
        config_file=str(config_path) if config_path else None,
    )
    return project, problems
