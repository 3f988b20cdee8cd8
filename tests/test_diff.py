"""The pure diff: examples of every action, then properties over random desired/live sets."""

from __future__ import annotations

import json
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from slogen.plan.diff import apply_to, diff, field_changes
from slogen.plan.model import (
    CREATE,
    DELETE,
    MISSING,
    NOOP,
    REPLACE,
    UPDATE,
    Change,
    FieldChange,
    Plan,
)
from slogen.resources import Resource, canonical_json

TARGET = "files:out/prometheus"


def res(
    key: str,
    body: dict[str, Any],
    kind: str = "alert",
    backend: str = "prometheus",
    target: str = TARGET,
    depends_on: tuple[str, ...] = (),
    live_id: str | None = None,
) -> Resource:
    return Resource(backend, target, kind, key, body, depends_on, live_id)


def alert(severity: str = "page", expr: str = "x > 1", **extra: Any) -> dict[str, Any]:
    return {
        "alert": "CheckoutAvailabilityBudgetBurn",
        "expr": expr,
        "labels": {"service": "checkout", "severity": severity},
        **extra,
    }


def recording(*exprs: str) -> dict[str, Any]:
    return {"rules": [{"record": f"r{i}", "expr": e} for i, e in enumerate(exprs)]}


def paths(change: Change) -> list[str]:
    return [f.path for f in change.fields]


# -- examples -----------------------------------------------------------------------------------


def test_create_for_a_desired_resource_that_is_not_live() -> None:
    want = res("checkout/availability/page-1h", alert())
    plan = diff([want], [])
    assert [(c.action, c.before, c.after, c.fields) for c in plan.changes] == [
        (CREATE, None, want, ())
    ]
    assert plan.counts == {"add": 1, "change": 0, "destroy": 0}
    assert plan.summary() == "Plan: 1 to add, 0 to change, 0 to destroy."


def test_delete_for_a_live_resource_that_is_not_desired() -> None:
    have = res("checkout/availability/page-1h", alert(), live_id="checkout.rules.yml")
    plan = diff([], [have])
    (change,) = plan.changes
    assert (change.action, change.before, change.after) == (DELETE, have, None)
    assert change.resource.live_id == "checkout.rules.yml"
    assert plan.summary() == "Plan: 0 to add, 0 to change, 1 to destroy."


def test_update_of_a_nested_label_names_its_path() -> None:
    plan = diff([res("k", alert("page"))], [res("k", alert("ticket"))])
    (change,) = plan.changes
    assert change.action == UPDATE
    assert change.fields == (FieldChange("labels.severity", "ticket", "page"),)
    assert plan.summary() == "Plan: 0 to add, 1 to change, 0 to destroy."


def test_update_inside_a_list_names_the_index() -> None:
    before = recording("a", "b", "c", "old")
    after = recording("a", "b", "c", "new")
    (change,) = diff(
        [res("k", after, kind="recording-rules")], [res("k", before, kind="recording-rules")]
    ).changes
    assert change.action == UPDATE
    assert change.fields == (FieldChange("rules[3].expr", "old", "new"),)


def test_list_that_grows_is_one_change_of_the_whole_list() -> None:
    before = recording("a")
    after = recording("a", "b")
    (change,) = diff(
        [res("k", after, kind="recording-rules")], [res("k", before, kind="recording-rules")]
    ).changes
    assert change.fields == (FieldChange("rules", before["rules"], after["rules"]),)


def test_added_and_removed_fields_are_absent_on_one_side() -> None:
    before = alert(annotations={"runbook_url": "https://old"})
    after = alert(**{"for": "5m"})
    (change,) = diff([res("k", after)], [res("k", before)]).changes
    assert change.fields == (
        FieldChange("annotations", {"runbook_url": "https://old"}, MISSING),
        FieldChange("for", MISSING, "5m"),
    )
    assert [f.to_json() for f in change.fields] == [
        {"path": "annotations", "before": {"runbook_url": "https://old"}},
        {"path": "for", "after": "5m"},
    ]


def test_changes_are_listed_in_key_order_within_a_body() -> None:
    before = {"b": 1, "a": {"z": 1, "y": 1}, "c": [1, 2]}
    after = {"c": [1, 3], "a": {"y": 2, "z": 2}, "b": 2}
    assert [f.path for f in field_changes(before, after)] == ["a.y", "a.z", "b", "c[1]"]


