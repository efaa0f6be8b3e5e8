"""The rehearsal's wiring without a cluster: runbook order, "not run" after a failure, refusals.

The steps themselves run on kind in ``tests/e2e/test_rehearsal.py``; here the plugin's
bookkeeping is checked with pytester and tool stubs, and the new pure logic directly.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from pytest_jitera.activity import Interval, covered, summarize
from pytest_jitera.profile import REFERENCE_PROFILE, load_profile
from pytest_jitera.release.catalog import load_catalog
from pytest_jitera.release.planner import plan_upgrade
from pytest_jitera.release.versions import Version
from pytest_jitera.runbook.after_upgrade import checksums_changed, rows_lost
from pytest_jitera.runbook.stage import harness_values, new_cli_key, write_harness_values
from pytest_jitera.runbook.steps import ALL_STEPS, HOP_STEPS, INSTALL, step_rank
from tests.test_doctor import docker_stub, helm_stub, kind_stub, kubectl_stub

FAKE_SUITE = '''
import pytest

@pytest.mark.jitera_step("install the source release")
def test_install():
    pass

@pytest.mark.jitera_step("apply the upgrade")
def test_apply(jitera_hop):
    pass

@pytest.mark.jitera_step("back up every datastore and prove the backup")
def test_backup(jitera_hop):
    pytest.fail("backup broke on purpose")

@pytest.mark.jitera_step("smoke: studio answers")
def test_smoke(jitera_hop):
    pass
'''


def test_steps_are_in_runbook_order() -> None:
    assert ALL_STEPS[0] == INSTALL
    assert step_rank("back up every datastore and prove the backup") < step_rank("apply the upgrade")
    assert step_rank("migration hook complete") < step_rank("smoke: studio answers")
    assert len(set(HOP_STEPS)) == len(HOP_STEPS)
    with pytest.raises(ValueError, match="unknown rehearsal step"):
        step_rank("apply teh upgrade")


def test_harness_values_point_smtp_at_the_catcher_and_carry_the_public_key(tmp_path: Path) -> None:
    profile = load_profile(REFERENCE_PROFILE)
    key = new_cli_key()
    tree = harness_values(profile, Version.parse("v24.06.01"), smtp=("catcher.ns.svc", 1025), cli_key=key)
    assert tree["credentials"]["smtp"]["host"] == "catcher.ns.svc"
    assert tree["credentials"]["smtp"]["port"] == 1025
    assert tree["credentials"]["smtp"]["password"] == ""
    assert tree["credentials"]["cliPublicKey"] == key.public_pem
    path = write_harness_values(tmp_path, tree, Version.parse("v24.06.01"))
    assert path.stat().st_mode & 0o077 == 0
    assert "PRIVATE" not in path.read_text()


def test_cli_signature_verifies_with_the_public_key() -> None:
    key = new_cli_key()
    body = b"jitera init upload"
    public = serialization.load_pem_public_key(key.public_pem.encode())
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(base64.b64decode(key.sign(body)), body, padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(InvalidSignature):
        public.verify(base64.b64decode(key.sign(body)), body + b"!", padding.PKCS1v15(), hashes.SHA256())


def test_rows_lost_counts_drops_and_exempts_dropped_tables() -> None:
    before = {"public.a": {"rows": 3, "checksum": "1"}, "public.b": {"rows": 2, "checksum": "2"},
              "public.c": {"rows": 1, "checksum": "3"}, "public.d": {"rows": 5, "checksum": "4"}}
    after = {"public.a": {"rows": 2, "checksum": "1"}, "public.b": {"rows": 2, "checksum": "9"},
             "public.d": {"rows": 6, "checksum": "4"}}
    problems = rows_lost(before, after, dropped=["public.c"])
    assert problems == ["table public.a: 2 rows, 3 before the hop"]
    gone = "table public.c is gone (1 rows before the hop)"
    assert rows_lost(before, after, dropped=[]) == [*problems, gone]
    assert checksums_changed(before, after) == ["public.b"]


def test_activity_counts_overlapping_calls_once() -> None:
    calls = [Interval("helm", 0, 10), Interval("wait", 5, 12), Interval("kubectl", 20, 25)]
    assert covered(calls) == 17
    summary = summarize(calls, wall=30)
    assert summary["overhead_seconds"] == 13
    assert summary["by_kind"] == {"helm": 10, "wait": 7, "kubectl": 5}


@pytest.fixture
def stub_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Only stub tools on PATH, and a cache with nothing in it."""
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("JITERA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("JITERA_NO_CLUSTER")
    return tmp_path / "stubs"


def test_missing_tool_is_refused_before_collection(
    pytester: pytest.Pytester, stub_tools: Path, charts: Path
) -> None:
    kind_stub(stub_tools)
    helm_stub(stub_tools)
    docker_stub(stub_tools)  # kubectl is missing
    pytester.makepyfile(test_fake=FAKE_SUITE)
    result = pytester.runpytest(
        "test_fake.py", "--jitera-from=v24.05.01", "--jitera-to=v24.06.01", f"--jitera-charts={charts}",
        f"--jitera-tools-dir={stub_tools}", f"--jitera-report={pytester.path / 'r'}",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*kubectl*", "*pytest-jitera doctor*"])
    assert "collected" not in result.stdout.str()
    docker_calls = (stub_tools / "docker.log").read_text() if (stub_tools / "docker.log").exists() else ""
    assert "create" not in docker_calls, "nothing may be created before the refusal"


def test_a_failed_step_stops_the_path_and_later_steps_are_not_run(
    pytester: pytest.Pytester, stub_tools: Path, charts: Path
) -> None:
    kind_stub(stub_tools)
    helm_stub(stub_tools)
    kubectl_stub(stub_tools)
    docker_stub(stub_tools)
    pytester.makepyfile(test_fake=FAKE_SUITE)
    report = pytester.path / "r"
    result = pytester.runpytest(
        "test_fake.py", "-v", "-rs", "--jitera-from=v24.05.01", "--jitera-to=v24.07.01",
        f"--jitera-charts={charts}", f"--jitera-tools-dir={stub_tools}", f"--jitera-report={report}",
    )
    hops = plan_upgrade(load_catalog(charts), Version.parse("v24.05.01"), Version.parse("v24.07.01")).hops
    assert len(hops) >= 2, hops
    hop1, hop2 = (f"{h.old.version}->{h.new.version}" for h in hops[:2])
    # runbook order, hop by hop, whatever the file's order
    result.stdout.fnmatch_lines([
        "*test_install PASSED*",
        f"*test_backup?{hop1}? FAILED*",
        f"*test_apply?{hop1}? SKIPPED*",
        f"*test_smoke?{hop1}? SKIPPED*",
        f"*test_backup?{hop2}? SKIPPED*",
        f"*test_apply?{hop2}? SKIPPED*",
    ])
    result.assert_outcomes(passed=1, failed=1, skipped=3 * len(hops) - 1)
    assert 'not run: step "back up every datastore and prove the backup" of hop' in result.stdout.str()
    summary = json.loads((report / "summary.json").read_text())
    assert summary["outcome"] == "failed"
    statuses = [(s["step"], s["status"]) for s in summary["steps"]]
    assert statuses[:3] == [
        ("install the source release", "passed"),
        ("back up every datastore and prove the backup", "failed"),
        ("apply the upgrade", "not-run"),
    ]
    assert (report / "index.html").is_file()
    result.stdout.fnmatch_lines(["*- jitera -*", f"report (failed): {report / 'index.html'}"])


def test_an_existing_cluster_needs_no_kind(pytester: pytest.Pytester, stub_tools: Path, charts: Path) -> None:
    helm_stub(stub_tools)
    kubectl_stub(stub_tools)
    docker_stub(stub_tools)  # no kind: --jitera-kubeconfig means no cluster is created
    kubeconfig = pytester.path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    pytester.makepyfile(test_fake="def test_nothing():\n    pass\n")
    args = ["test_fake.py", "--jitera-from=v24.05.01", "--jitera-to=v24.06.01", f"--jitera-charts={charts}",
            f"--jitera-tools-dir={stub_tools}", f"--jitera-report={pytester.path / 'r'}"]
    assert pytester.runpytest(*args, f"--jitera-kubeconfig={kubeconfig}").ret == pytest.ExitCode.OK
    refused = pytester.runpytest(*args)
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stderr.fnmatch_lines(["*needs docker, kind, helm, kubectl*"])
