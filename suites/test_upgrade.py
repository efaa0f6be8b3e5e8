"""Runbook "Before You Upgrade" and "Upgrade Procedure" on a cluster, hop by hop.

``pytest --jitera-from=v24.05.01 --jitera-to=v24.08.01`` installs the first release and then,
for each planned hop, backs up and proves every datastore, records the release, freezes the
background work, plans the upgrade against the API server, applies it while watching the
migration hook, and checks what the runbook says to check afterwards. Each step is one test
per hop (``test_migration_hook_complete[v24.05.01->v24.06.01]``); once a step fails, the
steps after it are reported as not run, never as passed.
"""

from __future__ import annotations

import json
import secrets
import time
import warnings
from typing import NoReturn

import pytest

from pytest_jitera.cluster.hook_watch import unhealthy_pods
from pytest_jitera.datastores import diff_schemas
from pytest_jitera.errors import JiteraError
from pytest_jitera.fixtures.rehearsal import HopState, UpgradeRun
from pytest_jitera.fixtures.steps import hop_label
from pytest_jitera.release.planner import Hop
from pytest_jitera.runbook import (
    after_upgrade,
    before_upgrade,
    migration_costs,
    seeded_state,
    starting_state,
    upgrade,
)
from pytest_jitera.runbook.availability import outages, summarize
from pytest_jitera.runbook.databases import AUTOMATION_STORE, pg_login, pg_pod_tools
from pytest_jitera.runbook.pem import pem_problems

pytestmark = pytest.mark.jitera_cluster

# A hop's migration hook and rollout get this long before the step fails.
HELM_TIMEOUT = "15m"
HOOK_TIMEOUT = 900.0
ROLLOUT_TIMEOUT = 600.0


def _fail(step: str, what: str, next_action: str) -> NoReturn:
    pytest.fail(f"{step}: {what}\nnext: {next_action}", pytrace=False)


@pytest.mark.jitera_step("install the source release")
def test_source_release_installed(jitera_upgrade: UpgradeRun) -> None:
    """The path's first release, installed with the operator's values, healthy and seeded.

    With a cached starting state of the same inputs, the release is installed without its
    hooks and its databases restored from that state instead (the report says so).
    """
    run = jitera_upgrade
    r = run.rehearsal
    first = run.plan.releases[0]
    run.deploy_values_for(first)
    chart = run.chart(first)
    started = time.monotonic()
    cached = run.starting.load() if run.starting is not None else None
    if cached is not None:
        _install_from_cache(run, cached)
        return
    done = upgrade.install_release(r, chart, timeout=HELM_TIMEOUT, helm=run.install_helm)
    if not done.succeeded:
        _fail(
            "install the source release",
            f"helm install {r.release} {first.version} failed (status {done.status or 'none'})",
            f"look at the hook and pods in namespace {r.access.namespace}; "
            "the helm output is in the log above",
        )
    hook = upgrade.watch_migration_hook(r, timeout=HOOK_TIMEOUT)
    assert hook.complete, f"migration hook of {first.version} is not Complete: {hook}"
    if run.config.seeds.given:
        _seed_from_operator(run)
    _healthy(run)
    _seed(run)
    if run.starting is not None:
        took = time.monotonic() - started
        try:
            saved = starting_state.save_starting_state(
                r, run.starting.folder, run.starting.key, str(first.version), took
            )
        except JiteraError as exc:  # the hop's own backup step judges the backups; this is a cache
            run.starting_note = f"starting state not saved: {exc}"
            warnings.warn(run.starting_note, stacklevel=1)
            return
        run.starting_note = f"starting state saved: {saved.describe()}; install and seeding took {took:.0f} s"


def _seed_from_operator(run: UpgradeRun) -> None:
    """Replace the fresh install's stores with the operator's dumps, before the first hop."""
    try:
        run.seeded = seeded_state.seed_from_dumps(
            run.rehearsal, run.profile, run.config.seeds, run.rehearsal.data_dir or run.private,
            pg_restore=run.pg_restore, masks=run.masks,
        )
    except JiteraError as exc:
        _fail(
            "seed from the operator's dumps",
            exc.message,
            exc.hint or "check that the dumps restore into a fresh database: pg_restore --list FILE",
        )
    run.starting_note = "seeded: " + "; ".join(seeded_state.describe(row) for row in run.seeded)


