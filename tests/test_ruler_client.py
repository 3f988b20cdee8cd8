"""The ruler target's pieces on their own: settings, retries, error text, ownership, shapes."""

from __future__ import annotations

import email.utils
import time

import pytest

from slogen.backends.prometheus.ruler import groups
from slogen.backends.prometheus.ruler.client import (
    RETRY,
    Connection,
    RetryPolicy,
    RulerClient,
    RulerError,
    _retry_after,
    body_text,
    quote,
)
from slogen.backends.prometheus.ruler.options import connection
from slogen.errors import Location, SlogenError
from slogen.redact import redact
from slogen.spec.model import Target
from tests.fakes.ruler import FakeRuler, prom_duration


def settings(**options: str) -> Target:
    return Target("prometheus", "ruler", tuple(sorted(options.items())), Location("slogen.yaml", 7))


# -- options ----------------------------------------------------------------------------------


def test_options_expand_variables_and_build_the_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("R_URL", "https://mimir.example.com/")
    monkeypatch.setenv("R_TOKEN", "tok-abcdef123456")
    conn = connection(settings(url="${R_URL}", tenant="t1", token="${R_TOKEN}"))
    assert conn == Connection("https://mimir.example.com", "slogen", "t1", conn.authorization)
    assert conn.authorization == "Bearer tok-abcdef123456"
    assert "tok-abcdef123456" not in repr(conn)
    assert redact("x tok-abcdef123456 y") == "x *** y"


def test_basic_auth_header_is_a_secret_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("R_USER", "ci-user")
    monkeypatch.setenv("R_PASS", "pass-998877")
    conn = connection(
        settings(url="http://127.0.0.1:1", username="${R_USER}", password="${R_PASS}")
    )
    assert conn.authorization is not None
    encoded = conn.authorization.split(" ", 1)[1]
    assert redact(f"header {encoded}") == "header ***"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"url": "${R_URL}"}, "slogen.yaml:7:0: targets.prometheus.url: expected the http(s) base"),
        (
            {"url": "http://h", "token": "${R_T}", "username": "${R_U}", "password": "${R_P}"},
            "set either username and password or token, not both",
        ),
        ({"url": "http://h", "username": "${R_U}"}, "basic auth needs both username and"),
        ({"url": "http://h", "namespace": "${R_NS}"}, "targets.prometheus.namespace: expected"),
        ({"url": "http://h", "token": "${R_MISSING}"}, "variable R_MISSING is not set"),
        ({"url": "https://u:p-123456@h/x"}, "the URL must not hold credentials"),
    ],
)
def test_bad_options_are_located_errors(
    monkeypatch: pytest.MonkeyPatch, options: dict[str, str], message: str
) -> None:
    for name, value in {"R_URL": "mimir.example.com", "R_T": "t-123456", "R_U": "u-1",
                        "R_P": "p-123456", "R_NS": "a/b"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("R_MISSING", raising=False)
    with pytest.raises(SlogenError) as info:
        connection(settings(**options))
    assert message in info.value.message


# -- retries and error text ---------------------------------------------------------------------


def test_retry_after_takes_seconds_and_http_dates() -> None:
    assert _retry_after("12") == 12.0
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= (_retry_after(later) or 0) <= 31
    assert _retry_after("soon") is None
    assert _retry_after(None) is None


def test_retry_policy_is_bounded() -> None:
    policy = RetryPolicy()
    throttled = RulerError("x", 429, retry_after=600)
    assert policy.delay(throttled, 0) == policy.max_sleep
    assert policy.delay(throttled, policy.attempts - 1) is None
    assert policy.delay(RulerError("x", 400), 0) is None
    assert policy.delay(RulerError("x", 0), policy.connect_attempts - 1) is None
    assert policy.delay(ValueError("x"), 0) is None
    assert 0 < (policy.delay(RulerError("x", 503), 2) or 0) <= 4 * policy.backoff * 1.1


def test_error_bodies_are_reduced_to_their_text() -> None:
    assert body_text('{"status":"error","errorType":"bad_data","error":"no org id"}') == (
        "no org id"
    )
    assert body_text("line one\nline two\n") == "line one line two"
    assert len(body_text("x" * 2000)) == 500


def test_group_names_are_one_path_segment() -> None:
    assert quote("slogen/checkout/availability") == "slogen%2Fcheckout%2Favailability"


def test_client_counts_requests_and_deletes_of_missing_groups_succeed() -> None:
    with FakeRuler() as fake:
        client = RulerClient(Connection(fake.url, "ns"), RETRY, timeout=5)
        assert client.list_rules().strip() == "{}"
        client.set_group("name: g\nrules:\n- record: r\n  expr: up\n")
        client.delete_group("g")
        client.delete_group("g")  # already gone: 404, counted as deleted
        with pytest.raises(RulerError) as info:
            client.set_group("name: g\nrules: []\n")
        assert info.value.status == 400
        assert "rule group 'g' has no rules" in info.value.message
        assert dict(client.requests) == {"GET": 1, "POST": 2, "DELETE": 2}


# -- groups ---------------------------------------------------------------------------------


def _rule(service: str = "svc", slo: str = "avail") -> dict:
    return {"record": "r", "expr": "1", "labels": {"service": service, "slo": slo}}


@pytest.mark.parametrize(
    ("group", "marked"),
    [
        ({"name": "slogen/svc/avail", "rules": [_rule(), _rule()]}, True),
        ({"name": "slogen/svc/avail", "rules": [_rule(), _rule(slo="other")]}, False),
        ({"name": "slogen/svc/avail", "rules": [{"record": "r", "expr": "1"}]}, False),
        ({"name": "slogen/svc/avail", "rules": []}, False),
        ({"name": "svc/avail", "rules": [_rule()]}, False),
        ({"name": "slogen/svc/avail/x", "rules": [_rule()]}, False),
    ],
)
def test_the_marker(group: dict, marked: bool) -> None:
    assert groups.is_marked(group) is marked


def test_durations_are_compared_in_slogens_form() -> None:
    rule = {"alert": "A", "expr": "1", "for": "1y", "labels": {"n": 3, "b": True}}
    normal = groups.normalise({"name": "g", "rules": [rule]})["rules"][0]
    assert normal["for"] == "365d"
    assert normal["labels"] == {"n": "3", "b": "true"}
    assert groups.normalise({"rules": [{"for": "1h30m"}]})["rules"][0]["for"] == "1h30m"
    assert groups.normalise({"rules": [{"for": "1500ms"}]})["rules"][0]["for"] == "1500ms"
    # what the fake answers is Prometheus' own form
    assert prom_duration("7d") == "1w"
    assert prom_duration("90m") == "1h30m"
    assert prom_duration("365d") == "1y"


def test_listing_of_other_namespaces_is_not_looked_into() -> None:
    text = "other:\n- {name: x, rules: 5}\nslogen:\n- {name: a, rules: [{record: r, expr: '1'}]}\n"
    found = groups.parse_listing(text, "http://m", "slogen")
    assert [g["name"] for g in found] == ["a"]
    assert groups.parse_listing("", "http://m", "slogen") == []
    assert groups.parse_listing("{}\n", "http://m", "slogen") == []
