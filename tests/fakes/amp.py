"""An in-process moto server for Amazon Managed Service for Prometheus (AMP), with fault injection.

What moto 5.2.5 (``moto/amp/``) implements for rule groups namespaces: Create, Describe, Put,
Delete and List (``name`` prefix filter, ``maxResults``/``nextToken`` paging, default 100), tags
on create and in both the list and describe answers (as AWS's RuleGroupsNamespaceSummary and
Description have them), ListTagsForResource/TagResource/UntagResource, and
ResourceNotFoundException (404) for a missing workspace or namespace. ``data`` is stored and
returned byte for byte.

What it does not do, and how this fake fills the gaps that matter to slogen:

* No validation at all: not of the rule YAML (AWS checks it and reports ``*_FAILED`` or a
  ValidationException), the namespace name pattern/length, the data size or the tag rules.
  Not filled: slogen's own checks and promtool tests cover the rules.
* No status transitions: every namespace is ACTIVE at once, never CREATING/UPDATING/DELETING
  or ``*_FAILED``, and never ConflictException for a busy namespace. Filled by
  :meth:`MotoAmp.queue_statuses` (the next Describe answers carry these statuses) and
  :meth:`MotoAmp.inject` (e.g. ConflictException on the next Puts).
* Create on an existing name silently overwrites the data and merges the tags; AWS refuses it
  with ConflictException. Filled: this fake answers 409 ConflictException.
* Delete of a missing namespace succeeds (AWS: ResourceNotFoundException). Not filled.
* ``clientToken`` is ignored (no idempotency). Not filled.

Also: :meth:`MotoAmp.inject` answers the next N matching requests with any error (429
ThrottlingException, 500 InternalServerException...) so that botocore's retries can be tested,
and :attr:`MotoAmp.calls` counts requests per operation (refused attempts included).
:meth:`MotoAmp.inject_fault` adds the shared faults of tests/fakes/faults.py (``operation`` an
AMP operation name): commit-then-5xx, commit-then-timeout (the write is carried out, then 500,
or the answer waits past the client timeout), short pages (the list answers half its
namespaces and no ``nextToken``), truncated bodies, header echo (400 ValidationException), 429.

Usage::

    with MotoAmp() as fake:
        workspace = fake.create_workspace()
        fake.client().create_rule_groups_namespace(workspaceId=workspace, ...)
        fake.namespaces(workspace)      # name -> (data text, tags), read without a request
"""

from __future__ import annotations

import base64
import collections
import io
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import boto3
from moto.amp.models import amp_backends
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server

try:
    from tests.fakes import faults as shared_faults
except ImportError:  # run as a script (python tests/fakes/<fake>.py): its directory is on the path
    import faults as shared_faults  # type: ignore[no-redef]

__all__ = ["ACCOUNT_ID", "MotoAmp"]

ACCOUNT_ID = "111122223333"  # not the CloudWatch fake's account: moto's state is per account
HOST = "127.0.0.1"
REGION = "eu-west-1"
STOP_TIMEOUT_S = 5.0

log = logging.getLogger(__name__)

_ROUTES = [  # (method, path) -> AMP operation name
    ("GET", re.compile(r"^/workspaces/[^/]+/rulegroupsnamespaces$"), "ListRuleGroupsNamespaces"),
    ("POST", re.compile(r"^/workspaces/[^/]+/rulegroupsnamespaces$"), "CreateRuleGroupsNamespace"),
    (
        "GET",
        re.compile(r"^/workspaces/[^/]+/rulegroupsnamespaces/[^/]+$"),
        "DescribeRuleGroupsNamespace",
    ),
    (
        "PUT",
        re.compile(r"^/workspaces/[^/]+/rulegroupsnamespaces/[^/]+$"),
        "PutRuleGroupsNamespace",
    ),
    (
        "DELETE",
        re.compile(r"^/workspaces/[^/]+/rulegroupsnamespaces/[^/]+$"),
        "DeleteRuleGroupsNamespace",
    ),
    ("POST", re.compile(r"^/workspaces$"), "CreateWorkspace"),
    ("GET", re.compile(r"^/tags/"), "ListTagsForResource"),
]
WRITES = ("CreateRuleGroupsNamespace", "PutRuleGroupsNamespace", "DeleteRuleGroupsNamespace")


