"""Runbook section after the rollout: CLI key, smoke tests, and what the schema says.

Three things can look healthy from the outside and still be broken: the CLI key Secret (a
PEM whose newlines a platform stripped breaks ``jitera init`` only), the user-facing answer
(Studio is the page a user opens, and it answers 200 only while Automation does), and the
migration tables (the only record of which release the database belongs to). The smoke
requests are made from inside the cluster, from the Studio pod through the Services, so they
take the path a user's request takes rather than a port-forward straight to one pod.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pytest_jitera.cluster.api import HttpResult, ServiceHttp
from pytest_jitera.cluster.mail_catcher import MailCatcher
from pytest_jitera.datastores import Stats, migration_versions
from pytest_jitera.errors import JiteraError
from pytest_jitera.profile.model import CliCheck, HttpCheck, InviteCheck, SmokeChecks
from pytest_jitera.runbook.context import Rehearsal
from pytest_jitera.runbook.databases import applied_versions
from pytest_jitera.runbook.pem import pem_problems
from pytest_jitera.runbook.stage import CliKeyPair
from pytest_jitera.waiting import Observation, WaitTimeout, wait_for

#: Service ports of the chart's HTTP components.
SERVICE_PORTS = {"studio": 8080, "automation": 3000, "ultron": 8080}
CLI_KEY_SECRET = "cli-public-key"
CLI_KEY = "public.pem"
BODY_LIMIT = 2000

# Runs in the requesting pod: GET argv[1], print [status, body cut to argv[2] characters];
# status 0 when nothing answered.
_GET = """\
import json, sys, urllib.error, urllib.request
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=10)
    out = [r.status, r.read().decode(errors="replace")]
except urllib.error.HTTPError as e:
    out = [e.code, e.read().decode(errors="replace")]
except Exception as e:
    out = [0, repr(e)]
print(json.dumps([out[0], out[1][: int(sys.argv[2])]]))
"""


@dataclass(frozen=True)
class HttpAnswer:
    """Status and (the start of) the body of one in-cluster GET; status 0: nothing answered."""

    url: str
    status: int
    body: str

    @property
    def summary(self) -> str:
        """One line for progress output and timeout messages."""
        first = " ".join(self.body.split())[:160]
        return f"{self.status or 'no answer'} from {self.url}: {first}"


@dataclass(frozen=True)
class AppliedMigrations:
    """What ``db:migrate`` and ``data:migrate`` recorded in the Automation database."""

    schema: list[str]
    data: list[str]


def verify_cli_key(r: Rehearsal, secret: str | None = None, key: str = CLI_KEY) -> list[str]:
    """What is wrong with the CLI public key PEM in its Secret (newlines intact?); empty: fine."""
    name = secret or r.name(CLI_KEY_SECRET)
    with r.step("verify the CLI key"):
        data = r.kubectl.secret_data(name)
        if key not in data:
            return [f"secret {name} has no key {key!r} (keys: {', '.join(sorted(data)) or 'none'})"]
        return pem_problems(data[key])


def http_get(
    r: Rehearsal, component: str, path: str = "/", port: int | None = None, via: str = "studio"
) -> HttpAnswer:
    """GET ``http://<release>-<component>:<port><path>`` from inside the ``via`` pod.

    Anything short of an HTTP answer (the pod is restarting, the Service has no endpoint yet)
    is an answer with status 0 and the error as body, so a wait can keep asking.
    """
    url = f"http://{r.name(component)}:{port or SERVICE_PORTS[component]}{path}"
    argv = [
        *r.access.exec_argv(f"deploy/{r.name(via)}", stdin=False),
        "python3",
        "-c",
        _GET,
        url,
        str(BODY_LIMIT),
    ]
    done = r.runner.run(argv, env=dict(r.access.env), check=False, timeout=60)
    lines = done.stdout.strip().splitlines()
    try:
        status, body = json.loads(lines[-1]) if lines else (0, "")
    except ValueError:
        status, body = 0, done.stdout
    if done.returncode != 0 and not status:
        body = (done.stdout + done.stderr).strip()[-BODY_LIMIT:]
    return HttpAnswer(url, int(status), str(body))


def wait_for_answer(
    r: Rehearsal,
    component: str,
    path: str = "/",
    *,
    until: Callable[[HttpAnswer], bool],
    what: str,
    port: int | None = None,
    timeout: float = 180,
    interval: float = 5,
) -> HttpAnswer:
    """Ask until ``until(answer)`` holds; return the answer that satisfied it, or the last one.

    Returning the last answer on timeout (instead of raising) lets the caller's assertion show
    the status and body that were actually seen.
    """
    last: list[HttpAnswer] = []

    def probe() -> Observation[HttpAnswer]:
        answer = http_get(r, component, path, port)
        last[:] = [answer]
        return (
            Observation.ready(answer, answer.summary)
            if until(answer)
            else Observation.pending(answer.summary)
        )

    try:
        return wait_for(what, probe, timeout=timeout, interval=interval, progress=r.say)
    except WaitTimeout:
        return last[-1]


def smoke_test_studio(r: Rehearsal, timeout: float = 180) -> HttpAnswer:
    """The runbook's first smoke test: Studio answers 200 (waits while the rollout settles)."""
    with r.step("smoke test: studio answers 200"):
        return wait_for_answer(
            r, "studio", "/", until=lambda a: a.status == 200, what="studio answers 200", timeout=timeout
        )


