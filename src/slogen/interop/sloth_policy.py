"""Sloth's alert windows as a slogen policy, and the ``slogen.yaml`` that defines it.

Sloth alerts with the SRE Workbook's multiwindow, multi-burn-rate scheme from a catalog of
windows per SLO period. Its built-in catalog (slok/sloth ``internal/alert/windows/
google-30d.yaml`` and ``google-28d.yaml``) holds, for both 30d and 28d:

=========== ====================== ============ ============
alert        error budget consumed  long window  short window
=========== ====================== ============ ============
page quick   2 %                    1h           5m
page slow    5 %                    6h           30m
ticket quick 10 %                   1d           2h
ticket slow  10 %                   3d           6h
=========== ====================== ============ ============

and turns each into a burn-rate factor ``budget% × period / long window`` (``internal/alert/
window.go``, ``getBurnRateFactor``): 14.4, 6, 3 and 1 over 30 days. A slogen tier with the same
severity, budget share and windows has exactly that burn rate and threshold
(``slogen explain`` shows them), so the policy below reproduces Sloth's alerts. slogen's
built-in ``workbook`` policy has no 1d ticket tier, which is why the import defines its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from slogen.durations import format_duration
from slogen.engine.burnrate import default_short_window
from slogen.numbers import fmt
from slogen.spec.model import Tier
from slogen.spec.settings import BUILTIN_POLICIES

# Sloth's `--default-slo-period` flag defaults to 30d (cmd/sloth/commands/generate.go), and a
# prometheus/v1 or Kubernetes spec cannot choose another period itself.
DEFAULT_PERIOD = "30d"
CATALOG_PERIODS = ("30d", "28d")  # the periods Sloth's built-in window catalog covers

SLOTH_TIERS = (
    Tier("page", Fraction(2, 100), 3600, 300),
    Tier("page", Fraction(5, 100), 21600, 1800),
    Tier("ticket", Fraction(10, 100), 86400, 7200),
    Tier("ticket", Fraction(10, 100), 259200, 21600),
)
SEVERITIES = ("page", "ticket")


@dataclass(frozen=True)
class PolicyChoice:
    """The policy an imported SLO uses, and the tiers it has (None: slogen's built-in)."""

    name: str
    tiers: tuple[Tier, ...] | None


def policy_for(severities: tuple[str, ...]) -> PolicyChoice:
    """The policy reproducing Sloth's alerts of ``severities`` (one or both of page, ticket).

    A policy identical to a built-in one is named as that one, so no settings are needed.
    """
    tiers = tuple(t for t in SLOTH_TIERS if t.severity in severities)
    for name, builtin in BUILTIN_POLICIES.items():
        if builtin.tiers == tiers:
            return PolicyChoice(name, None)
    if set(severities) == set(SEVERITIES):
        return PolicyChoice("sloth", tiers)
    return PolicyChoice(f"sloth-{severities[0]}", tiers)


def _tier_line(tier: Tier, period: int) -> str:
    budget = fmt(tier.budget * 100)
    burn = fmt(tier.budget * period / tier.long)
    text = (
        f"{{severity: {tier.severity}, budget: {budget}%, long: {format_duration(tier.long)}, "
        f"short: {format_duration(tier.short)}}}"
    )
    return f"    - {text:<62} # burn rate {burn}\n"


def settings_text(policies: list[PolicyChoice], period: int) -> str:
    """``slogen.yaml`` defining ``policies`` (those with tiers), commented for a reader."""
    days = format_duration(period)
    lines = [
        "# Written by `slogen import sloth`: Sloth's alert windows as slogen policies, from\n",
        f"# Sloth's built-in windows for a {days} SLO period (slok/sloth\n",
        f"# internal/alert/windows/google-{days}.yaml). Burn rate = budget x period / long\n",
        "# window, as Sloth computes its factors (internal/alert/window.go). `sloth-page` and\n",
        "# `sloth-ticket` are Sloth's windows for an SLO whose other alert is disabled.\n",
        "policies:\n",
    ]
    for policy in policies:
        if policy.tiers is None:
            continue
        lines.append(f"  {policy.name}:\n")
        lines.extend(_tier_line(tier, period) for tier in policy.tiers)
    return "".join(lines)


def same_tiers(written: object, tiers: tuple[Tier, ...]) -> bool:
    """Whether a policy as read from an existing ``slogen.yaml`` (plain YAML data) has exactly
    ``tiers``; used to reuse a settings file a previous import wrote."""
    from slogen.durations import DurationError, parse_duration

    if not isinstance(written, list) or len(written) != len(tiers):
        return False
    for item, tier in zip(written, tiers, strict=True):
        if not isinstance(item, dict):
            return False
        try:
            budget = Fraction(str(item.get("budget", "")).strip().rstrip("%")) / 100
            long = parse_duration(str(item.get("long", "")))
            short = parse_duration(str(item.get("short", ""))) if "short" in item else None
        except (ValueError, ZeroDivisionError, DurationError):
            return False
        if (item.get("severity"), budget, long) != (tier.severity, tier.budget, tier.long):
            return False
        if short is not None and short != tier.short:
            return False
        if short is None and tier.short != default_short_window(tier.long):
            return False
    return True
