"""Admin tasks in the product profile: what the reference names exists, a bad entry is refused clearly."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_jitera.cluster.tools import find_tools
from pytest_jitera.errors import InputError, JiteraError, ToolError
from pytest_jitera.profile import REFERENCE_PROFILE, AdminTask, WorkloadRef, load_profile, parse_profile
from pytest_jitera.reference import EXPECTED_MANIFEST
from pytest_jitera.reference.build import ReleaseBuild, build_reference
from pytest_jitera.release.versions import Version
from pytest_jitera.runner import session_runner

SERIES = ("v24.05.01", "v24.05.01.1", "v24.06.01", "v24.07.01", "v24.08.01")
TASK = "legacy-reports"


def _reference_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(REFERENCE_PROFILE.read_text())
    return data


def _with_task(**changes: Any) -> dict[str, Any]:
    """The reference profile with the admin task's fields changed (None deletes one)."""
    data = _reference_data()
    task = data["admin_tasks"][TASK]
    for key, value in changes.items():
        if value is None:
            task.pop(key, None)
        else:
            task[key] = value
    return data


# ----------------------------------------------------------------- the shipped profile


def test_shipped_profile_names_the_legacy_reports_task() -> None:
    profile = load_profile(REFERENCE_PROFILE)
    task = profile.admin_task(TASK)
    assert profile.admin_tasks == (task,)
    assert task.workload == WorkloadRef("Deployment", "jitera-automation")
    assert task.container == "automation"
    assert task.command == ("bin/rails", "admin:legacy_reports")
    assert task.uses == ("legacy_reports",)
    assert (task.added_in, task.removed_in) == (None, Version.parse("v24.06.01"))
    assert task.title.startswith("Legacy reports")


def test_the_task_follows_the_release_name() -> None:
    task = load_profile(REFERENCE_PROFILE, release="rehearsal-gw0").admin_task(TASK)
    assert task.workload.ref == "deployment/rehearsal-gw0-automation"


def test_the_task_exists_exactly_where_the_rake_file_does(
    reference_trees: dict[str, ReleaseBuild],
) -> None:
    task = load_profile(REFERENCE_PROFILE).admin_task(TASK)
    namespace, name = task.command[1].split(":")
    for version, release in reference_trees.items():
        rakefiles = (release.trees["automation"] / "lib" / "tasks").glob("*.rake")
        defined = any(
            f"namespace :{namespace} do" in text and re.search(rf"\btask {name}\b", text)
            for text in (path.read_text() for path in rakefiles)
        )
        assert defined == task.exists_at(Version.parse(version)), version


def test_the_expected_finding_is_exactly_the_scenario_2_hop() -> None:
    """uses matches what expected.yaml says each hop drops: only v24.06.01 breaks the task."""
    task = load_profile(REFERENCE_PROFILE).admin_task(TASK)
    pairs = yaml.safe_load(EXPECTED_MANIFEST.read_text())["pairs"]
    broken = {}
    for pair in pairs:
        dropped = [op["object"] for op in pair["destructive_operations"]]
        broken[(pair["from"], pair["to"])] = task.dropped_uses(dropped)
    assert broken == {
        ("v24.05.01", "v24.05.01.1"): (),
        ("v24.05.01.1", "v24.06.01"): ("legacy_reports",),
        ("v24.06.01", "v24.07.01"): (),
        ("v24.07.01", "v24.08.01"): (),
    }
    scenario_2 = next(p for p in pairs if p["to"] == "v24.06.01")
    (operation,) = scenario_2["destructive_operations"]
    assert "rake " + task.command[1] in operation["failure_after_helm_rollback"]


@pytest.fixture(scope="module")
def reference_trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ReleaseBuild]:
    built = build_reference(tmp_path_factory.mktemp("admin-task-reference"))
    return {str(release.version): release for release in built.releases}


@pytest.fixture(scope="module")
def helm() -> str:
    try:
        tools = find_tools(
            session_runner(), ("helm",), cache_bin=Path.home() / ".cache" / "pytest-jitera" / "bin"
        )
    except ToolError as exc:
        pytest.skip(f"helm is needed to render the reference chart: {exc.message}")
    return tools["helm"]


