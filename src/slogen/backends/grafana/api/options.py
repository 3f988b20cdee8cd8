"""The Grafana API target's options, read when the target is used (``${VAR}``s expanded then).

``url`` is Grafana's base URL (with its sub path, if it is served under one); ``folder`` the
uid of the folder the dashboards go in (the API's ``folderUid``: titles are not unique and the
older numeric ``folderId`` is deprecated; absent: the root level); ``token`` a service account
token, always a ``${VARIABLE}`` reference (the loader refuses a literal), sent as a bearer token.
"""

from __future__ import annotations

import re

from slogen import envref
from slogen.backends.grafana.api.client import Connection
from slogen.errors import SlogenError
from slogen.spec.model import Target

_where = envref.setting_path  # `slogen.yaml:3:5: targets.<backend>.<key>`

URL_RE = re.compile(r"^https?://[^\s/?#@]+(/[^\s?#]*)?$")
# Grafana's uids: letters, digits, '-' and '_', at most 40 characters (Dashboard HTTP API).
FOLDER_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def connection(settings: Target) -> Connection:
    url = (envref.option(settings, "url") or "").strip()
    if not URL_RE.match(url):
        raise SlogenError(
            f"{_where(settings, 'url')}: expected the http(s) base URL of Grafana, found {url!r}",
            hint="e.g. https://grafana.example.com (no credentials in the URL; slogen adds /api)",
        )
    folder = (envref.option(settings, "folder") or "").strip() or None
    if folder is not None and not FOLDER_RE.match(folder):
        raise SlogenError(
            f"{_where(settings, 'folder')}: expected a folder uid (letters, digits, '-' and '_', "
            f"up to 40 characters), found {folder!r}",
            hint="the uid is in the folder's URL: /dashboards/f/<uid>/...",
        )
    token = envref.option(settings, "token", secret=True)
    if not token:
        raise SlogenError(
            f"{_where(settings, 'token')}: the API target needs a service account token",
            hint="add token: ${GRAFANA_TOKEN} and export GRAFANA_TOKEN (a CI secret)",
        )
    return Connection(url.rstrip("/"), folder, token)