def migrations_applied(r: Rehearsal) -> AppliedMigrations:
    """The versions in ``schema_migrations`` and ``data_migrations``, each sorted."""
    with r.step("read the migration tables"):
        return AppliedMigrations(
            applied_versions(r, "schema_migrations"), applied_versions(r, "data_migrations")
        )


def check_migrations(r: Rehearsal, schema: Sequence[str], data: Sequence[str]) -> list[str]:
    """Differences between the migration tables and the versions a release ships; empty: match.

    Missing versions mean the hook did not finish; extra ones that the database is ahead of the
    code, which is what a rollback without a restore leaves behind.
    """
    applied = migrations_applied(r)
    problems = []
    for table, have, want in (
        ("schema_migrations", applied.schema, schema),
        ("data_migrations", applied.data, data),
    ):
        missing, extra = sorted(set(want) - set(have)), sorted(set(have) - set(want))
        if missing:
            problems.append(f"{table} lacks {', '.join(missing)}: the migration hook did not finish")
        if extra:
            problems.append(
                f"{table} has {', '.join(extra)} that the release does not ship: the schema is ahead"
            )
    return problems


def component_logs(r: Rehearsal, component: str, tail: int = 400) -> str:
    """Recent logs of every pod of a component, each line prefixed with its pod (evidence)."""
    return r.kubectl.logs_by_selector(r.selector(component), tail=tail)


# ----------------------------------------------------------------- profile-driven checks, via httpx


def smoke_test_http(
    r: Rehearsal, http: ServiceHttp, check: HttpCheck, *, what: str, timeout: float = 180
) -> HttpResult:
    """Ask ``check``'s Service until it gives the expected status; return that or the last answer.

    The request goes through the API server's Service proxy, so it reaches whichever pods
    the Service routes to now, as a user's request would.
    """
    last: list[HttpResult] = []

    def probe() -> Observation[HttpResult]:
        got = http.request(check.method, r.access.namespace, check.service, check.port, check.path)
        last[:] = [got]
        if got.status == check.expect_status:
            return Observation.ready(got, got.summary)
        return Observation.pending(got.summary)

    with r.step(f"smoke test: {what}"):
        try:
            return wait_for(what, probe, timeout=timeout, interval=2, progress=r.say)
        except WaitTimeout:
            return last[-1]


def invite_test_user(
    r: Rehearsal, http: ServiceHttp, check: InviteCheck, address: str
) -> HttpResult:
    """Runbook smoke test "invite a test user": one request; the mail is awaited separately."""
    with r.step("smoke test: invite a test user"):
        req = check.request
        return http.request(
            req.method, r.access.namespace, req.service, req.port, req.path,
            json={check.email_field: address}, timeout=60,
        )


