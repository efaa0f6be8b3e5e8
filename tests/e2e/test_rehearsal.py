"""The headline rehearsal, run as a user runs it: ``pytest --jitera-from --jitera-to`` in a folder of its own.

Each run is a separate pytest process in an empty folder, against this session's kind cluster
through ``--jitera-kubeconfig`` (the rehearsal's namespace is its own, so runs could share
the cluster with anything). The fault switches of the reference stack make each failure the
runbook warns about happen for real; the assertions read the JUnit file and the report folder
the user would read.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from pytest_jitera.cluster.kind import KindCluster
from pytest_jitera.runner import session_runner
from pytest_jitera.waiting import Observation, wait_for

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Outcome:
    returncode: int
    output: str
    cases: dict[str, tuple[str, str]]  # test name -> (status, message)
    folder: Path

    @property
    def report(self) -> Path:
        return self.folder / "jitera-report"


def _rehearse(
    cluster: KindCluster, folder: Path, *args: str, values: dict[str, object] | None = None
) -> Outcome:
    folder.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v",
        f"--jitera-kubeconfig={cluster.kubeconfig}", "--jitera-air-gapped",
        # These runs are about other steps: each installs afresh, nothing read from or left in the cache.
        "--jitera-starting-state=off", "--junitxml=junit.xml", *args,
    ]
    if values is not None:
        path = folder / "my-values.yaml"
        path.write_text(yaml.safe_dump(values))
        argv.append(f"--jitera-values={path}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JITERA_")}
    env["PYTHONUNBUFFERED"] = "1"
    done = subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True, timeout=3600)
    output = done.stdout + done.stderr
    (folder / "output.txt").write_text(output)
    return Outcome(done.returncode, output, _junit_cases(folder / "junit.xml"), folder)


def _junit_cases(path: Path) -> dict[str, tuple[str, str]]:
    if not path.is_file():
        return {}
    cases: dict[str, tuple[str, str]] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        status, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            found = case.find(tag)
            if found is not None:
                status = tag
                message = (found.get("message") or "") + "\n" + (found.text or "")
        cases[case.get("name", "")] = (status, message)
    return cases


def _namespaces(cluster: KindCluster) -> set[str]:
    access = cluster.access("default")
    got = session_runner().run(access.kubectl_argv("get", "namespaces", "-o", "name", namespaced=False),
                               env=dict(access.env))
    return {line.removeprefix("namespace/") for line in got.stdout.split() if "jitera-" in line}


def _explain(outcome: Outcome) -> str:
    return outcome.output[-6000:]


def test_two_release_rehearsal_passes_and_keeps_secrets(
    kind_cluster: KindCluster, tmp_path: Path, helm_by_major: dict[int, str]
) -> None:
    """Also the Helm 3 -> Helm 4 handover: Helm 3 installs the source release, Helm 4 upgrades."""
    password = "pw-" + secrets.token_hex(12)
    before = _namespaces(kind_cluster)
    outcome = _rehearse(
        kind_cluster, tmp_path / "run", "--jitera-from=v24.05.01", "--jitera-to=v24.06.01",
        f"--jitera-install-helm={helm_by_major[3]}",
        values={"externalPostgres": {"password": password}, "externalPgvector": {"password": password}},
    )
    assert outcome.returncode == 0, _explain(outcome)
    hop = "v24.05.01->v24.06.01"
    for name in ("test_source_release_installed", f"test_backups_restore[{hop}]",
                 f"test_migration_hook_complete[{hop}]", f"test_smoke_invite_mail[{hop}]",
                 f"test_smoke_cli_upload[{hop}]", f"test_no_row_lost[{hop}]",
                 f"test_availability_recorded[{hop}]"):
        assert outcome.cases.get(name, ("missing", ""))[0] == "passed", (name, outcome.cases.get(name))
    assert not [n for n, (s, _) in outcome.cases.items() if s != "passed"], outcome.cases
    summary = json.loads((outcome.report / "summary.json").read_text())
    assert summary["outcome"] == "passed"
    handover = [n for n in summary["notes"] if n.startswith("release installed by")]
    assert handover, summary["notes"]
    assert "(helm 3 -> helm 4)" in handover[0], handover
    methods = [n for n in summary["notes"] if n.startswith("apply method:")]
    assert methods, summary["notes"]
    assert f"after upgrade {hop}: " in methods[0], methods
    # Each migration of the hop, read from the real hook log, with the tables it touched.
    migrations = {m["version"]: m for m in summary["hops"][0]["migrations"]}
    assert set(migrations) == {"20240601000001", "20240601000002"}, migrations
    assert [t["table"] for t in migrations["20240601000001"]["tables"]] == ["legacy_reports"]
    projects = migrations["20240601000002"]["tables"]
    assert projects[0]["table"] == "projects"
    assert isinstance(projects[0]["rows"], int), projects
    print("\n".join([*methods, *handover]))
    assert (outcome.report / "index.html").is_file()
    leaked = [
        str(p) for p in [outcome.folder / "output.txt", outcome.folder / "junit.xml",
                         *outcome.report.rglob("*")]
        if p.is_file() and password.encode() in p.read_bytes()
    ]
    assert not leaked, f"the values file's password appears in {leaked}"
    assert _namespaces(kind_cluster) == before, "the rehearsal's namespace was left behind"


def test_failing_hook_stops_the_hop_at_the_hook_step(kind_cluster: KindCluster, tmp_path: Path) -> None:
    outcome = _rehearse(
        kind_cluster, tmp_path / "run", "--jitera-from=v24.05.01", "--jitera-to=v24.06.01",
        values={"faults": {"hookFails": True}},
    )
    assert outcome.returncode == 1, _explain(outcome)
    hop = "v24.05.01->v24.06.01"
    failed = {n for n, (s, _) in outcome.cases.items() if s in ("failure", "error")}
    assert failed == {f"test_migration_hook_complete[{hop}]"}, outcome.cases
    message = outcome.cases[f"test_migration_hook_complete[{hop}]"][1]
    assert "faults.hookFails is set" in message, message
    assert "jitera-ultron-" in message or "jitera-automation-" in message, message
    later = outcome.cases[f"test_smoke_studio[{hop}]"]
    assert later[0] == "skipped", later
    assert "not run" in later[1], later
    summary = json.loads((outcome.report / "summary.json").read_text())
    statuses = {s["test_id"].split("::")[-1]: s["status"] for s in summary["steps"]}
    assert statuses[f"test_smoke_studio[{hop}]"] == "not-run"


def test_stripped_pem_fails_the_cli_key_check(kind_cluster: KindCluster, tmp_path: Path) -> None:
    outcome = _rehearse(
        kind_cluster, tmp_path / "run", "--jitera-from=v24.05.01", "--jitera-to=v24.06.01",
        values={"faults": {"stripPemNewlines": True}},
    )
    assert outcome.returncode == 1, _explain(outcome)
    name = "test_cli_key_is_well_formed[v24.05.01->v24.06.01]"
    status, message = outcome.cases[name]
    assert status == "failure", outcome.cases
    assert "jitera-cli-public-key" in message, message
    assert "public.pem" in message, message


def test_moved_values_key_fails_before_the_upgrade(kind_cluster: KindCluster, tmp_path: Path) -> None:
    outcome = _rehearse(
        kind_cluster, tmp_path / "run", "--jitera-from=v24.05.01", "--jitera-to=v24.06.01",
        values={"externalPostgres": {"host": "db.example.internal"}},
    )
    assert outcome.returncode == 1, _explain(outcome)
    hop = "v24.05.01->v24.06.01"
    status, message = outcome.cases[f"test_overrides_still_apply[{hop}]"]
    assert status == "failure", outcome.cases
    assert "externalPostgres.host" in message, message
    assert "externalPostgres.primary.host" in message, message
    applied = outcome.cases[f"test_upgrade_applied[{hop}]"]
    assert applied[0] == "skipped", applied
    assert "not run" in applied[1], applied


def test_ctrl_c_during_the_upgrade_removes_the_namespace_and_children(
    kind_cluster: KindCluster, tmp_path: Path
) -> None:
    """SIGINT while ``helm upgrade`` runs: the namespace goes, no helm/kubectl child is left."""
    folder = tmp_path / "run"
    folder.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("JITERA_")}
    env["PYTHONUNBUFFERED"] = "1"
    log_path = folder / "output.txt"
    before = _namespaces(kind_cluster)
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-s",
             f"--jitera-kubeconfig={kind_cluster.kubeconfig}", "--jitera-air-gapped",
             "--jitera-starting-state=off",
             "--jitera-from=v24.05.01", "--jitera-to=v24.06.01"],
            cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        def probe() -> Observation[None]:
            text = log_path.read_text()
            if "upgrade jitera to v24.06.01" in text:
                return Observation.ready(None)
            if proc.poll() is not None:
                return Observation.hopeless(text[-3000:])
            return Observation.pending("the rehearsal has not reached the upgrade yet")

        wait_for("the rehearsal's helm upgrade", probe, timeout=900, interval=1)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = log_path.read_text()
    assert "KeyboardInterrupt" in output or "Interrupted" in output, output[-3000:]
    assert _namespaces(kind_cluster) == before, output[-3000:]
    children = session_runner().run(["pgrep", "-f", str(kind_cluster.kubeconfig)], check=False).stdout.split()
    assert not children, f"processes still using the cluster after Ctrl-C: {children}"
