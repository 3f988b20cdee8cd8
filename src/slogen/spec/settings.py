"""The project settings file (``slogen.yaml``): policies, the default policy, request classes
(read by :mod:`slogen.spec.classes`) and targets.

Targets are checked against what each backend declares (:class:`~slogen.backends.contract.
Capabilities.target_options`); option values are checked by what the option is (a URL, a list
of regions, a rule-file format), whichever backend takes it.
"""

from __future__ import annotations

import re
from fractions import Fraction

from slogen import envref
from slogen.alertmanager.settings import AlertmanagerSettings, read_alertmanager
from slogen.backends import registry
from slogen.durations import format_duration
from slogen.engine.burnrate import default_short_window
from slogen.errors import did_you_mean
from slogen.spec.checks import Checker, Field
from slogen.spec.classes import BUILTIN_CLASSES, ClassReader, RequestClass
from slogen.spec.model import Policy, Target, Tier

REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+$")

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

# Built-in policies that exist for the built-in request classes (slogen.spec.classes). Usable
# by name like any policy, but listed in a project's policies (and in "known policies" hints)
# only once some SLO uses them, so a project that uses no class loads exactly as before.
CLASS_POLICIES = {
    # The workbook's two slower tiers, both as tickets: for requests nobody needs waking for
    # (the built-in request class LOW). Made for a 30-day window, like the workbook: 5% in 6h
    # is burn rate 6 and 10% in 3d burn rate 1, the rate at which the budget runs out just as
    # the window ends, so no ticket fires while the SLO is still met and no burn that would
    # miss it goes unnoticed. A fast burn is caught by the 6h tier, later than a page would be.
    "tickets-only": Policy(
        "tickets-only",
        (
            Tier("ticket", Fraction(5, 100), 21600, 1800),
            Tier("ticket", Fraction(10, 100), 259200, 21600),
        ),
    ),
}

PROMETHEUS_FORMATS = ("rules", "prometheusrule")  # values of a target's `format` option
REGION_EXAMPLE = "an AWS region such as eu-west-1"
NAMESPACE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
PROJECT_RE = re.compile(r"^(?=.{1,63}$)[a-z0-9]+(-[a-z0-9]+)*$")  # slogen.yaml's `project:`
URL_RE = re.compile(r"^https?://[^\s/]+")  # the start of an http(s) URL with a host
SETTINGS_KEYS = ("project", "default_policy", "policies", "classes", "targets", "alertmanager")
TIER_KEYS = ("severity", "budget", "long", "short")
TIER_REQUIRED = ("severity", "budget", "long")  # short defaults to 1/12 of long
# What each target option is, whichever backend takes it; anything else is plain text. Any
# string option may hold ${VARIABLE} references (expanded when the target is used, see
# slogen.envref); credentials must be nothing else.
OPTION_KINDS = {
    "format": "format",
    "regions": "regions",
    "region": "region",
    "reload_url": "url",
    "query_url": "url",
    "host": "url",
    "endpoint_url": "url",
    "url": "url",
    "namespace": "name",
    "username": "credential",
    "password": "credential",
    "token": "credential",
}


def default_targets() -> tuple[Target, ...]:
    """With no configuration, every backend is a directory of files under ``out/``."""
    return tuple(Target(b, "files", (("dir", f"out/{b}"),)) for b in registry.every())


