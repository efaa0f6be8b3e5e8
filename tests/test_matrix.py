"""Matrix selection and sharding: which rehearsals run, and which CI job runs each."""

from __future__ import annotations

import pytest

from pytest_jitera.config import parse_starts_option
from pytest_jitera.errors import OptionError, VersionError
from pytest_jitera.fixtures.scheduling import ONE_PATH, case_of
from pytest_jitera.release.catalog import Catalog, Release
from pytest_jitera.release.matrix import (
    MatrixCase,
    MatrixError,
    is_matrix,
    matrix,
    parse_shard,
    select_starts,
    shard,
    split_starts,
    union_plan,
)
from pytest_jitera.release.planner import plan_upgrade
from pytest_jitera.release.versions import Version

SERIES = ("v24.05.01", "v24.05.01.1", "v24.06.01", "v24.07.01", "v24.08.01")
CATALOG = Catalog("charts/", tuple(Release(Version.parse(v), f"charts/{v}.zip") for v in SERIES))
TARGET = Version.parse("v24.08.01")


def _v(*texts: str) -> tuple[Version, ...]:
    return tuple(Version.parse(t) for t in texts)


def test_last_three_takes_the_newest_patch_of_each_minor_before_the_target() -> None:
    want = _v("v24.05.01.1", "v24.06.01", "v24.07.01")
    assert select_starts(CATALOG, TARGET, split_starts("last:3")) == want
    assert select_starts(CATALOG, TARGET, split_starts("last:1")) == _v("v24.07.01")


def test_a_list_and_a_window_mix_and_deduplicate() -> None:
    got = select_starts(CATALOG, TARGET, split_starts("v24.05.01, last:2,v24.07.01"))
    assert got == _v("v24.05.01", "v24.06.01", "v24.07.01")


def test_more_minors_than_exist_is_refused_with_the_count() -> None:
    too_many = r"last:4 asks for 4 minors before v24.08.01, but the catalog has 3"
    with pytest.raises(MatrixError, match=too_many) as caught:
        select_starts(CATALOG, TARGET, split_starts("last:4"))
    assert caught.value.hint == "use last:3 or fewer"
    with pytest.raises(MatrixError, match="selects nothing"):
        select_starts(CATALOG, TARGET, split_starts("last:0"))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("v24.05.01,,v24.06.01", "empty item"),
        ("", "empty item"),
        ("v24.09.01", "not a released version"),
        ("v24.08.01", "not older than the target"),
        ("24-05", "not a release version"),
    ],
)
def test_bad_start_versions_are_refused(spec: str, message: str) -> None:
    with pytest.raises(MatrixError, match=message):
        select_starts(CATALOG, TARGET, split_starts(spec))


def test_cases_carry_both_ends() -> None:
    cases = matrix(CATALOG, TARGET, ["last:2"])
    assert [c.label for c in cases] == ["v24.06.01=>v24.08.01", "v24.07.01=>v24.08.01"]


def test_shards_are_disjoint_complete_and_spread_the_longest_paths() -> None:
    cases = matrix(CATALOG, TARGET, split_starts("v24.05.01,last:3"))
    parts = [shard(cases, k, 3) for k in (1, 2, 3)]
    assert sorted(c for part in parts for c in part) == sorted(cases)
    assert all(len(part) >= 1 for part in parts)
    assert parts[0][0] == MatrixCase(Version.parse("v24.05.01"), TARGET)
    assert parts[1][0] == MatrixCase(Version.parse("v24.05.01.1"), TARGET)
    assert shard(cases, 1, 1) == list(cases)
    assert shard(cases, 5, 5) == []


@pytest.mark.parametrize("text", ["0/3", "4/3", "1/0", "a/b", "1-3", ""])
def test_bad_shards_are_refused(text: str) -> None:
    with pytest.raises(MatrixError):
        parse_shard(text)


def test_shard_parses() -> None:
    assert parse_shard(" 2/3 ") == (2, 3)


def test_one_release_is_a_path_a_list_or_a_window_is_a_matrix() -> None:
    assert not is_matrix(("v24.05.01",))
    assert is_matrix(("v24.05.01", "v24.06.01"))
    assert is_matrix(("last:1",))  # a window reads the same whatever it selects


def test_start_versions_are_normalized_and_checked_before_the_catalog_is_read() -> None:
    assert parse_starts_option(" v24.05.01 ,last:2", "from") == ("v24.05.01", "last:2")
    with pytest.raises(OptionError, match="has an empty item"):
        parse_starts_option("v24.05.01,,v24.06.01", "from")
    with pytest.raises(VersionError):
        parse_starts_option("v24.05.01,latest", "from")


def test_the_union_plan_holds_each_hop_once_oldest_first() -> None:
    plans = [plan_upgrade(CATALOG, start, TARGET) for start in _v("v24.07.01", "v24.05.01.1", "v24.06.01")]
    union = union_plan(plans)
    assert [f"{h.old.version}->{h.new.version}" for h in union.hops] == [
        "v24.05.01.1->v24.06.01", "v24.06.01->v24.07.01", "v24.07.01->v24.08.01",
    ]
    assert [str(r.version) for r in union.releases] == ["v24.05.01.1", "v24.06.01", "v24.07.01", "v24.08.01"]
    assert union.source == Version.parse("v24.05.01.1")


def test_releases_of_hops_that_are_not_one_chain_are_each_listed_once() -> None:
    plans = [plan_upgrade(CATALOG, start, TARGET) for start in _v("v24.05.01", "v24.05.01.1")]
    union = union_plan(plans)
    assert [str(r.version) for r in union.releases] == [
        "v24.05.01", "v24.05.01.1", "v24.06.01", "v24.07.01", "v24.08.01",
    ]


def test_the_scheduler_groups_a_test_id_by_its_case() -> None:
    assert case_of("suites/test_upgrade.py::test_hook[v24.05.01=>v24.08.01][v24.06.01->v24.07.01]") == (
        "v24.05.01=>v24.08.01"
    )
    assert case_of("suites/test_upgrade.py::test_installed[v24.07.01=>v24.08.01]") == "v24.07.01=>v24.08.01"
    # a one-path run is one unit of work, whatever its hop ids say
    assert case_of("suites/test_upgrade.py::test_hook[v24.05.01->v24.06.01]") == ONE_PATH
    assert case_of("suites/test_upgrade.py::test_source_release_installed") == ONE_PATH
