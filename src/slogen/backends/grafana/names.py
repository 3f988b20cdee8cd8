"""The names slogen gives a service's Grafana dashboard: its uid, title, tags and file name.

The uid is the dashboard's stable key in Grafana (its URL is ``/d/<uid>``; the HTTP API reads,
writes and deletes by it). Grafana allows at most 40 characters ("The uid can have a maximum
length of 40 characters", Dashboard HTTP API, grafana/grafana
docs/sources/developers/http_api/dashboard.md) of letters, digits, ``-`` and ``_``. slogen's
uid is ``slo-<service>-<hash>``: readable, and the hash of project and service keeps two
projects (or two services whose names only differ past the cut) apart; a long service name is
cut so the whole stays within 40.

Ownership is in the tags, which Grafana's search filters on (``GET /api/search?tag=...``):
``managed-by:slogen`` marks what slogen manages, ``slogen-project:<project>`` whose it is (see
:mod:`slogen.backends.scope`, which reads this form), ``slogen-service:<service>`` the key.
"""

from __future__ import annotations

import hashlib
import re

from slogen.backends.scope import PROJECT_TAG
from slogen.resources import MANAGED_BY

MAX_UID = 40  # Grafana's limit (module docstring)
UID_PREFIX = "slo-"
HASH_LENGTH = 8
MANAGED_TAG = f"managed-by:{MANAGED_BY}"
SERVICE_TAG = "slogen-service"
KIND = "dashboard"  # the one resource kind of this backend
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def uid(project: str | None, service: str) -> str:
    """The dashboard uid of ``service`` in ``project`` (module docstring)."""
    digest = hashlib.sha256(f"{project or ''}/{service}".encode()).hexdigest()[:HASH_LENGTH]
    room = MAX_UID - len(UID_PREFIX) - 1 - HASH_LENGTH
    readable = _UNSAFE.sub("-", service)[:room].strip("-") or "service"
    return f"{UID_PREFIX}{readable}-{digest}"


def tags(project: str | None, service: str) -> list[str]:
    """The dashboard's tags: the ownership marks, then ones people filter by."""
    marks = [MANAGED_TAG]
    if project:
        marks.append(f"{PROJECT_TAG}:{project}")
    return [*marks, f"{SERVICE_TAG}:{service}", "slo"]


def tag_value(tags_: object, prefix: str) -> str | None:
    """The value of the ``<prefix>:<value>`` tag among ``tags_`` (None when absent)."""
    if not isinstance(tags_, list):
        return None
    for tag in tags_:
        if isinstance(tag, str) and tag.startswith(prefix + ":") and len(tag) > len(prefix) + 1:
            return tag[len(prefix) + 1 :]
    return None


def is_marked(tags_: object) -> bool:
    """Whether a dashboard's tags carry slogen's marker."""
    return isinstance(tags_, list) and MANAGED_TAG in tags_


def title(service: str) -> str:
    return f"SLOs / {service}"


def file_name(service: str) -> str:
    """The provisioning file of a service: Grafana reads every ``*.json`` of the directory."""
    return f"{service}.json"