@pytest.mark.parametrize("version", SERIES)
def test_the_task_workload_and_container_are_rendered(
    helm: str, reference_trees: dict[str, ReleaseBuild], version: str
) -> None:
    task = load_profile(REFERENCE_PROFILE).admin_task(TASK)
    done = session_runner().run(
        [helm, "template", "jitera", str(reference_trees[version].trees["chart"])], timeout=120
    )
    docs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(done.stdout) if d}
    workload = docs[(task.workload.kind, task.workload.name)]
    containers = {c["name"]: c for c in workload["spec"]["template"]["spec"]["containers"]}
    assert task.container in containers
    assert containers[task.container]["image"] == f"jitera/automation:{version}"


# ----------------------------------------------------------------- the model


def _task(**fields: Any) -> AdminTask:
    base: dict[str, Any] = {
        "name": "t",
        "title": "t",
        "workload": WorkloadRef("Deployment", "api"),
        "command": ("bin/rails", "x:y"),
    }
    return AdminTask(**{**base, **fields})


@pytest.mark.parametrize(
    ("uses", "dropped", "gone"),
    [
        (("legacy_reports",), ["legacy_reports"], ("legacy_reports",)),
        (("projects.legacy_notes",), ["projects.legacy_notes"], ("projects.legacy_notes",)),
        (("projects.legacy_notes",), ["projects"], ("projects.legacy_notes",)),  # the table took it
        (("projects",), ["projects.legacy_notes"], ()),  # a dropped column is not the table
        (("Legacy_Reports",), ["legacy_reports"], ("Legacy_Reports",)),
        (("invoices", "customers.vat_id"), ["customers.vat_id", "other"], ("customers.vat_id",)),
        ((), ["legacy_reports"], ()),
    ],
)
def test_dropped_uses(uses: tuple[str, ...], dropped: list[str], gone: tuple[str, ...]) -> None:
    assert _task(uses=uses).dropped_uses(dropped) == gone


def test_exists_at_honours_added_in_and_removed_in() -> None:
    task = _task(added_in=Version.parse("v24.05.01.1"), removed_in=Version.parse("v24.07.01"))
    assert [task.exists_at(Version.parse(v)) for v in SERIES] == [False, True, True, False, False]
    assert _task().exists_at(Version.parse("v30.01.01"))


def test_an_unknown_task_name_lists_the_known_ones() -> None:
    with pytest.raises(JiteraError, match="has no admin task 'nightly'") as info:
        load_profile(REFERENCE_PROFILE).admin_task("nightly")
    assert info.value.hint == "it has: legacy-reports"


# ----------------------------------------------------------------- loading


def test_admin_tasks_are_optional() -> None:
    data = _reference_data()
    del data["admin_tasks"]
    assert parse_profile(data, "profile.yaml").admin_tasks == ()
    data["admin_tasks"] = {}
    assert parse_profile(data, "profile.yaml").admin_tasks == ()
    data["admin_tasks"] = None
    assert parse_profile(data, "profile.yaml").admin_tasks == ()


def test_the_smallest_task_takes_the_defaults() -> None:
    data = _reference_data()
    data["admin_tasks"] = {
        "reindex": {"workload": "sts/${release}-indexer", "command": ["bin/reindex", "--all"]}
    }
    (task,) = parse_profile(data, "profile.yaml").admin_tasks
    assert task == AdminTask(
        name="reindex",
        title="reindex",
        workload=WorkloadRef("StatefulSet", "jitera-indexer"),
        command=("bin/reindex", "--all"),
    )


def test_a_task_keeps_its_own_copy_of_the_data() -> None:
    data = _reference_data()
    profile = parse_profile(data, "profile.yaml")
    before = copy.deepcopy(profile.admin_tasks)
    data["admin_tasks"][TASK]["command"].append("extra")
    assert profile.with_release("jitera").admin_tasks == before