def upload_with_cli(r: Rehearsal, http: ServiceHttp, check: CliCheck, key: CliKeyPair) -> HttpResult:
    """Runbook smoke test "run ``jitera init``": a signed upload, as the CLI sends it."""
    body = f"jitera init smoke upload {time.time():.0f}\n".encode()
    with r.step("smoke test: CLI authenticates and uploads"):
        req = check.request
        return http.request(
            req.method,
            r.access.namespace,
            req.service,
            req.port,
            req.path + ("&" if "?" in req.path else "?") + "name=rehearsal-smoke",
            content=body,
            headers={check.signature_header: key.sign(body), "Content-Type": "application/octet-stream"},
            timeout=60,
        )


@dataclass(frozen=True)
class ShippedMigrations:
    """The migration versions a release's image ships in ``db/migrate`` and ``db/data``."""

    schema: list[str]
    data: list[str]


def migrations_in_image(r: Rehearsal, workload: str, app_path: str) -> ShippedMigrations:
    """List ``db/migrate`` and ``db/data`` inside the running workload's container.

    The running container is the release's image as deployed, on any cluster, with no
    registry access from here.
    """
    with r.step("list the migrations the release ships"):
        listing = r.kubectl.run(
            "exec", workload, "--", "sh", "-c",
            f"ls {app_path}/db/migrate; echo '--data--'; ls {app_path}/db/data 2>/dev/null || true",
        ).stdout
        migrate, _, data = listing.partition("--data--")
        return ShippedMigrations(
            sorted(migration_versions(migrate.split())), sorted(migration_versions(data.split()))
        )


def rows_lost(before: Stats, after: Stats, dropped: Sequence[str]) -> list[str]:
    """Tables that lost rows over a hop; a table the release dropped is excepted (and named).

    Counts only: a migration that adds or backfills a column changes every row's checksum
    without losing one; checksum changes are reported, not failed, by the caller.
    """
    problems = []
    for table, stats in sorted(before.items()):
        if table in dropped:
            continue
        now = after.get(table)
        if now is None:
            problems.append(f"table {table} is gone ({stats['rows']} rows before the hop)")
        elif int(now["rows"]) < int(stats["rows"]):
            problems.append(f"table {table}: {now['rows']} rows, {stats['rows']} before the hop")
    return problems


def checksums_changed(before: Stats, after: Stats) -> list[str]:
    """Tables whose row count held but whose content checksum changed (a data migration's mark)."""
    same_count = [t for t, s in before.items() if t in after and int(after[t]["rows"]) == int(s["rows"])]
    return sorted(t for t in same_count if str(after[t]["checksum"]) != str(before[t]["checksum"]))


def smoke_problems(
    r: Rehearsal,
    http: ServiceHttp,
    smoke: SmokeChecks,
    *,
    catcher: MailCatcher | None,
    cli_key: CliKeyPair | None,
) -> list[str]:
    """The runbook's whole smoke test (Studio, an invitation's mail, a CLI upload), as problems.

    After a rollback the same three checks decide whether users are served again; a list
    lets one failure message name every check that failed, not only the first.
    """
    problems: list[str] = []
    studio = smoke_test_http(r, http, smoke.studio, what="studio answers")
    if studio.status != smoke.studio.expect_status:
        problems.append(f"studio: expected HTTP {smoke.studio.expect_status}, got {studio.summary}")
    if smoke.invite is not None and catcher is not None:
        address = f"invite-{secrets.token_hex(3)}@rehearsal.invalid"
        sent = invite_test_user(r, http, smoke.invite, address)
        if sent.status != smoke.invite.request.expect_status:
            problems.append(f"invite: {sent.summary} {sent.body[:200]}")
        else:
            try:
                catcher.wait_for_message(http, address, timeout=120, progress=r.say)
            except JiteraError as exc:
                problems.append(f"invite: no mail for {address}: {exc.message}")
    if smoke.cli is not None and cli_key is not None:
        up = upload_with_cli(r, http, smoke.cli, cli_key)
        if up.status != smoke.cli.request.expect_status:
            problems.append(f"CLI upload: {up.summary} {up.body[:200]}")
    return problems