def test_a_value_that_changes_type_is_a_change() -> None:
    assert field_changes({"v": 1}, {"v": 1.0}) == [FieldChange("v", 1, 1.0)]
    assert field_changes({"v": True}, {"v": 1}) == [FieldChange("v", True, 1)]
    assert field_changes({"v": None}, {}) == [FieldChange("v", None, MISSING)]


def test_a_value_that_changes_type_inside_a_list_is_a_change() -> None:
    """Consistency with the scalar case above: [1] → [1.0] must not be hidden.

    The list branch of ``field_changes`` only recurses when ``before != after``, and Python's
    ``[1] == [1.0]`` (and ``[True] == [1]``) is true, so these differences are dropped.
    """
    assert field_changes({"v": [1]}, {"v": [1.0]}) == [FieldChange("v[0]", 1, 1.0)]
    assert field_changes({"v": [True]}, {"v": [1]}) == [FieldChange("v[0]", True, 1)]


def test_immutable_field_turns_an_update_into_a_replace() -> None:
    before = res("checkout/availability", {"type": "metric alert", "name": "a"}, kind="monitor")
    after = res("checkout/availability", {"type": "slo alert", "name": "b"}, kind="monitor")
    plan = diff([after], [before], immutable={"monitor": ["type"]})
    (change,) = plan.changes
    assert change.action == REPLACE
    assert change.fields == (
        FieldChange("name", "a", "b"),
        FieldChange("type", "metric alert", "slo alert", forces_replacement=True),
    )
    assert plan.counts == {"add": 1, "change": 0, "destroy": 1}
    assert plan.summary() == "Plan: 1 to add, 0 to change, 1 to destroy."


def test_immutable_paths_only_apply_to_their_kind() -> None:
    before = res("k", {"type": "a", "name": "x"}, kind="alert")
    after = res("k", {"type": "b", "name": "x"}, kind="alert")
    (change,) = diff([after], [before], immutable={"monitor": ["type"]}).changes
    assert change.action == UPDATE
    assert not change.fields[0].forces_replacement


def test_mutable_field_of_an_immutable_kind_is_an_update() -> None:
    before = res("k", {"type": "a", "name": "x"}, kind="monitor")
    after = res("k", {"type": "a", "name": "y"}, kind="monitor")
    (change,) = diff([after], [before], immutable={"monitor": {"type"}}).changes
    assert change.action == UPDATE


def test_no_op_is_counted_but_not_listed() -> None:
    same = res("k", alert())
    plan = diff([same], [res("k", alert(), live_id="f.yml")])
    assert plan.changes == []
    assert plan.unchanged == 1
    assert not plan.has_changes
    assert plan.summary() == "No changes."
    assert NOOP not in {c.action for c in plan.changes}


def test_order_is_backend_then_target_then_key_then_kind() -> None:
    desired = [
        res("b/x", {}, backend="cloudwatch", kind="alarm"),
        res("a/x", {}, backend="datadog", kind="monitor"),
        res("z/x", {}, kind="recording-rules"),
        res("a/x/page-1h", {}),
        res("a/x", {}, kind="recording-rules"),
        res("a/x", {}, target="files:zz", kind="zz"),
    ]
    expected = [
        "prometheus.recording-rules.a/x",
        "prometheus.alert.a/x/page-1h",
        "prometheus.recording-rules.z/x",
        "prometheus.zz.a/x",
        "datadog.monitor.a/x",
        "cloudwatch.alarm.b/x",
    ]
    for seed in range(5):
        shuffled = list(desired)
        random.Random(seed).shuffle(shuffled)
        assert [c.address for c in diff(shuffled, []).changes] == expected


def test_two_desired_resources_with_one_address_are_refused() -> None:
    try:
        diff([res("k", {}), res("k", {"x": 1})], [])
    except ValueError as exc:
        assert "prometheus.alert.k" in str(exc)
    else:
        raise AssertionError("expected ValueError")


