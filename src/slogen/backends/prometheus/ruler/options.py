"""The ruler target's options in slogen.yaml, read when the target is used.

Every option goes through :func:`slogen.envref.option`, so ``${VARIABLE}`` references are
expanded only at plan/apply time (a fork's pull request with no secrets still validates) and a
missing variable is a located error naming it. Credentials are read with ``secret=True`` and so
never printed; the plan file keeps the raw ``${VAR}`` text because it stores the settings, not
these values.
"""

from __future__ import annotations

import re

from slogen import envref
from slogen.backends.prometheus.ruler.client import Connection
from slogen.errors import SlogenError
from slogen.spec.model import Target

_where = envref.setting_path  # `slogen.yaml:3:5: targets.<backend>.<key>`

DEFAULT_NAMESPACE = "slogen"
URL_RE = re.compile(r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
# The loader's rule for namespaces (slogen.spec.settings.NAMESPACE_RE), applied again once a
# ${VAR} is expanded.
NAMESPACE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def connection(settings: Target) -> Connection:
    """URL, namespace, tenant and the Authorization header the target's settings describe."""
    url = (envref.option(settings, "url") or "").strip()
    if not URL_RE.match(url):
        raise SlogenError(
            f"{_where(settings, 'url')}: expected the http(s) base URL of Mimir, found {url!r}",
            hint="e.g. https://mimir.example.com (slogen adds /prometheus/config/v1/rules)",
        )
    if "@" in url.split("://", 1)[1].split("/", 1)[0]:
        raise SlogenError(
            f"{_where(settings, 'url')}: the URL must not hold credentials (user:password@)",
            hint="use targets.prometheus.username and password: ${VARIABLE} references",
        )
    namespace = envref.option(settings, "namespace", DEFAULT_NAMESPACE) or DEFAULT_NAMESPACE
    if not NAMESPACE_RE.match(namespace):
        raise SlogenError(
            f"{_where(settings, 'namespace')}: expected a name of letters, digits, '-', '_' "
            f"and '.', found {namespace!r}",
            hint="e.g. slogen",
        )
    tenant = envref.option(settings, "tenant") or None
    username = envref.option(settings, "username", secret=True)
    password = envref.option(settings, "password", secret=True)
    token = envref.option(settings, "token", secret=True)
    if (username or password) and token:
        # mimirtool refuses the same (pkg/mimirtool/client/client.go doRequest).
        raise SlogenError(
            f"{_where(settings, 'token')}: set either username and password or token, not both",
        )
    if bool(username) != bool(password):
        missing = "password" if username else "username"
        raise SlogenError(
            f"{_where(settings, missing)}: basic auth needs both username and password",
            hint=f"add targets.{settings.backend}.{missing}: ${{VARIABLE}}",
        )
    authorization = None
    if username and password:
        authorization = Connection.basic(username, password)
    elif token:
        authorization = f"Bearer {token}"
    return Connection(url.rstrip("/"), namespace, tenant, authorization)