class SettingsReader:
    def __init__(self, check: Checker):
        self.check = check
        self.broken: set[str] = set()  # policies defined but invalid (already reported)
        self.alertmanager: AlertmanagerSettings | None = None  # the `alertmanager:` block
        self.project: str | None = None  # the `project:` name, when given
        self.classes: dict[str, RequestClass] = dict(BUILTIN_CLASSES)  # request classes
        self.broken_classes: set[str] = set()  # classes defined with errors (reported)

    def tier(self, f: Field) -> Tier | None:
        fields = self.check.mapping(f, TIER_KEYS, TIER_REQUIRED)
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
        types = registry.get(backend).capabilities.target_options
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
        required = registry.get(backend).capabilities.required_options.get(kind, ())
        fields = self.check.mapping(f, ("type", *types[kind]), required)
        if fields is None:
            return None
        options: list[tuple[str, object]] = []
        for key, value in fields.items():
            if key != "type":
                parsed = self.option(key, value)
                if parsed is not None:
                    options.append((key, parsed))
        if kind == "files" and not any(k == "dir" for k, _ in options):
            options.append(("dir", f"out/{backend}"))
        return Target(backend, kind, tuple(sorted(options)), f.loc)

    def option(self, key: str, f: Field) -> object | None:
        """One target option, checked by what it is (whichever backend takes it)."""
        kind = OPTION_KINDS.get(key, "text")
        if kind == "format":
            return self.check.choice(f, PROMETHEUS_FORMATS)
        if kind == "regions":
            regions = self.check.string_list(
                f, "a list of AWS regions", lambda s: bool(REGION_RE.match(s)), REGION_EXAMPLE
            )
            return tuple(sorted(set(regions))) if regions else None
        text = self.check.string(f)
        if text is None:
            return None
        text = text.strip()
        refs = envref.references(text)
        if kind == "credential":
            if not envref.WHOLE_REFERENCE.match(text):
                # the value is not repeated: it may be a real credential
                self.check.problems.error(
                    f.loc,
                    f.path,
                    "expected a reference to an environment variable, such as "
                    "${MIMIR_PASSWORD}, found a literal value (not shown)",
                    "credentials never go in a committed file: put the value in an environment "
                    "variable (a CI secret) and name it here",
                )
                return None
            return text
        if refs:
            return text  # checked once expanded, when the target is used
        if kind == "url":
            if not URL_RE.match(text):
                self.check.fail(f, "an http(s) URL such as http://127.0.0.1:9090")
                return None
            return text.rstrip("/")
        if kind == "region" and not REGION_RE.match(text):
            self.check.fail(f, REGION_EXAMPLE)
            return None
        if kind == "name" and not NAMESPACE_RE.match(text):
            self.check.fail(
                f,
                "a name of letters, digits, '-', '_' and '.' (up to 64 characters)",
                "e.g. slogen",
            )
            return None
        return text

    def project_name(self, f: Field) -> str | None:
        """``project:``, the name written into every ownership marker (see
        :func:`slogen.spec.project.default_name` for the default)."""
        text = self.check.string(f)
        if text is not None and not PROJECT_RE.match(text):
            self.check.fail(
                f, "a project name of lower-case letters, digits and '-' (up to 63 characters)"
            )
            return None
        return text

    def read(self, f: Field) -> tuple[dict[str, Policy], str, tuple[Target, ...]]:
        policies = dict(BUILTIN_POLICIES)
        default = "workbook"
        targets = {t.backend: t for t in default_targets()}
        fields = self.check.mapping(
            f,
            SETTINGS_KEYS,
            what="a mapping (the project settings)",
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
            elif name is not None and name not in policies and name not in CLASS_POLICIES:
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
        if "classes" in fields:
            known = {**CLASS_POLICIES, **policies}
            reader = ClassReader(self.check, known, frozenset(self.broken))
            self.classes = reader.read(fields["classes"])
            self.broken_classes = reader.broken
        if "targets" in fields:
            tf = fields["targets"]
            backends = self.check.mapping(
                tf, registry.every(), what="a mapping of backend names to targets"
            )
            for backend, value in (backends or {}).items():
                target = self.target(backend, value)
                if target is not None:
                    targets[backend] = target
        if "alertmanager" in fields:
            self.alertmanager = read_alertmanager(self.check, fields["alertmanager"], policies)
        if "project" in fields:
            self.project = self.project_name(fields["project"])
        return policies, default, tuple(targets[b] for b in registry.every())