def test_apply_to_deletes_and_upserts() -> None:
    live = [res("a", {"v": 1}), res("b", {"v": 1}), res("c", {"v": 1})]
    desired = [res("a", {"v": 1}), res("b", {"v": 2}), res("d", {"v": 1})]
    after = apply_to(live, diff(desired, live).changes)
    assert {(r.key, r.body["v"]) for r in after} == {("a", 1), ("b", 2), ("d", 1)}


# -- properties ---------------------------------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(-5, 5, allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "a", "b", "x > 1", "line one\nline two"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(["a", "b", "expr", "labels", "rules"]), inner, max_size=4),
    ),
    max_leaves=12,
)
# Resource bodies are drawn from a fixed pool of values (nested ones included): drawing them
# recursively is slow, and field_changes gets its own property over arbitrary JSON below.
BODY_VALUES = [
    None,
    True,
    1,
    1.0,
    "page",
    "ticket",
    "a > 1\nand\nb > 1",
    "a > 2\nand\nb > 1",
    [],
    [1, 2],
    [1, 3],
    [1, 2, 3],
    {"severity": "page"},
    {"severity": "ticket"},
    {"severity": "page", "team": "x"},
    {"rules": [{"record": "r", "expr": "x"}]},
    {"rules": [{"record": "r", "expr": "y"}]},
]
bodies = st.dictionaries(
    st.sampled_from(["expr", "labels", "rules", "type"]), st.sampled_from(BODY_VALUES), max_size=4
)
ADDRESSES = [
    (backend, kind, key)
    for backend in ("prometheus", "datadog", "cloudwatch")
    for kind in ("alert", "monitor")
    for key in ("a/x", "a/x/page-1h", "b/y")
]


@st.composite
def desired_and_live(draw: st.DrawFn) -> tuple[list[Resource], list[Resource]]:
    """Two sets over a small pool of addresses, so they share keys often, and with live bodies
    that are often equal to the desired ones."""
    entries = draw(
        st.lists(
            st.tuples(
                st.sampled_from(ADDRESSES),
                st.sampled_from(["desired", "live", "both-same", "both-other"]),
                bodies,
                bodies,
            ),
            max_size=8,
            unique_by=lambda entry: entry[0],
        )
    )
    desired, live = [], []
    for (backend, kind, key), where, body, other in entries:
        if where != "live":
            desired.append(Resource(backend, "t", kind, key, body))
        if where == "live":
            live.append(Resource(backend, "t", kind, key, body, live_id="owned"))
        elif where == "both-same":
            live.append(Resource(backend, "t", kind, key, json.loads(json.dumps(body))))
        elif where == "both-other":
            live.append(Resource(backend, "t", kind, key, other, live_id="owned"))
    return desired, live


