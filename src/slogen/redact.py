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


def _forms(value: str) -> set[str]:
    """The forms of a secret that can reach a message: as given and without surrounding
    whitespace. Clients strip what they read (``DD_API_KEY=$'<key>\n'`` is sent as ``<key>``),
    so a server echoing a header shows the stripped form, which the raw one does not match."""
    return {v for v in (value, value.strip()) if len(v.strip()) >= 4}


def register(value: str) -> None:
    """Keep ``value`` (a credential read at run time) out of everything slogen prints."""
    _registered.update(_forms(value))


def secrets() -> list[str]:
    """Every form of every secret, longest first (so a raw form goes before its stripped one)."""
    values = set(_registered)
    for name in SECRET_VARIABLES:
        values |= _forms(os.environ.get(name, ""))
    return sorted(values, key=len, reverse=True)


def redact(text: str) -> str:
    for value in secrets():
        text = text.replace(value, "***")
    return text
