"""The fast text writers write exactly what the libraries they replace write.

``slogen.yamltext.dump`` must equal PyYAML's ``yaml.dump`` with the rule files' options, and
``slogen.jsontext.dumps_indented`` must equal ``json.dumps(indent=2, ensure_ascii=False)``, for
any data, not only the shapes slogen generates today: generated documents, plus the awkward
strings (YAML keywords, numbers as text, leading spaces, trailing newlines, quotes, unicode).
"""

from __future__ import annotations

import json

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slogen import jsontext, yamltext

AWKWARD = [
    "", " ", "true", "no", "null", "~", "1", "1.5", "0x1f", "1e3", "2024-01-01", "1m", "-",
    "- x", "a: b", "a #b", "#c", "'q'", '"d"', "{x}", "[y]", "*a", "&b", "!t", "%p", "@", "`",
    "line\n", "two\nlines", "trail \nx", " lead\nx", "\nstart", "end\n\n", "tab\tx", "é ü ✓",
    "x" * 200, "sum(rate(x{a=\"b\"}[5m]))\n/\nsum(rate(y[5m]))", "a\u2028b", "bell\x07",
]  # fmt: skip

scalars = (
    st.sampled_from(AWKWARD)
    | st.text(max_size=30)
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
    | st.none()
)
keys = st.sampled_from(AWKWARD[:30]) | st.text(min_size=1, max_size=20)
documents = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(keys, documents, min_size=1, max_size=5))
def test_yaml_matches_pyyaml(data: dict) -> None:
    assert yamltext.dump(data) == yamltext.reference(data)


@given(documents)
def test_yaml_any_document_matches_pyyaml(data: object) -> None:
    assert yamltext.dump(data) == yamltext.reference(data)


def test_yaml_shared_objects_keep_pyyaml_anchors() -> None:
    labels = {"service": "api"}
    data = {"rules": [{"labels": labels}, {"labels": labels}]}
    text = yamltext.dump(data)
    assert text == yamltext.reference(data)
    assert "&id001" in text


def test_yaml_rule_group_layout() -> None:
    data = {
        "groups": [
            {
                "name": "slogen/api/availability",
                "rules": [{"record": "r", "expr": "a\n/\nb", "labels": {"slo": "1"}}],
            }
        ]
    }
    assert yamltext.dump(data) == (
        "groups:\n"
        "- name: slogen/api/availability\n"
        "  rules:\n"
        "  - record: r\n"
        "    expr: |-\n"
        "      a\n"
        "      /\n"
        "      b\n"
        "    labels:\n"
        "      slo: '1'\n"
    )
    assert yaml.safe_load(yamltext.dump(data)) == data


def _has_tiny_float(data: object) -> bool:
    if isinstance(data, dict):
        return any(_has_tiny_float(v) for v in data.values())
    if isinstance(data, list):
        return any(_has_tiny_float(v) for v in data)
    return isinstance(data, float) and 0 < abs(data) < 1e-4


@given(documents)
def test_json_matches_stdlib(data: object) -> None:
    text = jsontext.dumps_indented(data)
    assert json.loads(text) == data
    if not _has_tiny_float(data):  # written without an exponent by orjson (see jsontext)
        assert text == json.dumps(data, indent=2, ensure_ascii=False)


@given(documents)
def test_python_json_writer_matches_stdlib(data: object) -> None:
    expected = json.dumps(data, indent=2, ensure_ascii=False)
    assert jsontext.python_dumps_indented(data) == expected