def strictly_equal(a: Any, b: Any) -> bool:
    """Equal, and of the same JSON type at every level (1 and 1.0, or True and 1, differ)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(strictly_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(strictly_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def as_set(resources: list[Resource]) -> dict[str, str]:
    return {r.address: canonical_json(r.body) for r in resources}


@settings(max_examples=60, deadline=None)
@given(desired_and_live())
def test_diff_of_a_state_with_itself_is_empty(sets: tuple[list[Resource], list[Resource]]) -> None:
    desired, _ = sets
    plan = diff(desired, desired)
    assert plan.changes == []
    assert plan.unchanged == len(desired)
    assert plan.summary() == "No changes."


@settings(max_examples=60, deadline=None)
@given(desired_and_live())
def test_applying_the_plan_to_live_gives_desired(
    sets: tuple[list[Resource], list[Resource]],
) -> None:
    desired, live = sets
    plan = diff(desired, live)
    after = apply_to(live, plan.changes)
    assert as_set(after) == as_set(desired)
    assert diff(desired, after).changes == []


@settings(max_examples=60, deadline=None)
@given(desired_and_live())
def test_plan_deletes_only_live_resources(sets: tuple[list[Resource], list[Resource]]) -> None:
    desired, live = sets
    plan = diff(desired, live)
    live_by_address = {r.address: r for r in live}
    desired_by_address = {r.address: r for r in desired}
    for change in plan.changes:
        if change.action in (DELETE, UPDATE, REPLACE):
            # what is changed or destroyed is exactly the live (owned) object
            assert change.before is live_by_address[change.address]
        if change.action in (CREATE, UPDATE, REPLACE):
            assert change.after is desired_by_address[change.address]
    deleted = {c.address for c in plan.changes if c.action == DELETE}
    assert deleted == set(live_by_address) - set(desired_by_address)
    created = {c.address for c in plan.changes if c.action == CREATE}
    assert created == set(desired_by_address) - set(live_by_address)


@settings(max_examples=60, deadline=None)
@given(desired_and_live(), st.booleans())
def test_counts_add_up(sets: tuple[list[Resource], list[Resource]], immutable: bool) -> None:
    desired, live = sets
    plan = diff(desired, live, immutable={"monitor": ["type"]} if immutable else None)
    actions = [c.action for c in plan.changes]
    addresses = {r.address for r in desired} | {r.address for r in live}
    assert len(plan.changes) + plan.unchanged == len(addresses)
    assert plan.counts == {
        "add": actions.count(CREATE) + actions.count(REPLACE),
        "change": actions.count(UPDATE),
        "destroy": actions.count(DELETE) + actions.count(REPLACE),
    }
    assert len({c.address for c in plan.changes}) == len(plan.changes)
    for change in plan.changes:
        if change.action in (UPDATE, REPLACE):
            assert change.fields, change
            assert (change.action == REPLACE) == any(f.forces_replacement for f in change.fields)
        else:
            assert change.fields == ()
    if not immutable:
        assert REPLACE not in actions
    c = plan.counts
    expected = (
        "No changes."
        if not plan.changes
        else f"Plan: {c['add']} to add, {c['change']} to change, {c['destroy']} to destroy."
    )
    assert plan.summary() == expected


@settings(max_examples=60, deadline=None)
@given(desired_and_live(), st.integers(0, 2**16))
def test_order_does_not_depend_on_input_order(
    sets: tuple[list[Resource], list[Resource]], seed: int
) -> None:
    desired, live = sets
    rnd = random.Random(seed)
    first = diff(desired, live)
    desired2, live2 = list(desired), list(live)
    rnd.shuffle(desired2)
    rnd.shuffle(live2)
    second = diff(desired2, live2)
    assert [c.to_json() for c in first.changes] == [c.to_json() for c in second.changes]


@settings(max_examples=60, deadline=None)
@given(desired_and_live())
def test_changes_survive_a_json_round_trip(sets: tuple[list[Resource], list[Resource]]) -> None:
    """What ``slogen plan -o`` saves is what ``slogen apply PLANFILE`` executes."""
    desired, live = sets
    for change in diff(desired, live, immutable={"monitor": ["type"]}).changes:
        again = Change.from_json(json.loads(json.dumps(change.to_json())))
        assert again == change
        assert again.to_json() == change.to_json()


def _retype(value: Any, rnd: random.Random) -> Any:
    """The same value as Python's == sees it, with some leaves changed in JSON type."""
    if isinstance(value, dict):
        return {k: _retype(v, rnd) for k, v in value.items()}
    if isinstance(value, list):
        return [_retype(v, rnd) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if rnd.random() < 0.5:
        return float(value) if isinstance(value, int) else value
    return value


@settings(max_examples=60, deadline=None)
@given(json_values, json_values, st.randoms(use_true_random=False), st.booleans())
def test_no_field_changes_exactly_when_strictly_equal(
    a: Any, b: Any, rnd: random.Random, derive: bool
) -> None:
    """field_changes finds a difference iff the two JSON values differ (type included), and
    plan files / fingerprints (canonical JSON) agree with it."""
    if derive:
        b = _retype(a, rnd)
    changes = field_changes({"v": a}, {"v": b})
    assert (not changes) == strictly_equal(a, b), (a, b, changes)


def test_plan_model_counts_on_a_hand_made_plan() -> None:
    plan = Plan(
        [
            Change(CREATE, None, res("a", {})),
            Change(UPDATE, res("b", {}), res("b", {"x": 1}), (FieldChange("x", MISSING, 1),)),
            Change(REPLACE, res("c", {}), res("c", {}), (FieldChange("t", 1, 2, True),)),
            Change(DELETE, res("d", {}), None),
        ]
    )
    assert plan.counts == {"add": 2, "change": 1, "destroy": 2}
    assert plan.summary() == "Plan: 2 to add, 1 to change, 2 to destroy."
