"""Load spec files and the optional ``slogen.yaml`` into a :class:`Project`.

Validation is strict and complete: every file is read, every problem recorded with its
location, and a :class:`SlogenError` carrying all of them is raised at the end if any was an
error. Nothing is half-loaded: callers either get a valid project or the full list of problems.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

from slogen.backends import registry
from slogen.backends.contract import Backend
from slogen.durations import format_duration
from slogen.engine.burnrate import analyse_tier
from slogen.errors import Location, Problems, SlogenError, describe, did_you_mean
from slogen.numbers import HUMAN_DIGITS, fmt, fmt_above, fmt_below, fmt_percent
from slogen.spec.checks import Checker, Field
from slogen.spec.model import (
    CATEGORIES,
    SLO,
    Alerting,
    Indicator,
    Notify,
    Policy,
    Project,
    Service,
)
from slogen.spec.no_traffic import read_no_traffic
from slogen.spec.project import default_name, scoped_targets
from slogen.spec.settings import BUILTIN_POLICIES, SettingsReader, default_targets
from slogen.spec.traffic import parse_traffic
from slogen.spec.yamlsource import generated, load_yaml

CONFIG_NAME = "slogen.yaml"
RESERVED_LABELS = ("service", "slo", "severity", "tier", "team")

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
            and not generated(p)  # build's out/ kept inside the spec directory
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


# -- spec files -----------------------------------------------------------------------------------


# A backend's reader of its part of a spec (``read_source`` or ``read_notify``).
Reader = Callable[[Checker, Field], object | None]


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
            if runbook is not None and not re.match(r"^https?://\S+$", runbook):
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
    alertmanager = None  # slogen.yaml's `alertmanager:` block, passed through
    project_name: str | None = None  # slogen.yaml's `project:`, else from the directory
    if config_path is not None:
        data = _read_file(config_path, problems) if config_path.exists() else None
        if not config_path.exists():
            problems.error(Location(str(config_path)), "", "no such file")
        elif data is not None or problems.errors == []:
            root_loc = getattr(data, "loc", Location(str(config_path), 1, 1))
            config_reader = SettingsReader(check)
            policies, default_policy, targets = config_reader.read(
                Field(data if data is not None else {}, root_loc, "")
            )
            broken = frozenset(config_reader.broken)
            alertmanager = config_reader.alertmanager
            project_name = config_reader.project
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
    project_name = project_name or default_name(config_path, list(paths))
    project = Project(
        services=tuple(sorted(services, key=lambda s: s.name)),
        policies=tuple(policies[name] for name in sorted(policies)),
        default_policy=default_policy,
        targets=scoped_targets(targets, project_name),
        config_file=str(config_path) if config_path else None,
        alertmanager=alertmanager,
        project=project_name,
    )
    return project, problems
