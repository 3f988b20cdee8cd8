"""``${VARIABLE}`` references in ``slogen.yaml``: URLs, tenants and credentials at run time.

A settings file is committed to the repository, so anything that differs per environment or is
secret is written as a reference and read when a target is used (``plan``/``apply``), never when
specs are validated or built: a pull request from a fork, which has no secrets, still validates.
Plan files keep the references, not their values. Values read for credential options are
registered with :mod:`slogen.redact`, so they never appear in output even when an HTTP library
echoes them.
"""

from __future__ import annotations

import os
import re

from slogen import redact
from slogen.errors import SlogenError
from slogen.spec.model import Target

REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
WHOLE_REFERENCE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def references(text: str) -> list[str]:
    """The variable names ``text`` refers to, in order."""
    return REFERENCE.findall(text)


def expand(text: str, where: str, secret: bool = False) -> str:
    """``text`` with every ``${NAME}`` replaced by the variable's value.

    ``where`` names the setting (``slogen.yaml:12 targets.prometheus.url``) for the error raised
    when a variable is unset or empty. With ``secret``, the value is kept out of all output.
    """
    for name in references(text):
        if not os.environ.get(name, "").strip():
            raise SlogenError(
                f"{where}: environment variable {name} is not set",
                hint=f"export {name}=... before running slogen; in GitHub Actions pass it from a "
                f"secret (env: {name}: ${{{{ secrets.{name} }}}})",
            )
    value = REFERENCE.sub(lambda m: os.environ[m.group(1)].strip(), text)
    if secret:
        # the whole value as sent, and each variable as set (raw and stripped: see redact)
        redact.register(value)
        for name in references(text):
            redact.register(os.environ[name])
    return value


def option(
    settings: Target, key: str, default: str | None = None, secret: bool = False
) -> str | None:
    """A target option with its references expanded (``default`` when the option is absent)."""
    raw = settings.option(key)
    if raw is None:
        return default
    return expand(str(raw), setting_path(settings, key), secret=secret)


def setting_path(settings: Target, key: str) -> str:
    """Where a target option is written, for messages: ``slogen.yaml:12:5:
    targets.grafana.url`` (no file when the target is slogen's default)."""
    where = f"targets.{settings.backend}.{key}"
    if settings.location.file != "<default>":
        where = f"{settings.location}: {where}"
    return where


TIMEOUT_VARIABLE = "SLOGEN_HTTP_TIMEOUT"


def http_timeout_override() -> float | None:
    """``SLOGEN_HTTP_TIMEOUT`` in seconds, for every API client's connect and read timeouts
    (tests of hung servers set it low); None when unset, empty, not a number or not above 0."""
    raw = os.environ.get(TIMEOUT_VARIABLE, "").strip()
    try:
        value = float(raw) if raw else 0.0
    except ValueError:
        return None
    return value if value > 0 else None
