"""The Prometheus backend's ``vmalert`` target: rule files in a directory vmalert loads.

Disk is the live state, exactly as for the ``files`` target (:mod:`.files`, whose pieces this
reuses): one file per service in ``dir``, owned only when it carries the ``# managed-by: slogen``
header. After writing, slogen asks vmalert at ``url`` to reload and checks through its API that
every generated group is loaded with the rules just written and that they evaluate. vmalert
differs from Prometheus in ways that shape this module (checked against vmalert 1.79.5, Debian's
``victoria-metrics`` package):

* ``/-/reload`` accepts any method (the README's "Hot config reload" documents GET), answers
  200 with an empty body at once and only sends vmalert a SIGHUP (app/vmalert/web.go:
  ``case "/-/reload": procutil.SelfSIGHUP(); w.WriteHeader(http.StatusOK)``). The answer says
  nothing about the files.
* A reload that meets a broken file keeps the previous groups running and only tells the log
  and ``/metrics``: app/vmalert/main.go ``configReload`` increments
  ``vmalert_config_last_reload_total`` on SIGHUP, then on a parse error increments
  ``vmalert_config_last_reload_errors_total`` and sets ``vmalert_config_last_reload_successful``
  to 0. So slogen watches those counters; a refusal puts the previous files back, as for
  Prometheus, all the more because vmalert refuses to *start* with a broken ``-rule`` file.
* ``GET /api/v1/rules`` lists groups (``name``, ``file``, ``interval`` in seconds, ``id``) and
  their rules (``type``, ``name``, ``query``, ``labels``, ``annotations``, ``duration`` in
  seconds, ``health``, ``lastError``, ``lastEvaluation``). ``health`` is "ok" even before the
  first evaluation, which shows as ``lastEvaluation`` "0001-01-01T00:00:00Z".
* A new group's first evaluation waits for its slot in the interval (app/vmalert/group.go
  ``start``: a sleep of ``interval * id / 2**64`` minus ``now mod interval``, the id being
  FNV-1a of file, name and type), so with slogen's 1m groups health is known up to a minute
  after the reload. Changed rules are new rule objects and wait for the group's next slot.

MetricsQL and vmalert against the PromQL the generated rules assume (VictoriaMetrics's
"MetricsQL" docs and its PromQL-compliance article; behaviour checked with 1.79.5):

* Chained rules lag: vmalert evaluates a group's rules in order but writes their results
  through remote write asynchronously, and its README (Limitations) warns not to rely on a
  recording rule's result in the next rule of the same pass. slogen's groups chain rates ->
  ratios -> alerts, so each link sees the one before a group interval (plus
  ``-remoteWrite.flushInterval``, 5s) later: alerts fire up to about two minutes after
  Prometheus would. Thresholds and ratios are unchanged.
* ``rate()`` does not extrapolate to the window's edges and starts from the last sample before
  the window; for steadily scraped counters the ratio of two such rates is the same.
* ``sum_over_time`` over the 1m recorded series, ``/`` and ``and`` match as in PromQL
  (MetricsQL keeps the metric name on ``*_over_time`` results, but binary operators ignore it);
  a bare selector looks back ``step`` (vmalert sends ``-datasource.queryStep``, 5m), like
  Prometheus's 5m lookback delta.
* MetricsQL drops NaN from results: an SLO without traffic records no error-ratio sample where
  Prometheus records NaN. No alert differs (``NaN > x`` is false), dashboards show a gap.
* ``humanizePercentage`` exists in vmalert's templates, which it validates at load
  (``-rule.validateTemplates``, the default); the page alert's description renders the same.
* MetricsQL 1.79 parses any function name and fails at evaluation ("unknown func"): experimental
  PromQL functions slogen only warns about (``limit_ratio``, ``info``,
  ``double_exponential_smoothing``) load and then fail; apply's health check reports them and
  puts the failing services' previous files back (:func:`roll_back_failing`).
* Prometheus 3's quoted UTF-8 names (``{"http.server.requests"}``) pass slogen's PromQL check
  but vmalert 1.79 cannot parse them (``labelFilterExpr: unexpected token``): the reload is
  refused and reported as such.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from slogen import envref
from slogen.backends.contract import target_label
from slogen.backends.prometheus import files
from slogen.backends.prometheus import rulefiles as render_mod
from slogen.durations import parse_duration
from slogen.errors import SlogenError
from slogen.plan.model import Change
from slogen.plan.outcome import ApplyReport
from slogen.plan.progress import Progress
from slogen.resources import LiveState, Resource
from slogen.spec.model import Target

HTTP_TIMEOUT = 10.0
RELOAD_TIMEOUT = 30.0  # seconds for vmalert to take the files in after /-/reload
EVALUATION_TIMEOUT = 130.0  # at most this long for every new rule's first evaluation
POLL_INTERVAL = 0.25
NEVER_EVALUATED = "0001-01-01T00:00:00Z"
RELOADS = "vmalert_config_last_reload_total"
RELOAD_ERRORS = "vmalert_config_last_reload_errors_total"

# A rule as vmalert's API shows it: type, name, query, duration, labels, annotations.
Signature = tuple[str, str, str, float, tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]


class Unreachable(Exception):
    """vmalert did not answer (connection refused, timeout) or answered garbage."""


def _http(method: str, url: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise Unreachable(str(getattr(exc, "reason", exc))) from exc


def reload_counters(base_url: str) -> tuple[float, float] | None:
    """(reloads, reload errors) from ``/metrics``; None when vmalert does not expose them
    (e.g. ``-metricsAuthKey``): then only the API tells whether the files were taken in."""
    status, body = _http("GET", f"{base_url}/metrics")
    if status != 200:
        return None
    values: dict[str, float] = {}
    for line in body.decode(errors="replace").splitlines():
        name, _, value = line.partition(" ")
        if name in (RELOADS, RELOAD_ERRORS):
            try:
                values[name] = float(value.split()[0])
            except (ValueError, IndexError):
                continue
    if len(values) < 2:
        return None
    return values[RELOADS], values[RELOAD_ERRORS]


def loaded_groups(base_url: str) -> dict[str, dict[str, Any]]:
    """The groups vmalert runs, by name, from ``GET /api/v1/rules``."""
    status, body = _http("GET", f"{base_url}/api/v1/rules")
    try:
        data = json.loads(body) if status == 200 else None
        return {g["name"]: g for g in data["data"]["groups"] or []}  # type: ignore[index]
    except (ValueError, KeyError, TypeError) as exc:
        raise Unreachable(f"GET /api/v1/rules answered HTTP {status}: {body[:200]!r}") from exc


def _items(mapping: Any) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), str(v)) for k, v in (mapping or {}).items()))


def wanted_rules(desired: Sequence[Resource]) -> dict[str, list[Signature]]:
    """Group name -> the signatures of its rules, as vmalert should show them once loaded."""
    wanted: dict[str, list[Signature]] = {}
    for group in render_mod.slo_groups(list(desired)).values():
        rules: list[Signature] = []
        for rule in group["rules"]:
            alerting = "alert" in rule
            rules.append(
                (
                    "alerting" if alerting else "recording",
                    str(rule["alert"] if alerting else rule["record"]),
                    str(rule["expr"]),
                    float(parse_duration(str(rule["for"]))) if rule.get("for") else 0.0,
                    _items(rule.get("labels")),
                    _items(rule.get("annotations")),
                )
            )
        wanted[group["name"]] = sorted(rules)
    return wanted


def _signature(rule: dict[str, Any], label_keys: set[str]) -> Signature:
    # vmalert may add labels of its own (-external.label): compare only the keys slogen writes.
    labels = tuple(kv for kv in _items(rule.get("labels")) if kv[0] in label_keys)
    return (
        str(rule.get("type")),
        str(rule.get("name")),
        str(rule.get("query")),
        float(rule.get("duration") or 0),
        labels,
        _items(rule.get("annotations")),
    )


def matches(group: dict[str, Any], rules: list[Signature]) -> bool:
    """Whether a loaded group holds exactly ``rules`` (so the new files are the ones running)."""
    keys = {key for rule in rules for key, _ in rule[4]}
    return sorted(_signature(r, keys) for r in group.get("rules") or []) == rules


def wait_until_loaded(
    base_url: str,
    before: tuple[float, float] | None,
    wanted: dict[str, list[Signature]],
    removed: list[str],
) -> tuple[str, dict[str, dict[str, Any]]]:
    """Poll until vmalert runs the new rules ("loaded"), counted a failed reload ("refused"),
    or ``RELOAD_TIMEOUT`` passed ("timeout"); with the groups last seen."""
    deadline = time.monotonic() + RELOAD_TIMEOUT
    while True:
        counters = reload_counters(base_url) if before is not None else None
        if before is not None and counters is not None and counters[1] > before[1]:
            return "refused", {}
        groups = loaded_groups(base_url)
        if all(n in groups and matches(groups[n], r) for n, r in wanted.items()) and not any(
            n in groups for n in removed
        ):
            return "loaded", groups
        if time.monotonic() > deadline:
            return "timeout", groups
        time.sleep(POLL_INTERVAL)


def health_problems(
    base_url: str, groups: dict[str, dict[str, Any]], names: list[str]
) -> tuple[list[str], bool, dict[str, list[str]]]:
    """Wait until every rule of the named groups has been evaluated once (at most one group
    interval and ten seconds, capped at ``EVALUATION_TIMEOUT``); the rules that fail, whether
    some were still unevaluated at the deadline, and the failing groups (name -> problems)."""
    longest = max((float(groups[n].get("interval") or 0) for n in names), default=0.0)
    deadline = time.monotonic() + min(EVALUATION_TIMEOUT, longest + 10)
    while True:
        problems: list[str] = []
        failing: dict[str, list[str]] = {}
        pending = False
        for name in names:
            for rule in groups[name].get("rules") or []:
                if rule.get("lastError") or rule.get("health") not in ("ok", None):
                    problem = (
                        f"rule {rule.get('name')} in group {name} fails: {rule.get('lastError')}"
                    )
                    problems.append(problem)
                    failing.setdefault(name, []).append(problem)
                elif rule.get("lastEvaluation", NEVER_EVALUATED).startswith("0001-"):
                    pending = True
        if not pending or time.monotonic() > deadline:
            return problems, pending, failing
        time.sleep(POLL_INTERVAL)
        groups = loaded_groups(base_url)
        gone = [n for n in names if n not in groups]
        if gone:
            return [f"rule group {n} was unloaded while slogen waited" for n in gone], False, {}


def roll_back_failing(
    url: str,
    previous: files.Previous,
    report: ApplyReport,
    failing: dict[str, list[str]],
    expected: list[str],
) -> None:
    """Restore the files of the services whose new rules fail evaluation (why, and why only
    theirs: :func:`files.undo_failing`), reload vmalert and wait until it runs them again."""
    restored = files.undo_failing(previous, report, failing, "rules")
    if not restored:
        return  # the failing groups were not written by this apply: only reported
    wanted: dict[str, list[Signature]] = {}
    for path, (text, _changes) in restored.items():
        if text is not None:
            wanted.update(wanted_rules(files.resources_from_file(text, str(path), "", "rules")))
    services = {path.name.removesuffix(render_mod.RULE_FILE_SUFFIX) for path in restored}
    removed = [g for g in expected if files.service_of_group(g) in services and g not in wanted]
    names = ", ".join(sorted(path.name for path in restored))
    try:
        before = reload_counters(url)
        _http("GET", f"{url}/-/reload")
        outcome, _groups = wait_until_loaded(url, before, wanted, removed)
    except Unreachable as exc:
        outcome = f"unreachable ({exc})"
    if outcome == "loaded":
        report.errors.append(
            f"rules that fail evaluation are not left running: {names} put back as they were "
            f"and vmalert at {url} runs them again"
        )
    else:
        report.errors.append(
            f"{names} put back as they were, but vmalert at {url} did not take them in "
            f"({outcome}); it runs the failing rules until it reloads"
        )


class VmalertTarget:
    """The ``vmalert`` target of the Prometheus backend (see the module docstring)."""

    def __init__(self, settings: Target):
        self.settings = settings
        self.name = target_label(settings)

    def _files(self) -> files.RuleFilesTarget:
        """The plain files target over ``dir`` with its ${VARIABLE} references expanded."""
        options = dict(self.settings.options)
        options["dir"] = envref.option(self.settings, "dir")
        options.pop("url", None)  # no reload_url: vmalert is reloaded here, not by files.py
        return files.RuleFilesTarget(
            dataclasses.replace(self.settings, options=tuple(options.items()))
        )

    def _url(self) -> str:
        return str(envref.option(self.settings, "url") or "").rstrip("/")

    def read_live(self, known: Sequence[Resource] = ()) -> LiveState:
        self._url()  # an unset ${VARIABLE} in url is reported by plan, not first by apply
        return self._files().read_live(known)

    def conflicts(self, desired: Sequence[Resource], live: LiveState) -> list[str]:
        return self._files().conflicts(desired, live)

    def lock(self, holder: str, timeout: float) -> contextlib.AbstractContextManager[None]:
        """The rules directory's file lock (vmalert reads only rule files, not the lock)."""
        return self._files().lock(holder, timeout)

    def apply(
        self, changes: Sequence[Change], desired: Sequence[Resource], progress: Progress
    ) -> ApplyReport:
        report = ApplyReport()
        target = self._files().settings
        url = self._url()
        try:
            before = reload_counters(url)  # before writing: an unreachable vmalert changes nothing
        except Unreachable as exc:
            raise SlogenError(
                f"cannot reach vmalert at {url}: {exc}; no rule file was changed",
                hint="check targets.prometheus.url and that vmalert listens there "
                "(its -httpListenAddr)",
            ) from exc
        changed, previous = files.write_rule_files(target, changes, desired, progress, report)
        if not changed:
            return report
        expected, removed = files.group_names(desired, changes)
        try:
            status, body = _http("GET", f"{url}/-/reload")
            if status != 200:
                text = body.decode(errors="replace").strip()
                files.undo_refused(
                    previous, report, f"vmalert refused to reload (HTTP {status}): {text}"
                )
                return report
            outcome, groups = wait_until_loaded(url, before, wanted_rules(desired), removed)
        except Unreachable as exc:
            files.undo_refused(previous, report, f"cannot reach vmalert at {url}: {exc}")
            return report
        if outcome == "refused":
            files.undo_refused(
                previous,
                report,
                f"vmalert at {url} refused the new rule files (its "
                "vmalert_config_last_reload_successful is 0; its log says why) and kept "
                "running the previous ones",
            )
            # Reloading the restored files finds them equal to what runs, which sets
            # vmalert_config_last_reload_successful back to 1 (main.go configReload), so a
            # reload-failure alert on vmalert does not stay firing for a change never made.
            with contextlib.suppress(Unreachable):
                _http("GET", f"{url}/-/reload")
            return report
        if outcome == "timeout":
            missing = [n for n in expected if n not in groups]
            report.errors.append(
                f"vmalert at {url} did not load the new rules within {RELOAD_TIMEOUT:.0f} s"
                + (f" (missing groups: {', '.join(missing)})" if missing else "")
                + f"; is {target.option('dir')} matched by its -rule flag? (If vmalert "
                "refused the files, its log says why.)"
            )
            return report
        try:
            problems, pending, failing = health_problems(url, groups, expected)
        except Unreachable as exc:
            problems, pending = [f"cannot read rules from vmalert at {url}: {exc}"], False
            failing = {}
        report.errors.extend(problems)
        if failing:
            roll_back_failing(url, previous, report, failing, expected)
        elif pending and not problems:
            report.notes.append(
                f"vmalert at {url} loaded {len(expected)} rule group(s), but some rules had "
                "not been evaluated yet (vmalert starts a group at its own offset within the "
                "interval); check their health in vmalert."
            )
        elif not problems:
            report.notes.append(
                f"vmalert at {url} reloaded; {len(expected)} rule group(s) loaded and healthy."
            )
        return report
