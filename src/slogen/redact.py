"""Keep credentials out of everything slogen prints or saves.

Error messages from SDKs and HTTP libraries sometimes echo request headers or URLs. Every
message that leaves slogen passes through :func:`redact`, which replaces the values of the
credential environment variables wherever they appear.
"""

from __future__ import annotations

import os

SECRET_VARIABLES = (
    "DD_API_KEY",
    "DD_APP_KEY",
    "DD_APPLICATION_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "GITHUB_TOKEN",
)


# Values read from variables that settings name as credentials (see :mod:`slogen.envref`).
_registered: set[str] = set()


def register(value: str) -> None:
    """Keep ``value`` (a credential read at run time) out of everything slogen prints."""
    if len(value) >= 4:
        _registered.add(value)


def secrets() -> list[str]:
    values = {os.environ.get(name, "") for name in SECRET_VARIABLES} | _registered
    return sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)


def redact(text: str) -> str:
    for value in secrets():
        text = text.replace(value, "***")
    return text
