"""Saved plans: the changes, the desired resources, and fingerprints of the live state.

``slogen apply PLANFILE`` re-reads each target and refuses to continue when its fingerprint
differs, so what is applied is exactly what was reviewed. The file holds target settings
(directories, URLs) but never credentials: those come from the environment at apply time.

The body is signed (:func:`signature`): a SHA-256 of its canonical JSON always, which catches a
file edited by hand or damaged on the way; and, when ``SLOGEN_PLAN_KEY`` is set, an HMAC-SHA256
with that key, which someone who can edit the artifact but not read the CI secret cannot
recompute. Apply checks both before anything else: with the key set it requires a valid HMAC
(so stripping the HMAC is no way round it), and a plan signed with a key needs that key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from slogen import __version__, redact
from slogen.errors import SlogenError
from slogen.plan.model import Change, Plan, TargetState
from slogen.resources import Resource
from slogen.spec.model import Project, Target

FORMAT = "slogen-plan"
# 2: the body is signed (``signature``); 3: signed and written by orjson (a few numbers, such
# as 1e-05, have other canonical bytes than version 2 gave them)
FORMAT_VERSION = 3
KEY_VARIABLE = "SLOGEN_PLAN_KEY"


def plan_to_json(plan: Plan, project: Project) -> dict[str, Any]:
    used = {t.backend for t in plan.targets}
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "slogen_version": __version__,
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "targets": [
            {
                "backend": state.backend,
                "target": state.target,
                "fingerprint": state.fingerprint,
                "settings": {"type": t.type, **dict(t.options)},
            }
            for state in plan.targets
            for t in project.targets
            if t.backend == state.backend and t.backend in used
        ],
        "summary": plan.counts,
        "warnings": plan.warnings,
        "changes": [c.to_json() for c in plan.changes],
        "desired": [r.to_json() for r in plan.desired],
    }


def _canonical(body: dict[str, Any]) -> bytes:
    """The bytes that are signed: the body without its signature, keys sorted, no spacing, so
    that re-indenting the file does not matter and any change of a value does.

    orjson writes them in C (a plan of 5,000 SLOs is some 200 MB of JSON, which the standard
    library's encoder took seconds and a second copy, as text, to write). What orjson refuses
    (a lone surrogate in an edited file, an integer beyond 64 bits) takes the standard
    library; the same value always takes the same path, at save and at load alike."""
    rest = {k: v for k, v in body.items() if k != "signature"}
    try:
        return orjson.dumps(rest, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError
        text = json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return text.encode("utf-8", "surrogatepass")  # an edited file may hold lone surrogates


def _key() -> bytes | None:
    """The signing key from ``SLOGEN_PLAN_KEY`` (surrounding whitespace ignored; unset or
    empty: None), kept out of all output."""
    value = os.environ.get(KEY_VARIABLE, "").strip()
    if not value:
        return None
    redact.register(value)
    return value.encode()


def signature(body: dict[str, Any]) -> dict[str, str]:
    """``sha256`` of the canonical body, and ``hmac-sha256`` with the key when one is set."""
    data = _canonical(body)
    signed = {"sha256": hashlib.sha256(data).hexdigest()}
    key = _key()
    if key is not None:
        signed["hmac-sha256"] = hmac.new(key, data, hashlib.sha256).hexdigest()
    return signed


def _same(given: str, expected: str) -> bool:
    """A constant-time comparison that also takes non-ASCII text (an edited file may hold any)."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


def verify(body: dict[str, Any], path: str) -> None:
    """Refuse a plan whose body is not the one that was signed (module docstring)."""
    given = body.get("signature")
    if not isinstance(given, dict) or not isinstance(given.get("sha256"), str):
        raise SlogenError(
            f"{path} has no signature: it was not written by 'slogen plan -o', or was edited",
            hint="create the plan again with 'slogen plan -o plan.json' and apply that file",
        )
    data = _canonical(body)
    if not _same(given["sha256"], hashlib.sha256(data).hexdigest()):
        raise SlogenError(
            f"{path} was edited or damaged after 'slogen plan' wrote it (its SHA-256 does not "
            "match)",
            hint="never edit a saved plan: change the specs and run 'slogen plan -o' again",
        )
    key = _key()
    mac = given.get("hmac-sha256")
    if key is None:
        if mac is not None:
            raise SlogenError(
                f"{path} was signed with a key, and {KEY_VARIABLE} is not set",
                hint=f"set {KEY_VARIABLE} to the key the plan job used (the same CI secret)",
            )
        return
    if not isinstance(mac, str):
        raise SlogenError(
            f"{path} is not signed with a key, and {KEY_VARIABLE} is set: it may have been "
            "replaced or re-signed by someone without the key",
            hint=f"run 'slogen plan -o' with the same {KEY_VARIABLE} as apply",
        )
    if not _same(mac, hmac.new(key, data, hashlib.sha256).hexdigest()):
        raise SlogenError(
            f"{path} was signed with another key than {KEY_VARIABLE}, or changed since",
            hint=f"plan and apply must use the same {KEY_VARIABLE}; make the plan again",
        )


def save(plan: Plan, project: Project, path: str) -> None:
    body = plan_to_json(plan, project)
    body["signature"] = signature(body)
    try:
        data = orjson.dumps(body, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    except TypeError:  # see _canonical
        data = (json.dumps(body, indent=2) + "\n").encode()
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise SlogenError(f"cannot write the plan to {path}: {exc.strerror or exc}") from exc


def is_plan_file(path: str) -> bool:
    candidate = Path(path)
    if not candidate.is_file() or candidate.suffix != ".json":
        return False
    try:
        with candidate.open(encoding="utf-8") as handle:
            head = handle.read(4096)
    except (OSError, UnicodeDecodeError):
        return False
    return f'"{FORMAT}"' in head


def load(path: str) -> tuple[Plan, dict[str, Target]]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SlogenError(f"cannot read the plan file {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SlogenError(
            f"{path} is not a slogen plan (format {FORMAT} version {FORMAT_VERSION})",
            hint="create one with 'slogen plan -o plan.json'",
        )
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise SlogenError(
            f"{path} was made by another slogen version (format {version}, this one reads "
            f"{FORMAT_VERSION})",
            hint="make the plan again with this slogen ('slogen plan -o'), or apply it with "
            f"the slogen that made it ({data.get('slogen_version', 'version unknown')})",
        )
    verify(data, path)
    try:
        targets = {}
        states = []
        for t in data["targets"]:
            settings = dict(t["settings"])
            kind = settings.pop("type")
            targets[t["backend"]] = Target(t["backend"], kind, tuple(sorted(settings.items())))
            states.append(TargetState(t["backend"], t["target"], t["fingerprint"]))
        plan = Plan(
            changes=[Change.from_json(c) for c in data["changes"]],
            targets=states,
            warnings=list(data.get("warnings", [])),
            desired=[Resource.from_json(r) for r in data["desired"]],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SlogenError(f"the plan file {path} is damaged: missing or bad {exc}") from exc
    return plan, targets