def _install_from_cache(run: UpgradeRun, cached: starting_state.StartingState) -> None:
    r = run.rehearsal
    first = run.plan.releases[0]
    started = time.monotonic()
    try:
        chart = run.chart(first)
        restored = starting_state.install_from_starting_state(r, chart, cached, timeout=HELM_TIMEOUT)
    except JiteraError as exc:
        _fail(
            "install the source release from the cached starting state",
            exc.message,
            exc.hint or "run with --jitera-starting-state=refresh to install afresh",
        )
    if not restored.helm.succeeded:
        _fail(
            "install the source release from the cached starting state",
            f"helm install --no-hooks {r.release} {first.version} failed "
            f"(status {restored.helm.status or 'none'})",
            f"look at the pods in namespace {r.access.namespace}, or run with "
            "--jitera-starting-state=refresh to install afresh",
        )
    _healthy(run)
    took = time.monotonic() - started
    run.starting_note = (
        f"install skipped: {first.version} restored from the cached starting state {cached.describe()} "
        f"in {took:.0f} s (installing and seeding took {cached.install_seconds:.0f} s)"
    )
    r.say(run.starting_note)


def _healthy(run: UpgradeRun) -> None:
    """Every Deployment rolled out and the studio answering: the release is up."""
    r = run.rehearsal
    upgrade.wait_for_rollout(r, _deployments(run), timeout=ROLLOUT_TIMEOUT)
    studio = after_upgrade.smoke_test_http(r, run.http, run.profile.smoke.studio, what="studio answers")
    assert studio.status == run.profile.smoke.studio.expect_status, studio.summary
    run.record_field_managers("after install")


def _deployments(run: UpgradeRun) -> tuple[str, ...]:
    """Every Deployment of the release, as the rollout waits for them."""
    names = run.rehearsal.kubectl.deployments(f"app.kubernetes.io/instance={run.rehearsal.release}")
    prefix = run.rehearsal.release + "-"
    return tuple(sorted(n.removeprefix(prefix) for n in names if n.startswith(prefix)))


def _seed(run: UpgradeRun) -> None:
    """Rows the later hops must keep: an invitation and a CLI upload, made the product's way."""
    smoke = run.profile.smoke
    r = run.rehearsal
    if smoke.invite is not None:
        sent = after_upgrade.invite_test_user(r, run.http, smoke.invite, "seed@rehearsal.invalid")
        assert sent.status == smoke.invite.request.expect_status, f"seeding an invitation: {sent.summary}"
    if smoke.cli is not None:
        up = after_upgrade.upload_with_cli(r, run.http, smoke.cli, run.cli_key)
        assert up.status == smoke.cli.request.expect_status, f"seeding an upload: {up.summary} {up.body}"


@pytest.mark.jitera_step("back up every datastore and prove the backup")
def test_backups_restore(jitera_hop: Hop, jitera_upgrade: UpgradeRun) -> None:
    """Runbook "back up the databases": each store's dump restores to what was there."""
    run = jitera_upgrade
    state = run.hop(jitera_hop)
    r = run.rehearsal
    state.backups = before_upgrade.back_up_databases(r)
    results = before_upgrade.verify_backups(r, state.backups)
    bad = [v for v in results if not v.ok]
    if bad:
        lines = "\n".join(f"  {v.text()}" for v in bad)
        _fail(
            "back up every datastore",
            f"{len(bad)} backup(s) do not restore to what was there:\n{lines}",
            f"do not upgrade; inspect the dumps in {r.backups_folder()}",
        )


@pytest.mark.jitera_step("capture the release state")
def test_release_state_captured(jitera_hop: Hop, jitera_upgrade: UpgradeRun) -> None:
    """Runbook "capture the current Helm release state": revision and live values saved."""
    run = jitera_upgrade
    state = run.hop(jitera_hop)
    state.recorded = before_upgrade.capture_release_state(run.rehearsal)
    running = state.recorded.state.app_version
    assert running == str(jitera_hop.old.version), (
        f"the release runs {running}, the hop starts from {jitera_hop.old.version}"
    )


