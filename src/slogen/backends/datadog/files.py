"""The Datadog ``files`` target: one JSON file per service, for review and offline planning.

This is the embedded default (``out/datadog``): with no credentials ``slogen plan`` still shows
what Datadog would get, and the files are what a team can review or feed to other tooling. Each
file holds the service's desired resources exactly as the API target would send them (with
symbolic ``${slo:...}`` / ``${monitor:...}`` references in place of ids) and carries the marker
``"managed-by": "slogen"``. slogen reads back only files with that marker and never writes over
or deletes any other file. The directory handling is the shared :mod:`slogen.backends.filestore`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from slogen.backends import filestore
from slogen.backends.datadog.facts import BACKEND, references
from slogen.resources import Resource

FILE_SUFFIX = ".datadog.json"


def file_text(service: str, resources: list[Resource]) -> str:
    """The JSON document for one service: marker first, then the resources in render order."""
    entries = [{"kind": r.kind, "key": r.key, "body": r.body} for r in resources]
    return filestore.json_text(service, "resources", entries)


def resources_from(data: dict[str, Any], path: Path, tname: str) -> list[Resource]:
    """The resources of one owned file, in the shape render makes (file path as live id)."""
    out = []
    try:
        for item in data["resources"]:
            body = item["body"]
            out.append(
                Resource(
                    BACKEND,
                    tname,
                    str(item["kind"]),
                    str(item["key"]),
                    body,
                    references(body),
                    live_id=str(path),
                )
            )
    except (KeyError, TypeError) as exc:
        raise filestore.damaged(path, f"missing or bad {exc}") from exc
    return out


STORE = filestore.JsonFiles(BACKEND, FILE_SUFFIX, file_text, resources_from)
files_for = STORE.files_for  # file name -> text, one file per service