def operation_of(method: str, path: str) -> str:
    for verb, pattern, name in _ROUTES:
        if verb == method and pattern.match(path):
            return name
    return f"{method} {path}"


def _error(start_response: Callable[..., Any], status: int, code: str, message: str) -> list[bytes]:
    body = json.dumps({"__type": code, "message": message}).encode()
    reasons = {409: "Conflict", 429: "Too Many Requests", 500: "Internal Server Error"}
    start_response(
        f"{status} {reasons.get(status, 'Error')}",
        [
            ("Content-Type", "application/json"),
            ("x-amzn-ErrorType", code),
            ("Content-Length", str(len(body))),
        ],
    )
    return [body]


class _Server(ThreadedMotoServer):
    """moto's threaded server on 127.0.0.1 with this fake's WSGI middleware around it."""

    def __init__(self, fake: MotoAmp, port: int) -> None:
        super().__init__(ip_address=HOST, port=port, verbose=False)
        self._fake = fake
        self._startup_error: BaseException | None = None

    def _server_entry(self) -> None:
        try:
            app = DomainDispatcherApplication(create_backend_app)
            self._server = make_server(
                self._ip_address,
                self._port,
                self._fake.wsgi(app),
                True,
                request_handler=MotoRequestHandler,
            )
        except BaseException as exc:  # reported by start()
            self._startup_error = exc
            self._server_ready_event.set()
            return
        self._server_ready_event.set()
        self._server.serve_forever(poll_interval=0.1)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server_entry, name="moto-amp", daemon=True)
        self._thread.start()
        if not self._server_ready_event.wait(STOP_TIMEOUT_S):
            raise RuntimeError("moto server did not start")
        if self._startup_error is not None:
            raise RuntimeError(f"moto server failed to start: {self._startup_error}")

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        server, thread = self._server, self._thread
        if server is not None:
            stopper = threading.Thread(target=server.shutdown, daemon=True)
            stopper.start()
            stopper.join(timeout)
            server.server_close()
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("moto server thread did not stop within %.1fs", timeout)
        self._server = None