@pytest.mark.jitera_step("freeze background work")
def test_background_work_frozen(jitera_hop: Hop, jitera_upgrade: UpgradeRun) -> None:
    """Runbook "freeze concurrent workloads": workers paused, no job in flight."""
    run = jitera_upgrade
    state = run.hop(jitera_hop)
    state.frozen = before_upgrade.freeze_background_work(run.rehearsal, run.profile.workloads.background)


@pytest.mark.jitera_step("plan the upgrade: helm template and server dry run")
def test_upgrade_plan_accepted(jitera_hop: Hop, jitera_upgrade: UpgradeRun) -> None:
    """Runbook "plan and apply": the new chart renders and the API server accepts every object."""
    run = jitera_upgrade
    run.deploy_values_for(jitera_hop.new)
    planned = upgrade.plan_the_upgrade(run.rehearsal, run.chart(jitera_hop.new))
    if planned.problems:
        _fail(
            f"plan the upgrade to {jitera_hop.new.version}",
            "\n".join(planned.problems),
            f"fix the values or the chart; rendered output: {planned.rendered}, server: {planned.server}",
        )


@pytest.mark.jitera_step("apply the upgrade")
def test_upgrade_applied(jitera_hop: Hop, jitera_upgrade: UpgradeRun) -> None:
    """``helm upgrade`` to the next chart folder, watched; the hook's verdict is the next step's."""
    run = jitera_upgrade
    state = run.hop(jitera_hop)
    prober = run.start_prober(state)
    prober.mark("upgrade")
    state.upgrade = upgrade.apply_upgrade(
        run.rehearsal,
        run.chart(jitera_hop.new),
        hook_job=run.profile.migration.job,
        timeout=HELM_TIMEOUT,
        hook_timeout=HOOK_TIMEOUT,
    )
    applied = state.upgrade
    if applied.helm.succeeded:
        run.record_field_managers(f"after upgrade {hop_label(jitera_hop)}")
    if not applied.helm.succeeded and applied.hook.complete:
        tail = "\n".join(applied.helm_output.strip().splitlines()[-10:])
        _fail(
            f"helm upgrade to {jitera_hop.new.version}",
            f"helm failed although the migration hook completed:\n{tail}",
            "read the helm output above; the release is at revision "
            f"{applied.helm.revision} ({applied.helm.status})",
        )


@pytest.mark.jitera_step("migration hook complete")
def test_migration_hook_complete(jitera_hop: Hop, jitera_upgrade: UpgradeRun) -> None:
    """Runbook "monitor the rollout": the hook Job is Complete before anything else is trusted."""
    run = jitera_upgrade
    state = run.hop(jitera_hop)
    applied = state.upgrade
    assert applied is not None, "the upgrade step recorded nothing"
    _record_migration_costs(run, state, applied)
    if applied.hook.complete:
        return
    r = run.rehearsal
    lines = []
    for component in ("automation", "ultron"):
        upgrade.watch_for_crash_loop(r, component, timeout=120)
        for pod in unhealthy_pods(r.api, r.access.namespace, r.selector(component)):
            health = "ready" if pod.ready else "not ready"
            lines.append(f"  {pod.name}: {health}, {pod.restarts} restarts, {pod.reason}")
            lines += [f"      {line}" for line in pod.last_lines[-5:]]
    unhealthy = "\n".join(lines) or "  none found"
    _fail(
        f"migration hook {run.profile.migration.job} of {jitera_hop.new.version}",
        f"{applied.hook.describe()}\n\npods left unhealthy by the half-migrated schema:\n{unhealthy}",
        f"do not go on; full hook log: {applied.hook.log_path}; roll back with the procedure of "
        "this hop's rollback scenario",
    )


