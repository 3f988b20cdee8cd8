"""Names the Prometheus targets give what they store, and the limits those names must fit.

Kept apart from the targets' clients so that ``validate`` can check the limits without loading
an SDK: a name the target would refuse is a spec error, not an apply failure.
"""

from __future__ import annotations

from slogen.backends.prometheus.rulefiles import GROUP_PREFIX

# Amazon Managed Service for Prometheus: one rule groups namespace per service. Names match
# [0-9A-Za-z][-.0-9A-Z_a-z]* with 1-64 characters, and a namespace's name and a rule group's
# name together may not exceed 721 bytes (AWS API reference, CreateRuleGroupsNamespace).
AMP_NAME_PREFIX = "slogen-"
AMP_MAX_NAME_LENGTH = 64
AMP_MAX_NAME_AND_GROUP_BYTES = 721


def amp_namespace(service: str) -> str:
    return AMP_NAME_PREFIX + service


def amp_problem(service: str, slo: str) -> str | None:
    """Why AMP would refuse the names of this SLO's namespace and rule group, if it would."""
    name = amp_namespace(service)
    if len(name) > AMP_MAX_NAME_LENGTH:
        return (
            f"the AMP rule groups namespace name {name} is {len(name)} characters, more than "
            f"AMP's {AMP_MAX_NAME_LENGTH}"
        )
    size = len((name + GROUP_PREFIX + service + "/" + slo).encode())
    if size > AMP_MAX_NAME_AND_GROUP_BYTES:
        return (
            f"the namespace {name} and rule group {GROUP_PREFIX}{service}/{slo} are {size} "
            f"bytes together, more than AMP's {AMP_MAX_NAME_AND_GROUP_BYTES}"
        )
    return None