class MotoAmp:
    """moto's AMP on 127.0.0.1 (a free port by default), counted and with injectable faults."""

    def __init__(self, port: int = 0, account_id: str = ACCOUNT_ID) -> None:
        self.account_id = account_id
        self.calls: collections.Counter[str] = collections.Counter()
        self._port = port
        self._create_lock = threading.Lock()  # CreateRuleGroupsNamespace, one at a time
        self._lock = threading.Lock()
        self._faults: list[list[Any]] = []  # [remaining, ops | None, status, code, message]
        self.shared = shared_faults.Faults()  # the shared kinds, see inject_fault
        self._statuses: dict[str, list[tuple[str, str]]] = {}  # name -> [(code, reason)]
        self._pending: dict[str, list[tuple[str, str]]] = {}  # ... from the next write on
        self._server: _Server | None = None
        self._session: boto3.session.Session | None = None
        self._werkzeug_level: int | None = None
        self.url = ""

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> MotoAmp:
        if self._server is None:
            werkzeug_log = logging.getLogger("werkzeug")
            self._werkzeug_level = werkzeug_log.level
            werkzeug_log.setLevel(logging.ERROR)
            server = _Server(self, self._port)
            server.start()
            self._server = server
            host, port = server.get_host_and_port()
            self.url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        self.url = ""
        if server is not None:
            server.stop()
        if self._werkzeug_level is not None:
            logging.getLogger("werkzeug").setLevel(self._werkzeug_level)
            self._werkzeug_level = None

    def __enter__(self) -> MotoAmp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget counts, faults and queued statuses (workspaces stay: tests make their own)."""
        with self._lock:
            self.calls.clear()
            self._faults.clear()
            self._statuses.clear()
            self._pending.clear()
        self.shared.clear()

    # -- clients and state ---------------------------------------------------------------
    def client(self, region: str = REGION) -> Any:
        if not self.url:
            raise RuntimeError("MotoAmp is not started")
        with self._lock:
            if self._session is None:
                self._session = boto3.session.Session()
            return self._session.client(
                "amp",
                region_name=region,
                endpoint_url=self.url,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                aws_session_token=None,
            )

    def create_workspace(self, region: str = REGION) -> str:
        return str(self.client(region).create_workspace(alias="slogen-tests")["workspaceId"])

    def namespaces(self, workspace: str, region: str = REGION) -> dict[str, tuple[str, dict]]:
        """name -> (data as text, tags), straight from moto's state (no request counted)."""
        backend = amp_backends[self.account_id][region]
        found = {}
        for name, ns in backend.workspaces[workspace].rule_group_namespaces.items():
            data = ns.data if isinstance(ns.data, str) else ""
            found[name] = (base64.b64decode(data).decode(), backend.list_tags_for_resource(ns.arn))
        return found

    def writes(self) -> int:
        return sum(self.calls[op] for op in WRITES)

    # -- faults --------------------------------------------------------------------------
    def inject(
        self,
        count: int,
        operations: Iterable[str] | None = None,
        status: int = 429,
        code: str = "ThrottlingException",
        message: str = "Rate exceeded",
    ) -> None:
        """Answer the next ``count`` requests for ``operations`` (all if None) with an error."""
        ops = frozenset(operations) if operations is not None else None
        with self._lock:
            self._faults.append([count, ops, status, code, message])

    def inject_fault(self, kind: str, count: int = 1, operation: str | None = None) -> None:
        """One of the shared faults (tests/fakes/faults.py) for the next ``count`` requests
        for ``operation`` (an AMP operation name, or ``"<operation> <namespace name>"``; all if
        None)."""
        self.shared.inject(kind, count, operation)

    def queue_statuses(self, name: str, statuses: Iterable[tuple[str, str]]) -> None:
        """After the next Create or Put of namespace ``name`` is accepted, the Describe answers
        for it carry these (code, reason)s, one each, before it is ACTIVE again (as AWS's
        asynchronous writes do; a read before that write sees ACTIVE)."""
        with self._lock:
            self._pending.setdefault(name, []).extend(statuses)

    def _written(self, name: str) -> None:
        with self._lock:
            if name in self._pending:
                self._statuses[name] = self._pending.pop(name)

    def _fault(self, operation: str) -> tuple[int, str, str] | None:
        with self._lock:
            self.calls[operation] += 1
            for rule in self._faults:
                if rule[0] > 0 and (rule[1] is None or operation in rule[1]):
                    rule[0] -= 1
                    return rule[2], rule[3], rule[4]
        return None

    def _exists(self, workspace: str, name: str) -> bool:
        for backend in amp_backends[self.account_id].values():
            ws = backend.workspaces.get(workspace)
            if ws is not None and name in ws.rule_group_namespaces:
                return True
        return False

    def wsgi(self, app: Callable[..., Any]) -> Callable[..., Any]:
        inner = self._wsgi(app)

        def faulty(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            operation = operation_of(environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""))
            named = operation  # "<operation> <namespace name>" when there is a name
            if operation == "CreateRuleGroupsNamespace":
                body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
                environ["wsgi.input"] = io.BytesIO(body)
                named += " " + str(json.loads(body or b"{}").get("name", ""))
            elif operation in WRITES or operation == "DescribeRuleGroupsNamespace":
                named += " " + environ.get("PATH_INFO", "").rsplit("/", 1)[1]
            kind = self.shared.take(
                named, operation in WRITES, operation == "ListRuleGroupsNamespaces"
            )
            if kind is None:
                return inner(environ, start_response)
            if kind == shared_faults.RATE_LIMITED:
                return _error(start_response, 429, "ThrottlingException", "Rate exceeded")
            if kind == shared_faults.HEADER_ECHO:
                sent = {k[5:]: str(v) for k, v in environ.items() if k.startswith("HTTP_")}
                return _error(start_response, 400, "ValidationException", shared_faults.echo(sent))
            captured: list[Any] = []

            def capture(code: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
                captured[:] = [code, headers]
                return lambda data: None

            body = b"".join(inner(environ, capture))
            code, headers = captured
            if kind == shared_faults.COMMIT_THEN_5XX and code.startswith("2"):
                return _error(start_response, 500, "InternalServerException", "Internal error")
            if kind == shared_faults.COMMIT_THEN_TIMEOUT:
                time.sleep(shared_faults.HANG)  # the client has given up on this answer
            if kind == shared_faults.SHORT_PAGE and code.startswith("2"):
                doc = json.loads(body)
                doc["ruleGroupsNamespaces"] = shared_faults.shorten(
                    doc.get("ruleGroupsNamespaces") or [], kind
                )
                doc.pop("nextToken", None)
                body = json.dumps(doc).encode()
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            start_response(code, [*headers, ("Content-Length", str(len(body)))])
            if kind == shared_faults.TRUNCATED_BODY:
                return [body[: len(body) // 2]]
            return [body]

        return faulty

    def _wsgi(self, app: Callable[..., Any]) -> Callable[..., Any]:
        def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            environ["HTTP_X_MOTO_ACCOUNT_ID"] = self.account_id
            path = environ.get("PATH_INFO", "")
            operation = operation_of(environ["REQUEST_METHOD"], path)
            fault = self._fault(operation)
            if fault is not None:
                return _error(start_response, *fault)
            if operation == "CreateRuleGroupsNamespace":
                size = int(environ.get("CONTENT_LENGTH") or 0)
                body = environ["wsgi.input"].read(size)
                environ["wsgi.input"] = io.BytesIO(body)
                name = str(json.loads(body or b"{}").get("name", ""))
                # AWS: a name is unique in a workspace, also for creates at the same moment
                # (slogen's apply lock relies on it): check and create as one step
                with self._create_lock:
                    if self._exists(path.split("/")[2], name):
                        return _error(
                            start_response, 409, "ConflictException", f"{name} already exists"
                        )
                    self._written(name)
                    return app(environ, start_response)
            if operation == "PutRuleGroupsNamespace":
                self._written(path.rsplit("/", 1)[1])
            if operation == "DescribeRuleGroupsNamespace":
                name = path.rsplit("/", 1)[1]
                with self._lock:
                    queued = self._statuses.get(name)
                    status = queued.pop(0) if queued else None
                if status is not None:
                    return self._with_status(app, environ, start_response, status)
            return app(environ, start_response)

        return middleware

    @staticmethod
    def _with_status(
        app: Callable[..., Any],
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        status: tuple[str, str],
    ) -> list[bytes]:
        captured: list[Any] = []

        def capture(code: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            captured[:] = [code, headers]
            return lambda data: None

        body = b"".join(app(environ, capture))
        doc = json.loads(body)
        if "ruleGroupsNamespace" in doc:
            doc["ruleGroupsNamespace"]["status"] = {
                "statusCode": status[0],
                **({"statusReason": status[1]} if status[1] else {}),
            }
        out = json.dumps(doc).encode()
        headers = [(k, v) for k, v in captured[1] if k.lower() != "content-length"]
        start_response(captured[0], [*headers, ("Content-Length", str(len(out)))])
        return [out]