def _record_migration_costs(run: UpgradeRun, state: HopState, applied: upgrade.WatchedUpgrade) -> None:
    """Each migration the hook ran, its duration and its tables' rows before the hop, saved."""
    hop = state.hop
    before = state.backups.postgres.get(AUTOMATION_STORE) if state.backups is not None else None
    costs = migration_costs.read_hook_log(applied.hook.log_path)
    state.migration_costs = migration_costs.cost_table(costs, before.tables if before is not None else {})
    folder = run.rehearsal.report_folder("hops", str(hop.new.version))
    rows = [row.to_dict() for row in state.migration_costs]
    (folder / "migration-costs.json").write_text(json.dumps({"migrations": rows}, indent=2) + "\n")
    slowest = migration_costs.describe(state.migration_costs)
    run.rehearsal.say(f"migrations of {hop.new.version}, slowest first: {slowest}")


@pytest.mark.jitera_step("rollout complete")
def test_rollout_complete(jitera_hop: Hop, jitera_upgrade: UpgradeRun) -> None:
    """Background work resumes and every Deployment of the release has rolled out."""
    run = jitera_upgrade
    state = run.hop(jitera_hop)
    before_upgrade.unfreeze_workloads(run.rehearsal, state.frozen)
    upgrade.wait_for_rollout(run.rehearsal, _deployments(run), timeout=ROLLOUT_TIMEOUT)
    if state.prober is not None:
        state.prober.mark("rolled out")


@pytest.mark.jitera_step("CLI key is a well-formed PEM")
def test_cli_key_is_well_formed(jitera_hop: Hop, jitera_upgrade: UpgradeRun) -> None:
    """Runbook "verify CLI authentication": the Secret's key still parses as PEM."""
    run = jitera_upgrade
    key = run.profile.cli_key
    if key is None:
        pytest.fail("the product profile names no cli_key: this step has nothing to check", pytrace=False)
    data = run.rehearsal.kubectl.secret_data(key.secret)
    if key.key not in data:
        _fail("verify the CLI key", f"secret {key.secret} has no key {key.key!r}",
              f"check cli_key in the product profile against `kubectl get secret {key.secret} -o yaml`")
    problems = pem_problems(data[key.key])
    if problems:
        _fail(
            "verify the CLI key",
            f"secret {key.secret}, key {key.key}: " + "; ".join(problems),
            "the chart stripped the PEM's newlines: re-create the Secret from the PEM file "
            "and check the chart's handling of credentials before going on",
        )


@pytest.mark.jitera_step("migrations match the release")
def test_migrations_match_release(jitera_hop: Hop, jitera_upgrade: UpgradeRun) -> None:
    """``schema_migrations``/``data_migrations`` equal the files in the deployed release's image."""
    run = jitera_upgrade
    r = run.rehearsal
    image = run.profile.migration_images[0]
    shipped = after_upgrade.migrations_in_image(r, f"deploy/{r.name(image.component)}", image.app_path)
    problems = after_upgrade.check_migrations(r, shipped.schema, shipped.data)
    folder = r.report_folder("hops", str(jitera_hop.new.version))
    (folder / "migrations.json").write_text(
        json.dumps({"schema": shipped.schema, "data": shipped.data, "problems": problems}, indent=2)
    )
    if problems:
        _fail(f"migrations of {jitera_hop.new.version}", "\n".join(problems),
              "the hook did not finish its work: read the hook log before anything else")


@pytest.mark.jitera_step("no row lost")
def test_no_row_lost(jitera_hop: Hop, jitera_upgrade: UpgradeRun) -> None:
    """Every table's rows before the hop are still there; the schema diff is saved for review."""
    run = jitera_upgrade
    state = run.hop(jitera_hop)
    r = run.rehearsal
    assert state.backups is not None, "no backup was taken before this hop"
    folder = r.report_folder("hops", str(jitera_hop.new.version))
    problems: list[str] = []
    for store, snap in state.backups.postgres.items():
        schema, stats = pg_pod_tools(r, store).capture(pg_login(r, store))
        diff = diff_schemas(snap.schema, schema)
        (folder / f"schema-diff-{store}.txt").write_text(diff.text() or "no schema change\n")
        dropped = [c.object for c in diff.of("tables", "removed")]
        problems += [f"{store}: {p}" for p in after_upgrade.rows_lost(snap.tables, stats, dropped)]
        changed = after_upgrade.checksums_changed(snap.tables, stats)
        (folder / f"rows-{store}.json").write_text(
            json.dumps({"dropped_by_release": dropped, "content_changed": changed}, indent=2)
        )
    if problems:
        _fail(f"data kept over {jitera_hop.old.version} -> {jitera_hop.new.version}", "\n".join(problems),
              "restore from this hop's backup before any user writes (see the rollback scenario)")


