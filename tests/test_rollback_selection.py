"""Which rollback tests a rehearsal collects: per hop, per procedure, in runbook order.

The procedures come from each hop's classification (made without a cluster), so these tests
run ``--collect-only`` through pytester against the embedded reference stack, whose pairs have
known scenarios (``reference/expected.yaml``), and against small operator charts whose image
is read through a Docker stub. The pure parts are checked directly.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_jitera.charts.diff import ChartDiff
from pytest_jitera.decision.classify import Classification, Scenario
from pytest_jitera.decision.hop_classification import (
    classify_hops,
    demo_applies,
    forced_scenario,
    hop_label,
    merge_values,
    migration_image_reference,
    rollback_cases,
)
from pytest_jitera.decision.migrations.inventory import InventoryDiff
from pytest_jitera.decision.procedures import STRATEGIES, HopClassification, Procedure, procedures_for
from pytest_jitera.errors import JiteraError
from pytest_jitera.profile.model import ImageValues, MigrationImage, ValuesKey
from pytest_jitera.reference.build import build_reference
from pytest_jitera.release.catalog import Release
from pytest_jitera.release.planner import Hop
from pytest_jitera.release.versions import Version

P1, P2 = Procedure.HELM_ROLLBACK, Procedure.HELM_ROLLBACK_VERIFIED
NEW, IN_PLACE = Procedure.NEW_INSTANCE, Procedure.IN_PLACE
S1, S2, S3 = Scenario.PATCH_ROLLBACK, Scenario.FORWARD_COMPATIBLE, Scenario.INTEGRITY_RISK

SUITE = '''
import pytest

@pytest.mark.jitera_step("roll back and recover")
def test_rollback(jitera_rollback):
    pass

@pytest.mark.jitera_rollback_demo
@pytest.mark.jitera_step("Risk A done wrong: helm rollback alone")
def test_risk_a_wrong(jitera_hop):
    pass

@pytest.mark.jitera_step("apply the upgrade")
def test_apply(jitera_hop):
    pass
'''

PATCH = "v24.05.01->v24.05.01.1"
MINOR = "v24.05.01.1->v24.06.01"
RISKY = "v24.06.01->v24.07.01"


# --- the procedure table and the pure helpers ---------------------------------------------------


@pytest.mark.parametrize(
    ("classified", "forced", "strategy", "expected"),
    [
        (S1, None, "new-instance", (P1,)),
        (S2, None, "new-instance", (P2,)),
        (S3, None, "new-instance", (NEW,)),
        (S3, None, "in-place", (IN_PLACE,)),
        (S3, None, "both", (NEW, IN_PLACE)),
        # the strategy only picks among Scenario 3 procedures
        (S1, None, "both", (P1,)),
        (S2, None, "in-place", (P2,)),
        # a forced scenario replaces the verdict, in both directions
        (S1, S3, "new-instance", (NEW,)),
        (S1, S3, "both", (NEW, IN_PLACE)),
        (S3, S1, "both", (P1,)),
        (S3, S2, "new-instance", (P2,)),
    ],
)
def test_procedures_for_table(
    classified: Scenario, forced: Scenario | None, strategy: str, expected: tuple[Procedure, ...]
) -> None:
    assert procedures_for(classified, forced=forced, strategy=strategy) == expected


def test_procedures_for_refuses_an_unknown_strategy_on_scenario_3() -> None:
    with pytest.raises(ValueError, match="use one of new-instance, in-place, both"):
        procedures_for(S3, strategy="sideways")


def test_forced_scenario_reads_the_option() -> None:
    assert forced_scenario("auto") is None
    assert [forced_scenario(c) for c in ("1", "2", "3")] == [S1, S2, S3]


def test_merge_values_coalesces_like_helm() -> None:
    chart: dict[str, Any] = {
        "automation": {"image": {"repository": "jitera/automation", "tag": "v1"}, "replicas": 1},
        "extra": {"a": 1},
    }
    first = {"automation": {"image": {"repository": "mirror.example/automation"}}}
    second = {"automation": {"replicas": 3}, "extra": None}
    merged = merge_values(chart, [first, second])
    assert merged == {"automation": {"image": {"repository": "mirror.example/automation", "tag": "v1"},
                                     "replicas": 3}}
    assert chart["automation"]["image"]["repository"] == "jitera/automation", "inputs stay as they were"
    assert "extra" in chart


def _image(**spellings: tuple[tuple[Version | None, str], ...]) -> MigrationImage:
    keys = {name: ValuesKey(s) for name, s in spellings.items()}
    return MigrationImage("automation", ImageValues(**keys), "/app")


def test_image_reference_spells_keys_per_release_and_takes_the_operator_values() -> None:
    v2 = Version.parse("v24.06.01")
    image = _image(
        repository=((None, "automation.image.repository"), (v2, "automation.image.repo")),
        tag=((None, "automation.image.tag"),),
        registry=((None, "global.registry"),),
    )
    old_chart = {"automation": {"image": {"repository": "jitera/automation", "tag": "v24.05.01"}}}
    new_chart = {"automation": {"image": {"repo": "jitera/automation", "tag": "v24.06.01"}}}
    mirror = {"global": {"registry": "mirror.example/"}}
    assert (migration_image_reference(image, old_chart, [], Version.parse("v24.05.01"))
            == "jitera/automation:v24.05.01")
    assert (migration_image_reference(image, new_chart, [mirror], v2)
            == "mirror.example/jitera/automation:v24.06.01")


def test_image_reference_names_the_release_and_the_key_it_misses() -> None:
    image = _image(repository=((None, "automation.image.repository"),), tag=((None, "automation.image.tag"),))
    unrelated = {"image": {"repository": "x", "tag": "y"}}
    with pytest.raises(JiteraError) as info:
        migration_image_reference(image, unrelated, [], Version.parse("v24.06.01"))
    message, hint = info.value.render({"values": "--jitera-values", "rollback": "--jitera-rollback"})
    assert message.startswith("v24.06.01: cannot tell which automation image")
    assert "automation.image.repository" in message
    assert hint is not None
    assert "--jitera-values" in hint
    assert "--jitera-rollback=none" in hint


def _release(version: str) -> Release:
    return Release(Version.parse(version), f"/charts/jitera-helm-{version}.zip")


def _verdict(scenario: Scenario) -> Classification:
    return Classification(scenario, (), None, InventoryDiff((), ()), (), {}, ())


def test_classify_hops_runs_in_plan_order_with_the_run_settings() -> None:
    a, b, c = _release("v24.05.01"), _release("v24.06.01"), _release("v24.07.01")
    hops = [Hop(a, b), Hop(b, c)]
    verdicts = {("v24.05.01", "v24.06.01"): S2, ("v24.06.01", "v24.07.01"): S3}
    calls: list[tuple[Any, ...]] = []

    def classify(old: Path, new: Path, **kwargs: Any) -> Classification:
        calls.append((old.name, new.name, kwargs["chart"], kwargs["writes_during_rollback"],
                      kwargs["full_consistency"]))
        return _verdict(verdicts[(old.name, new.name)])

    def chart_diff(hop: Hop) -> ChartDiff | None:
        return None

    table = classify_hops(
        hops, app_tree=lambda r: Path("/trees") / str(r.version), chart_diff=chart_diff,
        full_consistency=True, strategy="both", classify=classify,
    )
    assert list(table) == ["v24.05.01->v24.06.01", "v24.06.01->v24.07.01"]
    assert calls == [
        ("v24.05.01", "v24.06.01", None, False, True), ("v24.06.01", "v24.07.01", None, False, True)
    ]
    assert table["v24.05.01->v24.06.01"].procedures == (P2,)
    assert table["v24.06.01->v24.07.01"].procedures == (NEW, IN_PLACE)
    assert table["v24.06.01->v24.07.01"].hop == "v24.06.01->v24.07.01"

    forced = classify_hops(hops, app_tree=lambda r: Path(str(r.version)), chart_diff=chart_diff,
                           forced=S1, classify=classify)
    assert [(h.scenario, h.classification.scenario, h.procedures) for h in forced.values()] == [
        (S1, S2, (P1,)), (S1, S3, (P1,))
    ]

    cases = rollback_cases(hops, table)
    assert [case.id for case in cases] == [
        "v24.05.01->v24.06.01-scenario2-helm-rollback",
        "v24.06.01->v24.07.01-scenario3-new-instance",
        "v24.06.01->v24.07.01-scenario3-in-place",
    ]
    assert cases[2].hop == hops[1]
    assert cases[2].classification is table["v24.06.01->v24.07.01"]


def test_demo_applies_only_to_a_scenario_3_hop_of_the_reference_stack_with_both() -> None:
    hop = hop_label(Hop(_release("v24.06.01"), _release("v24.07.01")))
    risky = HopClassification(hop, _verdict(S3), (NEW, IN_PLACE))
    asked: list[str] = []

    def classified(verdict: HopClassification | None) -> Callable[[], HopClassification | None]:
        def get() -> HopClassification | None:
            asked.append(hop)
            return verdict
        return get

    assert demo_applies(classified(risky), rollback="auto", strategy="both", reference_stack=True)
    assert not demo_applies(classified(HopClassification(hop, _verdict(S2), (P2,))),
                            rollback="auto", strategy="both", reference_stack=True)
    assert not demo_applies(classified(None), rollback="auto", strategy="both", reference_stack=True)
    asked.clear()
    for rollback, strategy, reference in (("none", "both", True), ("auto", "in-place", True),
                                          ("auto", "both", False)):
        assert not demo_applies(classified(risky), rollback=rollback, strategy=strategy,
                                reference_stack=reference)
    assert asked == [], "settings that rule the demonstrations out classify nothing"


def test_strategy_choices_are_the_procedure_table() -> None:
    from pytest_jitera.config import SETTINGS

    (strategy,) = [s for s in SETTINGS if s.name == "rollback-strategy"]
    assert strategy.choices == tuple(STRATEGIES)


# --- collection on the embedded reference stack -------------------------------------------------


def _collect_only(pytester: pytest.Pytester) -> list[str]:
    """Collect the fake suite (explicitly: a rehearsal without paths runs the shipped suites)."""
    pytester.makepyfile(test_suite=SUITE)
    report = f"--jitera-report={pytester.path / 'r'}"
    return ["test_suite.py", "--collect-only", "-q", "--jitera-no-cluster", report]


def _collect(pytester: pytest.Pytester, *args: str) -> list[str]:
    """The ids ``--collect-only -q`` lists, in the order the run would execute them."""
    result = pytester.runpytest(*_collect_only(pytester), *args)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()
    return [line.split("::", 1)[1] for line in result.stdout.lines if line.startswith("test_suite.py::")]


def test_patch_hop_gets_a_plain_helm_rollback(pytester: pytest.Pytester) -> None:
    assert _collect(pytester, "--jitera-from=v24.05.01", "--jitera-to=v24.05.01.1") == [
        f"test_apply[{PATCH}]",
        f"test_rollback[{PATCH}-scenario1-helm-rollback]",
    ]


def test_each_hop_gets_its_own_scenario_in_runbook_order(pytester: pytest.Pytester) -> None:
    # the rollback file's tests come first in the file; each case still runs after its hop's upgrade
    assert _collect(pytester, "--jitera-from=v24.05.01.1", "--jitera-to=v24.07.01") == [
        f"test_apply[{MINOR}]",
        f"test_rollback[{MINOR}-scenario2-helm-rollback]",
        f"test_apply[{RISKY}]",
        f"test_rollback[{RISKY}-scenario3-new-instance]",
    ]


def test_both_strategies_and_the_demonstrations_on_the_scenario_3_hop(pytester: pytest.Pytester) -> None:
    assert _collect(
        pytester, "--jitera-from=v24.05.01.1", "--jitera-to=v24.07.01", "--jitera-rollback-strategy=both"
    ) == [
        f"test_apply[{MINOR}]",
        f"test_rollback[{MINOR}-scenario2-helm-rollback]",
        f"test_apply[{RISKY}]",
        f"test_rollback[{RISKY}-scenario3-new-instance]",
        f"test_rollback[{RISKY}-scenario3-in-place]",
        f"test_risk_a_wrong[{RISKY}]",
    ]


def test_in_place_strategy_alone_keeps_no_demonstration(pytester: pytest.Pytester) -> None:
    ids = _collect(pytester, "--jitera-from=v24.06.01", "--jitera-to=v24.07.01",
                   "--jitera-rollback-strategy=in-place")
    assert ids == [f"test_apply[{RISKY}]", f"test_rollback[{RISKY}-scenario3-in-place]"]


def test_forced_scenario_3_on_the_patch_hop(pytester: pytest.Pytester) -> None:
    ids = _collect(pytester, "--jitera-from=v24.05.01", "--jitera-to=v24.05.01.1", "--jitera-scenario=3")
    assert ids == [f"test_apply[{PATCH}]", f"test_rollback[{PATCH}-scenario3-new-instance]"]


def test_forced_scenario_3_shows_no_risk_the_patch_hop_does_not_have(pytester: pytest.Pytester) -> None:
    ids = _collect(pytester, "--jitera-from=v24.05.01", "--jitera-to=v24.05.01.1", "--jitera-scenario=3",
                   "--jitera-rollback-strategy=both")
    assert ids == [f"test_apply[{PATCH}]", f"test_rollback[{PATCH}-scenario3-new-instance]",
                   f"test_rollback[{PATCH}-scenario3-in-place]"]


def test_rollback_none_collects_no_rollback_and_no_demonstration(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        *_collect_only(pytester), "--jitera-from=v24.05.01.1", "--jitera-to=v24.07.01",
        "--jitera-rollback=none", "--jitera-rollback-strategy=both",
    )
    assert result.ret == pytest.ExitCode.OK
    ids = [line for line in result.stdout.lines if line.startswith("test_suite.py::")]
    assert ids == [f"test_suite.py::test_apply[{MINOR}]", f"test_suite.py::test_apply[{RISKY}]"]
    # one rollback placeholder and a demonstration per hop exist, deselected, not skipped
    result.stdout.fnmatch_lines(["2/5 tests collected (3 deselected)*"])


@pytest.mark.parametrize("flag", ["--jitera-writes-during-rollback", "--jitera-full-consistency"])
def test_writes_or_consistency_lift_the_minor_hop_to_scenario_3(pytester: pytest.Pytester, flag: str) -> None:
    ids = _collect(pytester, "--jitera-from=v24.05.01.1", "--jitera-to=v24.06.01", flag)
    assert ids == [f"test_apply[{MINOR}]", f"test_rollback[{MINOR}-scenario3-new-instance]"]


def test_without_a_plan_a_rollback_test_is_one_skipped_case(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=3)
    result.stdout.fnmatch_lines(["*no upgrade requested: pass --jitera-from and --jitera-to*"])
    listed = pytester.runpytest("--collect-only", "-q")
    assert "test_suite.py::test_rollback[no-plan]" in listed.stdout.lines


def test_hop_classification_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_scenarios="""
        def test_scenarios(jitera_plan, jitera_hop_classification):
            got = {str(h.new.version): jitera_hop_classification(h) for h in jitera_plan.hops}
            assert int(got["v24.06.01"].scenario) == 2
            assert int(got["v24.07.01"].scenario) == 3
            assert [p.value for p in got["v24.07.01"].procedures] == ["scenario3-in-place"]
            assert got["v24.07.01"].hop == "v24.06.01->v24.07.01"
            # the verdict keeps its evidence: the column the old controller still reads
            assert any("legacy_notes" in r.text for r in got["v24.07.01"].classification.reasons)
        """
    )
    result = pytester.runpytest(
        "test_scenarios.py", "--jitera-no-cluster", "--jitera-from=v24.05.01.1", "--jitera-to=v24.07.01",
        "--jitera-rollback-strategy=in-place", f"--jitera-report={pytester.path / 'r'}",
    )
    result.assert_outcomes(passed=1)


def _assert_one_usage_error(result: pytest.RunResult, *patterns: str) -> None:
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(list(patterns))
    assert len([line for line in result.stderr.lines if line.strip()]) <= 3, result.stderr.str()
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("--jitera-scenario=4", "*--jitera-scenario: '4' is not one of auto, 1, 2, 3"),
        ("--jitera-rollback-strategy=sideways",
         "*--jitera-rollback-strategy: 'sideways' is not one of new-instance, in-place, both"),
        ("--jitera-rollback=never", "*--jitera-rollback: 'never' is not one of auto, none"),
    ],
)
def test_a_bad_choice_is_one_usage_error(pytester: pytest.Pytester, option: str, expected: str) -> None:
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest("test_suite.py", "--jitera-from=v24.05.01", "--jitera-to=v24.05.01.1", option)
    _assert_one_usage_error(result, f"ERROR: pytest-jitera: {expected.lstrip('*')}", "*hint: use one of*")


def test_help_shows_the_choices(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines([
        "*--jitera-scenario=auto|1|2|3*",
        "*--jitera-rollback-strategy=new-instance|in-place|both*",
        "*--jitera-skip-second-scale-down*",
    ])


# --- operator charts: the image named by the chart's values, read through Docker ----------------


def _docker_stub(folder: Path, trees: Path) -> Path:
    """``docker create`` names the container after the image; ``docker cp`` copies from ``trees``."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "docker"
    script.write_text(f"""#!/bin/sh
echo "$@" >> {folder / 'docker.log'}
case "$1" in
  create)
    id=$(echo "$6" | tr '/:' '__')
    [ -d "{trees}/$id" ] || {{ echo "Unable to find image '$6' locally" >&2; exit 125; }}
    echo "$id" ;;
  cp)
    id="${{2%%:*}}"; src="${{2#*:}}"
    [ -e "{trees}/$id$src" ] || {{ echo "Could not find the file $src in container $id" >&2; exit 1; }}
    cp -R "{trees}/$id$src" "$3" ;;
  rm) echo "$3" ;;
  *) exit 2 ;;
esac
""")
    script.chmod(0o755)
    return folder