INVALID: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "missing-workload",
        {"workload": None},
        "admin_tasks.legacy-reports.workload: missing; expected a workload as Kind/name",
        "add `workload: Deployment/${release}-api`",
    ),
    (
        "workload-bad-kind",
        {"workload": "Job/${release}-automation"},
        "admin_tasks.legacy-reports.workload: expected a workload as Kind/name (Deployment or StatefulSet), "
        "got the kind 'Job'",
        "only Deployments and StatefulSets",
    ),
    (
        "missing-command",
        {"command": None},
        "admin_tasks.legacy-reports.command: missing; expected a command as a non-empty list of strings",
        'add `command: ["bin/rails", "admin:legacy_reports"]`',
    ),
    (
        "command-as-a-string",
        {"command": "bin/rails admin:legacy_reports --trace"},
        "admin_tasks.legacy-reports.command: expected a command as a non-empty list of strings "
        "(run without a shell), got a string ('bin/rails admin:legacy_reports --trace')",
        'like `command: ["bin/rails", "admin:legacy_reports", "--trace"]`',
    ),
    (
        "empty-command",
        {"command": []},
        "admin_tasks.legacy-reports.command: expected a command as a non-empty list of strings "
        "(run without a shell), got a list",
        "write it like `command: [",
    ),
    (
        "command-word-is-a-number",
        {"command": ["bin/rails", "admin:legacy_reports", 10]},
        "admin_tasks.legacy-reports.command[2]: expected a word of the command (a non-empty string), "
        "got a number (10)",
        'e.g. "10"',
    ),
    (
        "uses-is-a-string",
        {"uses": "legacy_reports"},
        "admin_tasks.legacy-reports.uses: expected a list of tables or table.column names, "
        "got a string ('legacy_reports')",
        "write it like `uses: [legacy_reports]`",
    ),
    (
        "uses-bad-name",
        {"uses": ["legacy reports"]},
        "admin_tasks.legacy-reports.uses[0]: expected a table or table.column name (an unquoted SQL name), "
        "got a string ('legacy reports')",
        "projects.legacy_notes",
    ),
    (
        "uses-three-parts",
        {"uses": ["public.projects.legacy_notes"]},
        "admin_tasks.legacy-reports.uses[0]: expected a table or table.column name",
        "legacy_reports",
    ),
    (
        "removed-in-not-a-release",
        {"removed_in": "v24.6"},
        "admin_tasks.legacy-reports.removed_in: expected a release like v24.06.01: ",
        "write it like `removed_in: v24.06.01`",
    ),
    (
        "removed-in-a-number",
        {"removed_in": 24.06},
        "admin_tasks.legacy-reports.removed_in: expected a release like v24.06.01 (string), got a number",
        "removed_in: v24.06.01",
    ),
    (
        "removed-before-added",
        {"added_in": "v24.06.01", "removed_in": "v24.05.01"},
        "admin_tasks.legacy-reports.removed_in: expected a release after added_in (v24.06.01), "
        "got a string ('v24.05.01')",
        "no longer has the task",
    ),
    (
        "bad-container",
        {"container": "Automation"},
        "admin_tasks.legacy-reports.container: expected a container name (string; lowercase letters",
        "container: api",
    ),
    (
        "misspelt-key",
        {"comand": ["bin/rails"]},
        "admin_tasks.legacy-reports.comand: unknown key",
        "did you mean 'command'?",
    ),
]


@pytest.mark.parametrize(
    ("changes", "message", "hint"), [case[1:] for case in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_admin_task_names_the_field(changes: dict[str, Any], message: str, hint: str) -> None:
    with pytest.raises(InputError) as info:
        parse_profile(_with_task(**changes), "profile.yaml")
    assert info.value.message.startswith(f"profile.yaml: {message}"), info.value.message
    assert info.value.hint is not None
    assert hint in info.value.hint, info.value.hint
    assert "Product profile" in info.value.hint


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ([{"name": "legacy reports"}], "admin_tasks: expected the product's admin tasks (a mapping of names"),
        ({"Legacy Reports": {}}, "admin_tasks.Legacy Reports: expected a name of lowercase letters"),
        ({"legacy": "bin/rails x"}, "admin_tasks.legacy: expected an admin task (a mapping with the keys"),
    ],
    ids=["a-list", "bad-name", "not-a-section"],
)
def test_invalid_admin_tasks_section(section: Any, message: str) -> None:
    data = _reference_data()
    data["admin_tasks"] = section
    with pytest.raises(InputError) as info:
        parse_profile(data, "profile.yaml")
    assert info.value.message.startswith(f"profile.yaml: {message}"), info.value.message


def test_a_misspelt_section_name_is_refused() -> None:
    data = _reference_data()
    data["admin_task"] = data.pop("admin_tasks")
    with pytest.raises(InputError, match="admin_task: unknown key") as info:
        parse_profile(data, "profile.yaml")
    assert info.value.hint is not None
    assert "did you mean 'admin_tasks'?" in info.value.hint


def test_the_readme_example_task_loads() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme.split("\n## Product profile\n", 1)[1].split("\n## ", 1)[0]
    example = section.split("```yaml\n")[1].split("\n```", 1)[0]
    task = parse_profile(yaml.safe_load(example), "README example").admin_task("billing-export")
    assert task.workload.ref == "deployment/acme-api"
    assert task.command == ("bin/rails", "billing:export")
    assert task.dropped_uses(["customers"]) == ("customers.vat_id",)
    assert not task.exists_at(Version.parse("v24.10.01"))
