from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import yaml

from pytest_jitera.charts.diff import diff_charts
from pytest_jitera.charts.values_diff import diff_values, flatten
from tests.conftest import BASE_VALUES, DEPLOYMENT


def _moved_values() -> dict:
    values = copy.deepcopy(BASE_VALUES)
    values["image"]["tag"] = "v24.06.01"
    values["externalPostgres"] = {"primary": {"host": "db.internal"}, "port": 5432, "database": "jitera"}
    return values


def test_flatten() -> None:
    assert flatten({"a": {"b": 1, "c": {"d": [1]}}, "e": {}}) == {"a.b": 1, "a.c.d": [1], "e": {}}


def test_tag_only_release_is_not_structural(make_chart: Callable[..., Path]) -> None:
    new_values = copy.deepcopy(BASE_VALUES)
    new_values["image"]["tag"] = "v24.05.01.1"
    old = make_chart("v24.05.01", zipped=True)
    new = make_chart("v24.05.01.1", values=new_values, zipped=True)
    diff = diff_charts(old, new)
    assert diff.verdict == "no structural change"
    assert not diff.structural_change
    assert [t.change for t in diff.templates] == ["tag-only"]


def test_moved_key_flags_user_override(make_chart: Callable[..., Path], tmp_path: Path) -> None:
    old = make_chart("v24.05.01")
    new = make_chart("v24.06.01", values=_moved_values())
    user = tmp_path / "my-values.yaml"
    user.write_text(yaml.safe_dump({"externalPostgres": {"host": "rds.example.internal"}, "replicas": 3}))
    diff = diff_charts(old, new, [user])
    assert diff.structural_change
    [hazard] = diff.values.hazards
    assert hazard.key == "externalPostgres.host"
    assert hazard.problem == "renamed"
    assert "externalPostgres.primary.host" in hazard.describe()
    data = diff.to_json()
    assert data["values"]["renamed"] == {"externalPostgres.host": "externalPostgres.primary.host"}
    assert "externalPostgres.host" in data["values"]["removed"]
    assert any("externalPostgres.host" in line for line in data["values"]["risky"])
    assert "rds.example.internal" not in str(data)  # the user's value may be secret


def test_removed_retyped_and_nested_overrides() -> None:
    old = {"a": {"b": 1, "c": "x"}, "gone": True, "mode": "fast", "credentials": {"token": "t"}}
    new = {"a": {"b": "one"}, "mode": {"name": "fast"}, "credentials": {"token": "t", "extra": 1}}
    user = {"a": {"b": 2, "c": "y"}, "gone": False, "mode": "slow", "never": 1}
    result = diff_values(old, new, [("user.yaml", user)])
    problems = {h.key: h.problem for h in result.hazards}
    assert problems == {"a.b": "retyped", "a.c": "removed", "gone": "removed", "mode": "retyped"}
    changes = {c.key: c.change for c in result.changes}
    assert changes["a.b"] == "type"
    assert changes["mode"] == "type"
    assert changes["credentials.extra"] == "added"
    assert [c.key for c in result.risky] == ["credentials.extra"]


def test_template_added_and_modified(make_chart: Callable[..., Path]) -> None:
    old = make_chart("v24.07.01")
    templates = {
        "deployment.yaml": DEPLOYMENT.format(version="v24.08.01").replace(
            "replicas:", "revisionHistoryLimit: 3\n  replicas:"
        ),
        "ingress.yaml": "kind: Ingress\n",
    }
    new = make_chart("v24.08.01", templates=templates)
    diff = diff_charts(old, new)
    assert diff.structural_change
    assert {(t.path, t.change) for t in diff.templates} == {
        ("deployment.yaml", "modified"),
        ("ingress.yaml", "added"),
    }
    assert "template ingress.yaml added" in diff.structural_reasons