@pytest.fixture
def operator_catalog(make_chart: Callable[..., Path], tmp_path: Path) -> Path:
    """Charts whose values name the automation image where the reference profile looks for it."""
    folder = tmp_path / "operator-catalog"
    folder.mkdir()
    for version in ("v24.05.01.1", "v24.06.01"):
        values = {"automation": {"image": {"repository": "jitera/automation", "tag": version}}}
        shutil.move(make_chart(version, values=values, zipped=True), folder / f"jitera-helm-{version}.zip")
    return folder


@pytest.fixture
def docker_with_images(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Docker stub first on PATH that holds the mirrored automation images of two releases."""
    built = build_reference(tmp_path / "ref", versions=["v24.05.01.1", "v24.06.01"])
    trees = tmp_path / "images"
    for release in built.releases:
        image_id = f"mirror.example_jitera_automation_{release.version}"
        shutil.copytree(release.trees["automation"], trees / image_id / "app")
    stubs = _docker_stub(tmp_path / "stubs", trees)
    monkeypatch.setenv("PATH", f"{stubs}{os.pathsep}{os.environ['PATH']}")
    return stubs


def _mirror_values(pytester: pytest.Pytester) -> Path:
    values = pytester.path / "mirror.yaml"
    mirror = {"automation": {"image": {"repository": "mirror.example/jitera/automation"}}}
    values.write_text(yaml.safe_dump(mirror))
    return values


def test_operator_charts_are_classified_from_their_images(
    pytester: pytest.Pytester, operator_catalog: Path, docker_with_images: Path
) -> None:
    ids = _collect(
        pytester, "--jitera-from=v24.05.01.1", "--jitera-to=v24.06.01", f"--jitera-charts={operator_catalog}",
        f"--jitera-values={_mirror_values(pytester)}",
    )
    assert ids == [f"test_apply[{MINOR}]", f"test_rollback[{MINOR}-scenario2-helm-rollback]"]
    log = (docker_with_images / "docker.log").read_text().splitlines()
    created = [line.split()[-2] for line in log if line.startswith("create")]
    assert created == [f"mirror.example/jitera/automation:{v}" for v in ("v24.05.01.1", "v24.06.01")]
    assert sum(line.startswith("rm") for line in log) == 2, "every container is removed"


def test_an_image_docker_cannot_read_is_one_usage_error(
    pytester: pytest.Pytester, operator_catalog: Path, docker_with_images: Path
) -> None:
    # without the mirror values the chart names jitera/automation, which the stub does not hold
    result = pytester.runpytest(
        *_collect_only(pytester), "--jitera-from=v24.05.01.1", "--jitera-to=v24.06.01",
        f"--jitera-charts={operator_catalog}",
    )
    _assert_one_usage_error(
        result,
        "ERROR: pytest-jitera: cannot classify the rollback of v24.05.01.1: cannot read v24.05.01.1 image "
        "'jitera/automation:v24.05.01.1': docker create failed",
        "*hint: the automation image jitera/automation:v24.05.01.1 must be in the local Docker image "
        "store*--jitera-rollback=none*",
    )
    assert not (pytester.path / "r" / "summary.json").exists(), "a run stopped before its tests has no report"


def test_operator_charts_without_the_image_keys(
    pytester: pytest.Pytester, charts: Path
) -> None:
    args = [*_collect_only(pytester), "--jitera-from=v24.05.01", "--jitera-to=v24.05.01.1",
            f"--jitera-charts={charts}"]
    _assert_one_usage_error(
        pytester.runpytest(*args),
        "ERROR: pytest-jitera: v24.05.01: cannot tell which automation image to read the migrations "
        "from: the chart values set no automation.image.repository*",
        "*hint: set it in a --jitera-values file*--jitera-rollback=none rehearses the upgrade*",
    )
    # the upgrade alone needs no classification, so it needs neither the image nor Docker
    alone = pytester.runpytest(*args, "--jitera-rollback=none")
    assert alone.ret == pytest.ExitCode.OK, alone.stderr.str()
    assert [line for line in alone.stdout.lines if "::" in line] == [
        "test_suite.py::test_apply[v24.05.01->v24.05.01.1]"
    ]
    # a step that needs the classification does not exist in such a run (a skipped step would
    # fail the report); one that asks for it at run time is skipped with the reason
    pytester.makepyfile(test_asks="""
def test_declares(jitera_hop, jitera_hop_classification):
    pass

def test_asks_late(jitera_hop, request):
    request.getfixturevalue("jitera_hop_classification")
""")
    rehearsal = args[3:]  # the same rehearsal, run instead of collected
    asked = pytester.runpytest("test_asks.py", "-rs", *rehearsal, "--jitera-rollback=none")
    asked.assert_outcomes(skipped=1, deselected=1)
    asked.stdout.fnmatch_lines(["*--jitera-rollback=none: the upgrade is rehearsed alone*"])
