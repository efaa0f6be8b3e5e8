from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pytest_jitera.errors import ChartError, PlanError
from pytest_jitera.release.catalog import load_catalog
from pytest_jitera.release.planner import plan_upgrade
from pytest_jitera.release.versions import StepKind, Version

V = Version.parse
SERIES = ["v24.05.01", "v24.05.01.1", "v24.06.01", "v24.06.15", "v24.07.01"]


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    for version in SERIES:
        (tmp_path / f"jitera-helm-{version}.zip").write_bytes(b"")
    return tmp_path


def test_steps_through_every_minor_in_order(catalog_dir: Path) -> None:
    plan = plan_upgrade(load_catalog(catalog_dir), V("v24.05.01"), V("v24.07.01"))
    assert [str(v) for v in plan.versions] == ["v24.05.01", "v24.06.01", "v24.06.15", "v24.07.01"]
    assert all(hop.kind is StepKind.MINOR for hop in plan.hops)


def test_lands_on_newest_patch_of_intermediate_minor(tmp_path: Path) -> None:
    for version in ["v24.05.01", "v24.06.01", "v24.06.01.1", "v24.06.01.2", "v24.07.01"]:
        (tmp_path / f"jitera-helm-{version}.zip").write_bytes(b"")
    plan = plan_upgrade(load_catalog(tmp_path), V("v24.05.01"), V("v24.07.01"))
    assert [str(v) for v in plan.versions] == ["v24.05.01", "v24.06.01.2", "v24.07.01"]


def test_patch_target_is_one_hop(catalog_dir: Path) -> None:
    plan = plan_upgrade(load_catalog(catalog_dir), V("v24.05.01"), V("v24.05.01.1"))
    assert len(plan.hops) == 1
    assert plan.hops[0].kind is StepKind.PATCH


def test_downgrade_refused(catalog_dir: Path) -> None:
    with pytest.raises(PlanError, match="downgrade"):
        plan_upgrade(load_catalog(catalog_dir), V("v24.07.01"), V("v24.05.01"))


def test_same_version_refused(catalog_dir: Path) -> None:
    with pytest.raises(PlanError, match="nothing to do"):
        plan_upgrade(load_catalog(catalog_dir), V("v24.06.01"), V("v24.06.01"))


def test_unknown_version_suggests_nearest(catalog_dir: Path) -> None:
    with pytest.raises(PlanError) as info:
        plan_upgrade(load_catalog(catalog_dir), V("v24.05.01"), V("v24.06.10"))
    assert "v24.06.01" in str(info.value)
    assert "v24.06.15" in str(info.value)


def test_direct_jump_over_a_minor_refused_with_reason(catalog_dir: Path) -> None:
    with pytest.raises(PlanError) as info:
        plan_upgrade(load_catalog(catalog_dir), V("v24.05.01"), V("v24.07.01"), direct=True)
    message = str(info.value)
    assert "v24.06.01" in message
    assert "v24.06.15" in message
    assert "migrations" in message


def test_direct_jump_to_next_minor_allowed(catalog_dir: Path) -> None:
    plan = plan_upgrade(load_catalog(catalog_dir), V("v24.06.15"), V("v24.07.01"), direct=True)
    assert len(plan.hops) == 1


def test_index_with_missing_chart_names_it(tmp_path: Path) -> None:
    entries = [
        {"version": Version.parse(v).semver(), "appVersion": v, "urls": [f"jitera-helm-{v}.zip"]}
        for v in SERIES
    ]
    (tmp_path / "index.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "entries": {"jitera": entries}}))
    for v in SERIES:
        if v != "v24.06.15":
            (tmp_path / f"jitera-helm-{v}.zip").write_bytes(b"")
    catalog = load_catalog(tmp_path / "index.yaml")
    assert [str(v) for v in catalog.versions] == SERIES
    with pytest.raises(PlanError, match=r"v24\.06\.15.*missing|missing.*v24\.06\.15"):
        plan_upgrade(catalog, V("v24.05.01"), V("v24.07.01"))
    # A path that does not touch the missing chart still plans.
    assert plan_upgrade(catalog, V("v24.05.01"), V("v24.06.01")).hops


def test_index_semver_only_entries(tmp_path: Path) -> None:
    # Remote URLs are refused at load time (tests/test_catalog.py); a local package works.
    entries = [{"version": "24.501.0", "urls": ["jitera-24.501.0.tgz"]}, {"version": "24.601.0"}]
    (tmp_path / "index.yaml").write_text(yaml.safe_dump({"entries": {"jitera": entries}}))
    (tmp_path / "jitera-24.501.0.tgz").write_bytes(b"")
    catalog = load_catalog(tmp_path / "index.yaml")
    assert [str(v) for v in catalog.versions] == ["v24.05.01", "v24.06.01"]
    assert not catalog.releases[0].missing
    assert catalog.releases[1].missing


def test_folder_catalog_notes_misnamed_files(tmp_path: Path) -> None:
    (tmp_path / "jitera-helm-v24.05.01.zip").write_bytes(b"")
    (tmp_path / "jitera-helm-v24.5.1.zip").write_bytes(b"")
    (tmp_path / "other.zip").write_bytes(b"")
    catalog = load_catalog(tmp_path)
    assert [str(v) for v in catalog.versions] == ["v24.05.01"]
    assert any("v24.5.1" in w for w in catalog.warnings)
    assert any("other.zip" in w for w in catalog.warnings)


def test_missing_or_empty_source(tmp_path: Path) -> None:
    with pytest.raises(ChartError, match="not found"):
        load_catalog(tmp_path / "nope")
    with pytest.raises(ChartError, match="no jitera-helm"):
        load_catalog(tmp_path)
