"""Runbook "Rollback" on a cluster: each hop's scenario driven to a verified recovery.

After a hop's upgrade checks, the hop is classified (charts and both releases' migrations)
and the procedure the scenario calls for is rehearsed: ``helm rollback`` for Scenarios 1 and
2, a snapshot restore into new servers or onto the same ones for Scenario 3. Each procedure
runs under the availability prober, is checked (old images back, schema and data as the
runbook expects, smoke test), and ends with a re-upgrade to the hop's new release, so the
path goes on from a verified state. Test ids name the hop and the procedure:
``test_rollback_recovers[v24.06.01->v24.07.01-scenario3-new-instance]``.

With ``--jitera-rollback-strategy=both`` on the reference stack, the hop classified 3 also
shows the runbook's three risks, each done the wrong way (and failing as the runbook says)
and the right way, and Helm's automatic rollback after a hook that failed half-way.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from pytest_jitera.config import JiteraConfig
from pytest_jitera.datastores import SchemaSnapshot, Stats
from pytest_jitera.decision.hop_classification import demo_applies
from pytest_jitera.decision.partial_schema import classify_partial_schema
from pytest_jitera.decision.procedures import HopClassification, Procedure, RollbackCase
from pytest_jitera.errors import DatastoreError
from pytest_jitera.fixtures.rehearsal import HopState, UpgradeRun
from pytest_jitera.release.planner import Hop
from pytest_jitera.runbook import after_rollback, after_upgrade, before_upgrade, risks, rollback, upgrade
from pytest_jitera.runbook.databases import pg_login, pg_pod_tools
from pytest_jitera.runbook.downtime import ProcedureRecord
from pytest_jitera.runbook.steps import (
    AUTOMATIC_ROLLBACK,
    RISK_A_RIGHT,
    RISK_A_WRONG,
    RISK_B_RIGHT,
    RISK_B_WRONG,
    RISK_C_RIGHT,
    RISK_C_WRONG,
    ROLL_BACK_AND_RECOVER,
)

HELM_TIMEOUT = "15m"
HOOK_TIMEOUT = 900.0
ROLLOUT_TIMEOUT = 600.0
# The reference chart's switch that makes the hook stop after the first new migration.
# Helm's rollback on failure waits for every workload before the post-upgrade hook runs; the
# reference stack's ultron is Ready only once the schema is migrated, so it sits this one out.
PARTIAL_HOOK_FAULT = {"faults": {"hookFailsMidway": True}, "ultron": {"replicas": 0}}
FAULT_TIMEOUT = "6m"


def _fail(step: str, what: str, next_action: str) -> None:
    pytest.fail(f"{step}: {what}\nnext: {next_action}", pytrace=False)


def _check(step: str, problems: list[str], next_action: str) -> None:
    if problems:
        _fail(step, "\n".join(f"  {p}" for p in problems), next_action)


# ----------------------------------------------------------------------------- classification


@pytest.mark.jitera_step("classify the rollback scenario")
def test_rollback_scenario_classified(
    jitera_hop: Hop,
    jitera_hop_classification: Callable[[Hop], HopClassification],
    jitera_config: JiteraConfig,
) -> None:
    """The runbook's decision for this hop, with every reason and its evidence, saved for the report.

    Forcing a lighter scenario than the classified one would rehearse a procedure the runbook
    says does not recover this pair: that is refused here, before any rollback runs.
    """
    verdict = jitera_hop_classification(jitera_hop)
    folder = jitera_config.report / "hops" / str(jitera_hop.new.version)
    folder.mkdir(parents=True, exist_ok=True)
    body = {**verdict.classification.to_json(), "rehearsed": int(verdict.scenario),
            "procedures": [p.value for p in verdict.procedures]}
    (folder / "rollback-scenario.json").write_text(json.dumps(body, indent=2) + "\n")
    classified = verdict.classification.scenario
    print(f"{jitera_hop.old.version} -> {jitera_hop.new.version}: Scenario {int(classified)} "
          f"({classified.title}); rehearsing {', '.join(p.value for p in verdict.procedures)}")
    for reason in verdict.classification.reasons:
        print(f"  [{int(reason.scenario)}] {reason.text}")
    if verdict.forced is not None and verdict.forced < classified:
        _fail(
            "classify the rollback scenario",
            f"--jitera-scenario={int(verdict.forced)} on a hop classified Scenario {int(classified)}: "
            + "; ".join(r.text for r in verdict.classification.reasons if r.scenario > verdict.forced),
            "rehearse the classified scenario (--jitera-scenario=auto) or a heavier one",
        )


# ----------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def _procedure(run: UpgradeRun, state: HopState, name: str, scenario: int) -> Iterator[ProcedureRecord]:
    """Probe users' view for the whole procedure and keep its steps' spans for the report."""
    record = ProcedureRecord(name, scenario)
    state.rollbacks.append(record)
    prober = run.start_prober()
    record.started = prober.started_at or time.time()
    first_span = len(run.rehearsal.spans)
    try:
        yield record
        record.outcome = "passed"
    except BaseException:
        record.outcome = "failed"
        raise
    finally:
        prober.stop(raise_error=False)
        record.samples = prober.samples
        record.spans = [
            (name, start - record.started, end - record.started)
            for name, start, end in run.rehearsal.spans[first_span:]
        ]


def _revision(run: UpgradeRun) -> int:
    return run.rehearsal.helm.history(run.rehearsal.release)[-1].revision


def _rollback_target(state: HopState) -> int:
    """The revision deployed before the latest upgrade of this hop (the runbook's recorded one)."""
    if state.rollback_to is not None:
        return state.rollback_to
    assert state.recorded is not None, "the release state was not captured before the upgrade"
    return state.recorded.revision


def _backups(state: HopState) -> before_upgrade.Backups:
    assert state.backups is not None, "no backup was taken before this hop's upgrade"
    return state.backups


def _rollout(run: UpgradeRun) -> None:
    r = run.rehearsal
    upgrade.wait_for_rollout(r, upgrade.release_deployments(r), timeout=ROLLOUT_TIMEOUT)


def _smoke(run: UpgradeRun, step: str) -> None:
    problems = after_upgrade.smoke_problems(
        run.rehearsal, run.http, run.profile.smoke, catcher=run.catcher, cli_key=run.cli_key
    )
    _check(step, problems, f"kubectl -n {run.rehearsal.access.namespace} get pods; read the "
           "component logs in the report folder")


def _reupgrade(run: UpgradeRun, state: HopState, *, expect_hook: bool = True) -> upgrade.WatchedUpgrade:
    """Upgrade to the hop's new release again, from the recovered state; checked unless told not to."""
    hop = state.hop
    r = run.rehearsal
    state.rollback_to = _revision(run)
    run.deploy_values_for(hop.new)
    frozen = before_upgrade.freeze_background_work(r, run.profile.workloads.background)
    applied = upgrade.apply_upgrade(
        r, run.chart(hop.new), hook_job=run.profile.migration.job, timeout=HELM_TIMEOUT,
        hook_timeout=HOOK_TIMEOUT,
    )
    before_upgrade.unfreeze_workloads(r, frozen)
    if not expect_hook:
        return applied
    if not applied.hook.complete:
        _fail(f"re-upgrade to {hop.new.version}", applied.hook.describe(),
              f"full hook log: {applied.hook.log_path}; the recovery left a state the new release "
              "cannot migrate")
    _rollout(run)
    image = run.profile.migration_images[0]
    shipped = after_upgrade.migrations_in_image(r, f"deploy/{r.name(image.component)}", image.app_path)
    problems = after_upgrade.check_migrations(r, shipped.schema, shipped.data)
    _check(f"re-upgrade to {hop.new.version}", problems,
           "the hook did not finish its work on the recovered database: read its log")
    _smoke(run, f"smoke test after the re-upgrade to {hop.new.version}")
    return applied


def _in_place(run: UpgradeRun, state: HopState, record: ProcedureRecord, *, second_scale_down: bool) -> None:
    """Scenario 3 on the same servers: scale down, helm rollback, scale down again, drop, restore."""
    r = run.rehearsal
    backups = _backups(state)
    replicas = rollback.scale_down_app(r, run.profile)
    rollback.rollback_helm_only(r, _rollback_target(state))
    if not second_scale_down:
        _rollout(run)  # the revived clients are up and connected, as they would be for an operator
        try:
            rollback.drop_and_restore_in_place(r, backups)
        except DatastoreError as exc:
            if not rollback.drop_refused(exc):
                raise
            record.findings.append(
                f"expected: without the second scale-down, DROP DATABASE is refused "
                f"({rollback.IN_USE}): helm rollback brought the database clients back"
            )
        else:
            _fail("in-place restore without the second scale-down",
                  "DROP DATABASE succeeded although helm rollback had revived the database clients",
                  "check that the profile's db_clients are the workloads that connect to the database")
    rollback.second_scale_down(r, run.profile)
    rollback.drop_and_restore_in_place(r, backups)
    _check("restore in place", after_rollback.data_equals_snapshot(r, backups),
           "the restore did not return every store to its snapshot: compare with "
           f"{r.backups_folder()}")
    before_upgrade.unfreeze_workloads(r, replicas)
    _rollout(run)


def _new_instance(run: UpgradeRun, state: HopState, record: ProcedureRecord) -> None:
    """Scenario 3, recommended: restore into new servers and deploy the previous chart on them."""
    r = run.rehearsal
    hop = state.hop
    rollback.scale_down_app(r, run.profile)
    run.restored_servers += 1
    endpoints = rollback.restore_to_new_instances(r, _backups(state), run.restored_servers)
    rollback.use_instances(r, endpoints)
    _check("restore to new servers", after_rollback.data_equals_snapshot(r, _backups(state)),
           "the new servers do not hold the snapshots: compare with the dumps in "
           f"{r.backups_folder()}; the chart still points at the old servers")
    for endpoint in endpoints:
        run.moved[r.name(endpoint.component)] = (endpoint.instance, endpoint.port, endpoint.uri)
    run.deploy_values_for(hop.old)
    rollback.switch_endpoints_and_roll_back(r, run.chart(hop.old))
    _rollout(run)
    record.observations["servers"] = ", ".join(f"{e.component} -> {e.instance}" for e in endpoints)


# ----------------------------------------------------------------------------- the procedures


@pytest.mark.jitera_cluster
@pytest.mark.jitera_step(ROLL_BACK_AND_RECOVER)
def test_rollback_recovers(jitera_rollback: RollbackCase, jitera_upgrade: UpgradeRun) -> None:
    """Roll the hop back with the procedure, verify the recovery, then upgrade again."""
    run = jitera_upgrade
    case = jitera_rollback
    hop = case.hop
    state = run.hop(hop)
    state.classification = case.classification
    r = run.rehearsal
    old = str(hop.old.version)
    backups = _backups(state)
    step = f"{case.procedure.value} of {hop.old.version} -> {hop.new.version}"
    demo = demo_applies(
        lambda: case.classification, rollback=run.config.rollback,
        strategy=run.config.rollback_strategy, reference_stack=run.config.charts is None,
    )
    with _procedure(run, state, case.procedure.value, int(case.procedure.scenario)) as record:
        if case.procedure in (Procedure.HELM_ROLLBACK, Procedure.HELM_ROLLBACK_VERIFIED):
            rollback.rollback_helm_only(r, _rollback_target(state))
            _rollout(run)
            problems = after_rollback.release_is_back(r, old)
            if case.procedure is Procedure.HELM_ROLLBACK:
                problems += after_rollback.data_equals_snapshot(r, backups, content=False)
            _check(step, problems, f"helm history {r.release} -n {r.access.namespace}")
            _smoke(run, f"{step}: smoke test")
            if case.procedure is Procedure.HELM_ROLLBACK_VERIFIED:
                _admin_paths(run, state, record, step)
        else:
            if case.procedure is Procedure.NEW_INSTANCE:
                _new_instance(run, state, record)
            else:
                _in_place(run, state, record, second_scale_down=not run.config.skip_second_scale_down)
            problems = after_rollback.release_is_back(r, old)
            problems += after_rollback.data_equals_snapshot(r, backups, content=False)
            _check(step, problems, "the recovered release or schema is not the pre-upgrade one: see "
                   f"helm history {r.release} and the dumps in {r.backups_folder()}")
            _smoke(run, f"{step}: smoke test")
            if demo:
                listing = risks.list_projects(r, run.http)
                record.observations["projects listing after the recovery"] = listing.summary
                record.observations["listing status"] = listing.status
                made = risks.create_project(r, run.http)
                record.observations["project created in the rollback window"] = made.status
            if case.procedure is Procedure.IN_PLACE:
                leftover = risks.type_exists(r) if demo else "n/a"
                record.observations["leftover type after the restore"] = leftover
    # The re-upgrade is not part of the rollback's outage: the procedure's record ends above.
    _reupgrade(run, state)
    if demo:
        left = risks.projects_without_slug(r)
        record.observations["projects without a slug after the re-upgrade"] = left


def _admin_paths(run: UpgradeRun, state: HopState, record: ProcedureRecord, step: str) -> None:
    """Scenario 2's known casualty: the old admin tasks that use a dropped table fail."""
    r = run.rehearsal
    backups = _backups(state)
    dropped: list[str] = []
    for store, snap in backups.postgres.items():
        schema, _ = _capture(run, store)
        dropped += after_rollback.tables_dropped(snap.schema, schema)
    old = state.hop.old.version
    expected_any = False
    for task in run.profile.admin_tasks:
        if not task.exists_at(old) or not task.dropped_uses(dropped):
            continue
        expected_any = True
        ran = after_rollback.run_admin_task(r, task)
        if ran.failed:
            record.findings.append(
                f"expected: admin task {task.name} ({' '.join(task.command)}) fails after helm "
                f"rollback: {ran.error}"
            )
        else:
            _fail(step, f"admin task {task.name} succeeded although {', '.join(task.dropped_uses(dropped))} "
                  "was dropped by the upgrade", "check the task's `uses` in the product profile")
    if not expected_any and dropped:
        record.findings.append(
            f"no admin task of the profile uses the dropped table(s) {', '.join(dropped)}; the "
            "runbook's warning about old admin paths still applies"
        )


def _capture(run: UpgradeRun, store: str) -> tuple[SchemaSnapshot, Stats]:
    """Schema and statistics of one PostgreSQL store now."""
    r = run.rehearsal
    return pg_pod_tools(r, store).capture(pg_login(r, store))


# ----------------------------------------------------------------------------- the risks, done right


def _recorded(state: HopState, procedure: Procedure) -> ProcedureRecord:
    for record in state.rollbacks:
        if record.procedure == procedure.value:
            return record
    pytest.fail(f"the {procedure.value} procedure did not run on this hop", pytrace=False)


@pytest.mark.jitera_cluster
@pytest.mark.jitera_rollback_demo
@pytest.mark.jitera_step(RISK_A_RIGHT)
def test_risk_a_right_restore_keeps_the_listing_working(jitera_hop: Hop, jitera_upgrade: UpgradeRun) -> None:
    """After the snapshot restore the old code's projects listing answers: no missing column."""
    record = _recorded(jitera_upgrade.hop(jitera_hop), Procedure.NEW_INSTANCE)
    status = record.observations.get("listing status")
    seen = record.observations.get("projects listing after the recovery")
    assert status == 200, f"Risk A although the snapshot was restored: {seen}"


@pytest.mark.jitera_cluster
@pytest.mark.jitera_rollback_demo
@pytest.mark.jitera_step(RISK_B_RIGHT)
def test_risk_b_right_restore_lets_the_backfill_run(jitera_hop: Hop, jitera_upgrade: UpgradeRun) -> None:
    """Rows written in the window after a snapshot restore get their slug on the re-upgrade."""
    record = _recorded(jitera_upgrade.hop(jitera_hop), Procedure.NEW_INSTANCE)
    assert record.observations.get("project created in the rollback window") == 201, record.observations
    left = record.observations.get("projects without a slug after the re-upgrade")
    assert left == 0, f"Risk B although the snapshot was restored: {left} project(s) without a slug"


@pytest.mark.jitera_cluster
@pytest.mark.jitera_rollback_demo
@pytest.mark.jitera_step(RISK_C_RIGHT)
def test_risk_c_right_drop_and_restore_leaves_nothing(jitera_hop: Hop, jitera_upgrade: UpgradeRun) -> None:
    """A dropped and re-created database keeps no newer type, so the re-upgrade's hook succeeded."""
    record = _recorded(jitera_upgrade.hop(jitera_hop), Procedure.IN_PLACE)
    assert record.observations.get("leftover type after the restore") is False, record.observations
    assert record.outcome == "passed", f"the in-place procedure ended {record.outcome}"


# ----------------------------------------------------------------------------- the risks, done wrong


@pytest.mark.jitera_cluster
@pytest.mark.jitera_rollback_demo
@pytest.mark.jitera_step(RISK_A_WRONG)
def test_risk_a_wrong_helm_rollback_alone_breaks_the_listing(
    jitera_hop: Hop, jitera_upgrade: UpgradeRun
) -> None:
    """``helm rollback`` without a restore: the old listing reads a dropped column."""
    run = jitera_upgrade
    state = run.hop(jitera_hop)
    r = run.rehearsal
    with _procedure(run, state, "risk A done wrong: helm rollback alone", 3) as record:
        rollback.rollback_helm_only(r, _rollback_target(state))
        _rollout(run)
        listing = risks.list_projects(r, run.http)
        logs = after_upgrade.component_logs(r, "automation")
        record.observations["projects listing"] = listing.summary
        shown = listing.status >= 500 and (risks.RISK_A_ERROR in listing.body or risks.RISK_A_ERROR in logs)
        if not shown:
            _fail(RISK_A_WRONG, f"the listing answered {listing.summary}; no {risks.RISK_A_ERROR}",
                  "the reference stack's Risk A did not show: check the v24.06.01 projects controller")
        record.findings.append(f"expected: after helm rollback alone GET {risks.PROJECTS} fails with "
                               f"{risks.RISK_A_ERROR} ({listing.summary})")


@pytest.mark.jitera_cluster
@pytest.mark.jitera_rollback_demo
@pytest.mark.jitera_step(RISK_B_WRONG)
def test_risk_b_wrong_window_rows_keep_null(jitera_hop: Hop, jitera_upgrade: UpgradeRun) -> None:
    """Rows the old code writes before the re-upgrade never get the backfill; then recover properly."""
    run = jitera_upgrade
    state = run.hop(jitera_hop)
    r = run.rehearsal
    with _procedure(run, state, "risk B done wrong: writes in the rollback window", 3) as record:
        made = risks.create_project(r, run.http)
        if made.status != 201:
            _fail(RISK_B_WRONG, f"creating a project in the window: {made.summary}",
                  "read the automation logs")
        _reupgrade(run, state)
        left = risks.projects_without_slug(r)
        record.observations["projects without a slug after the re-upgrade"] = left
        if left == 0:
            _fail(RISK_B_WRONG, "every project has a slug although the backfill was recorded as done",
                  "the reference stack's Risk B did not show: check data migration 20240701100001")
        record.findings.append(f"expected: {left} project(s) written in the rollback window keep slug NULL "
                               "after the re-upgrade (the data migration was already recorded)")
        _in_place(run, state, record, second_scale_down=True)
        _reupgrade(run, state)
        assert risks.projects_without_slug(r) == 0, "projects without a slug after the recovery"


@pytest.mark.jitera_cluster
@pytest.mark.jitera_rollback_demo
@pytest.mark.jitera_step(RISK_C_WRONG)
def test_risk_c_wrong_clean_restore_breaks_the_reupgrade(jitera_hop: Hop, jitera_upgrade: UpgradeRun) -> None:
    """``pg_restore --clean`` in place keeps the newer ENUM type: the re-upgrade's hook fails."""
    run = jitera_upgrade
    state = run.hop(jitera_hop)
    r = run.rehearsal
    backups = _backups(state)
    with _procedure(run, state, "risk C done wrong: clean-mode restore in place", 3) as record:
        replicas = rollback.scale_down_app(r, run.profile)
        rollback.rollback_helm_only(r, _rollback_target(state))
        rollback.second_scale_down(r, run.profile)
        rollback.clean_restore_in_place(r, backups)
        record.observations["leftover type after the clean restore"] = risks.type_exists(r)
        before_upgrade.unfreeze_workloads(r, replicas)
        _rollout(run)
        applied = _reupgrade(run, state, expect_hook=False)
        log = Path(applied.hook.log_path).read_text() if applied.hook.log_path else ""
        if applied.hook.complete or risks.RISK_C_ERROR not in log + applied.hook.describe():
            _fail(RISK_C_WRONG, f"the re-upgrade's hook: {applied.hook.describe()}",
                  f"the reference stack's Risk C did not show; hook log: {applied.hook.log_path}")
        record.findings.append(f"expected: the re-upgrade's migration hook fails with {risks.RISK_C_ERROR} "
                               f"on type {risks.RISK_C_TYPE}, left by the clean-mode restore")
        _in_place(run, state, record, second_scale_down=True)
        _reupgrade(run, state)


@pytest.mark.jitera_cluster
@pytest.mark.jitera_rollback_demo
@pytest.mark.jitera_step(AUTOMATIC_ROLLBACK)
def test_automatic_rollback_leaves_a_partial_schema(jitera_hop: Hop, jitera_upgrade: UpgradeRun) -> None:
    """Helm's rollback on failure restores the manifests, not the half-migrated schema; recover it."""
    run = jitera_upgrade
    state = run.hop(jitera_hop)
    r = run.rehearsal
    old = str(jitera_hop.old.version)
    with _procedure(run, state, "Helm's automatic rollback after a partial migration", 3) as record:
        # Back on the old release and its snapshot, verified, before the failing upgrade.
        _in_place(run, state, record, second_scale_down=True)
        before = _revision(run)
        fault = run.private / "partial-hook-fault.yaml"
        fault.write_text(yaml.safe_dump(PARTIAL_HOOK_FAULT))
        run.extra_values = (fault,)
        try:
            run.deploy_values_for(jitera_hop.new)
            applied = upgrade.apply_upgrade(
                r, run.chart(jitera_hop.new), hook_job=run.profile.migration.job, timeout=FAULT_TIMEOUT,
                hook_timeout=HOOK_TIMEOUT, rollback_on_failure=True,
            )
        finally:
            run.extra_values = ()
        if applied.helm.succeeded or applied.hook.complete:
            _fail(AUTOMATIC_ROLLBACK, "the upgrade with the failing hook succeeded",
                  "check the reference chart's faults.hookFailsMidway switch")
        _rollout(run)  # Helm put A's Deployments back; their pods replace B's
        history = r.helm.history(r.release)
        record.observations["helm history"] = "; ".join(
            f"{h.revision} {h.status} {h.app_version}" for h in history[-3:])
        back = after_rollback.release_is_back(r, old)
        if back:
            _fail(AUTOMATIC_ROLLBACK,
                  "Helm's rollback on failure did not restore the manifests:\n" + "\n".join(back),
                  f"helm history {r.release} -n {r.access.namespace}")
        applied_versions = after_upgrade.migrations_applied(r).schema
        image = run.profile.migration_images[0]
        shipped = after_upgrade.migrations_in_image(r, f"deploy/{r.name(image.component)}", image.app_path)
        scenario, reasons = classify_partial_schema(applied_versions, shipped.schema)
        record.observations["partial schema"] = ", ".join(reasons[0].evidence) or "none"
        record.findings.append(
            f"expected: Helm rolled the manifests back to {old} (revision {history[-1].revision}, was "
            f"{before}) but left the schema partly migrated: {record.observations['partial schema']}"
        )
        if scenario != 3:
            _fail(AUTOMATIC_ROLLBACK, "the failed hook left no migration behind: " + reasons[0].text,
                  "the fault should stop after the first new migration: check the hook log "
                  f"{applied.hook.log_path}")
        # Scenario 3: restore the snapshot on the same servers (Helm already rolled back).
        state.rollback_to = _revision(run)
        _in_place(run, state, record, second_scale_down=True)
        _reupgrade(run, state)