@pytest.mark.jitera_step("smoke: studio answers")
def test_smoke_studio(jitera_hop: Hop, jitera_upgrade: UpgradeRun) -> None:
    """Runbook smoke test: Studio answers on the app domain."""
    run = jitera_upgrade
    check = run.profile.smoke.studio
    got = after_upgrade.smoke_test_http(run.rehearsal, run.http, check, what="studio answers")
    if got.status != check.expect_status:
        wanted = f"expected HTTP {check.expect_status}, got {got.summary}\n{got.body[:500]}"
        ns = run.rehearsal.access.namespace
        _fail("smoke test: studio", wanted, f"kubectl -n {ns} logs deploy/{check.service}")


@pytest.mark.jitera_step("smoke: invited user's e-mail arrives")
def test_smoke_invite_mail(jitera_hop: Hop, jitera_upgrade: UpgradeRun) -> None:
    """Runbook smoke test: inviting a user sends the e-mail, and the mail catcher receives it."""
    run = jitera_upgrade
    invite = run.profile.smoke.invite
    if invite is None or run.catcher is None:
        pytest.fail("the product profile has no smoke.invite check", pytrace=False)
    address = f"invite-{secrets.token_hex(3)}@rehearsal.invalid"
    sent = after_upgrade.invite_test_user(run.rehearsal, run.http, invite, address)
    if sent.status != invite.request.expect_status:
        _fail("smoke test: invite a user", f"{sent.summary}\n{sent.body[:500]}",
              "check the chart's SMTP settings and the automation logs")
    message = run.catcher.wait_for_message(run.http, address, timeout=120, progress=run.rehearsal.say)
    assert address in message.to, message


@pytest.mark.jitera_step("smoke: CLI authenticates and uploads")
def test_smoke_cli_upload(jitera_hop: Hop, jitera_upgrade: UpgradeRun) -> None:
    """Runbook smoke test ``jitera init``: a signed upload is accepted."""
    run = jitera_upgrade
    cli = run.profile.smoke.cli
    if cli is None:
        pytest.fail("the product profile has no smoke.cli check", pytrace=False)
    got = after_upgrade.upload_with_cli(run.rehearsal, run.http, cli, run.cli_key)
    if got.status != cli.request.expect_status:
        _fail("smoke test: CLI upload", f"{got.summary}\n{got.body[:500]}",
              "the CLI key Secret or its mount is wrong: compare it with the PEM the CLI signs with")


@pytest.mark.jitera_step("availability during the upgrade")
def test_availability_recorded(jitera_hop: Hop, jitera_upgrade: UpgradeRun) -> None:
    """The prober ran through the hop; its unavailable intervals go to the report."""
    run = jitera_upgrade
    state = run.hop(jitera_hop)
    prober = state.prober
    assert prober is not None, "the prober was not started for this hop"
    run.stop_prober(state)
    samples = prober.samples
    summary = summarize(samples)
    folder = run.rehearsal.report_folder("hops", str(jitera_hop.new.version))
    found = outages(samples)
    rows = [{"target": o.target, "start": o.start, "end": o.end, "reason": o.reason} for o in found]
    (folder / "availability.json").write_text(
        json.dumps({"samples": len(samples), "marks": prober.marks, "outages": rows}, indent=2)
    )
    missing = [t for t in ("studio",) if summary.get(t) is None or summary[t].samples == 0]
    if missing:
        _fail("availability", f"the prober recorded no answer for {', '.join(missing)}",
              "the prober reaches Services through the API server: check its access to services/proxy")
    last = {s.target: s for s in samples}
    down = [t for t, s in last.items() if not s.ok]
    if down:
        _fail("availability", f"{', '.join(down)} still unavailable at the end of the hop",
              "see availability.json in the hop's report folder")
