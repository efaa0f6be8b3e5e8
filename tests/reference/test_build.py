"""The series builds into runbook-shaped zips that agree with expected.yaml."""

from __future__ import annotations

import itertools
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_jitera import cli
from pytest_jitera.reference.build import BuildResult, ReleaseBuild, build_reference
from pytest_jitera.reference.series import load_series
from pytest_jitera.release.versions import Version

VERSIONS = ["v24.05.01", "v24.05.01.1", "v24.06.01", "v24.07.01", "v24.08.01"]


def _flat_keys(values: Any, prefix: str = "") -> set[str]:
    if not isinstance(values, dict):
        return {prefix}
    keys: set[str] = set()
    for key, value in values.items():
        keys |= _flat_keys(value, f"{prefix}.{key}" if prefix else str(key))
    return keys


def _flat_values(values: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(values, dict):
        return {prefix: values}
    out: dict[str, Any] = {}
    for key, value in values.items():
        out.update(_flat_values(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _changed_templates(old: Path, new: Path) -> list[str]:
    prefix = "charts/jitera/templates/"
    with zipfile.ZipFile(old) as a, zipfile.ZipFile(new) as b:
        common = {n for n in a.namelist() if n.startswith(prefix)} & set(b.namelist())
        return sorted(n.removeprefix(prefix) for n in common if a.read(n) != b.read(n))


def _zip_yaml(zip_path: Path, name: str) -> Any:
    with zipfile.ZipFile(zip_path) as archive:
        return yaml.safe_load(archive.read(f"charts/jitera/{name}"))


def _templates(zip_path: Path) -> set[str]:
    prefix = "charts/jitera/templates/"
    with zipfile.ZipFile(zip_path) as archive:
        return {n.removeprefix(prefix) for n in archive.namelist() if n.startswith(prefix)}


def test_series_is_the_documented_one() -> None:
    assert [str(r.version) for r in load_series().releases] == VERSIONS


def test_every_release_has_a_zip_with_the_chart_at_charts_jitera(
    reference_build: BuildResult,
) -> None:
    assert [str(r.version) for r in reference_build.releases] == VERSIONS
    for release in reference_build.releases:
        assert release.zip_path.name == f"jitera-helm-{release.version}.zip"
        with zipfile.ZipFile(release.zip_path) as archive:
            names = archive.namelist()
        assert "charts/jitera/Chart.yaml" in names
        assert "charts/jitera/values.yaml" in names
        assert all(n.startswith("charts/jitera/") for n in names)


def test_chart_versions_are_semver_and_map_back_to_the_release(
    releases: dict[str, ReleaseBuild], expected: dict[str, Any]
) -> None:
    for version, release in releases.items():
        chart = _zip_yaml(release.zip_path, "Chart.yaml")
        assert chart["appVersion"] == version
        assert chart["version"] == expected["releases"][version]["chart_version"]
        assert Version.from_semver(chart["version"]) == Version.parse(version)


def test_image_tags_are_the_release_string(releases: dict[str, ReleaseBuild]) -> None:
    for version, release in releases.items():
        values = _zip_yaml(release.zip_path, "values.yaml")
        for component in ("automation", "ultron", "studio"):
            assert values[component]["image"]["tag"] == version
        assert values["imagePullPolicy"] == "IfNotPresent"


def test_migrations_per_release_match_expected(
    releases: dict[str, ReleaseBuild], expected: dict[str, Any]
) -> None:
    for version, release in releases.items():
        want = expected["releases"][version]
        assert list(release.schema_versions) == want["schema_migrations"], version
        assert list(release.data_versions) == want["data_migrations"], version


def test_pairs_match_expected(releases: dict[str, ReleaseBuild], expected: dict[str, Any]) -> None:
    pairs = [(p["from"], p["to"]) for p in expected["pairs"]]
    assert pairs == list(itertools.pairwise(VERSIONS))
    for pair in expected["pairs"]:
        old, new = releases[pair["from"]], releases[pair["to"]]
        assert sorted(set(new.schema_versions) - set(old.schema_versions)) == pair["new_schema_migrations"]
        assert sorted(set(new.data_versions) - set(old.data_versions)) == pair["new_data_migrations"]
        old_keys = _flat_keys(_zip_yaml(old.zip_path, "values.yaml"))
        new_keys = _flat_keys(_zip_yaml(new.zip_path, "values.yaml"))
        assert sorted(new_keys - old_keys) == pair["chart"]["values_keys_added"]
        assert sorted(old_keys - new_keys) == pair["chart"]["values_keys_removed"]
        assert sorted(_templates(new.zip_path) - _templates(old.zip_path)) == pair["chart"]["templates_added"]
        assert (
            sorted(_templates(old.zip_path) - _templates(new.zip_path)) == pair["chart"]["templates_removed"]
        )
        assert _changed_templates(old.zip_path, new.zip_path) == pair["chart"]["templates_changed"]
        old_values = _flat_values(_zip_yaml(old.zip_path, "values.yaml"))
        new_values = _flat_values(_zip_yaml(new.zip_path, "values.yaml"))
        values_changed = sorted(
            k for k in old_values.keys() & new_values.keys() if old_values[k] != new_values[k]
        )
        assert values_changed == pair["chart"]["values_changed"]
        only_tags = (
            not pair["chart"]["templates_changed"]
            and not pair["chart"]["templates_added"]
            and not pair["chart"]["templates_removed"]
            and old_values.keys() == new_values.keys()
            and all(k.endswith(".image.tag") for k in values_changed)
        )
        assert only_tags == pair["chart"]["only_image_tags_changed"]
        if pair["scenario"] == 1:
            assert not pair["new_schema_migrations"]
            assert not pair["new_data_migrations"]


def test_scenario_three_pair_names_all_three_risks(expected: dict[str, Any]) -> None:
    pair = next(p for p in expected["pairs"] if p["to"] == "v24.07.01")
    assert pair["scenario"] == 3
    assert [r["id"] for r in pair["risks"]] == ["A", "B", "C"]


def test_a_released_migration_never_changes_later(releases: dict[str, ReleaseBuild]) -> None:
    seen: dict[str, bytes] = {}
    for release in releases.values():
        for kind in ("migrate", "data"):
            for path in sorted((release.trees["automation"] / "db" / kind).glob("*.rb")):
                content = path.read_bytes()
                assert seen.setdefault(f"{kind}/{path.name}", content) == content, path


def test_dropped_table_is_read_only_by_the_admin_task_before_the_drop(
    releases: dict[str, ReleaseBuild],
) -> None:
    old = releases["v24.05.01.1"].trees["automation"]
    readers = sorted(
        str(p.relative_to(old))
        for p in old.rglob("*")
        if p.is_file()
        and "db" not in p.relative_to(old).parts[:1]
        and (
            "LegacyReport" in p.read_text(errors="ignore") or "legacy_reports" in p.read_text(errors="ignore")
        )
    )
    assert readers == ["app/models/legacy_report.rb", "lib/tasks/legacy_reports.rake"]
    new = releases["v24.06.01"].trees["automation"]
    assert not (new / "lib/tasks/legacy_reports.rake").exists()


def test_ultron_expects_the_release_schema_version(releases: dict[str, ReleaseBuild]) -> None:
    for release in releases.values():
        text = (release.trees["chart"] / "templates" / "ultron.yaml").read_text()
        assert f'value: "{release.schema_versions[-1]}"' in text


def test_build_is_byte_for_byte_reproducible(tmp_path: Path, reference_build: BuildResult) -> None:
    again = build_reference(tmp_path / "again", versions=["v24.07.01"])
    first = next(r for r in reference_build.releases if str(r.version) == "v24.07.01")
    assert again.releases[0].zip_path.read_bytes() == first.zip_path.read_bytes()


def test_cli_builds_the_series(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["build-reference", "--out", str(tmp_path), "--release", "v24.06.01"]) == 0
    assert (tmp_path / "jitera-helm-v24.06.01.zip").is_file()
    assert "v24.06.01\tchart 24.601.0" in capsys.readouterr().out


def test_cli_air_gapped_needs_images(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["build-reference", "--out", str(tmp_path), "--air-gapped"]) == 2
    assert "add --images" in capsys.readouterr().err


def test_unknown_release_is_refused_with_the_known_list(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="not in the reference series") as info:
        build_reference(tmp_path, versions=["v24.09.01"])
    assert "v24.08.01" in str(info.value)
