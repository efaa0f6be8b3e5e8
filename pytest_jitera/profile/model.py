"""What the harness knows about one product, as frozen data.

The runbook speaks of "the migration job", "the workloads that hold database connections",
"the Automation PostgreSQL" and "the CLI key Secret"; a real product calls them by its own
names. A :class:`Profile` holds those names, so every step asks the profile instead of
assuming the reference stack's spelling. Object names are already rendered for the profile's
release (``${release}`` substituted); values keys may differ between chart releases, which is
why they are :class:`ValuesKey` objects answering "which key, at this release?".

Only :mod:`pytest_jitera.profile.load` builds these objects, after checking every field.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pytest_jitera.charts.values_diff import dig
from pytest_jitera.errors import JiteraError
from pytest_jitera.release.versions import Version

Engine = Literal["postgresql", "mongodb"]
WorkloadKind = Literal["Deployment", "StatefulSet"]
Isolation = Literal["scale-down", "maintenance"]
Scalar = str | int | float | bool


@dataclass(frozen=True)
class ValuesKey:
    """A dotted Helm values key (``externalPostgres.host``), possibly renamed between releases.

    ``spellings`` are ``(first release, key)`` pairs, oldest first; the first pair's release is
    ``None`` when the key was given as a plain string. A release older than every listed one
    uses the oldest spelling: the profile knows no earlier history.
    """

    spellings: tuple[tuple[Version | None, str], ...]

    def at(self, release: Version | None = None) -> str:
        """The key as the chart of ``release`` spells it (``None``: the newest spelling)."""
        if release is None:
            return self.spellings[-1][1]
        chosen = self.spellings[0][1]
        for since, key in self.spellings:
            if since is None or since <= release:
                chosen = key
        return chosen

    @property
    def keys(self) -> tuple[str, ...]:
        """Every spelling, oldest first."""
        return tuple(key for _, key in self.spellings)

    def __str__(self) -> str:
        return self.at()


@dataclass(frozen=True)
class WorkloadRef:
    """A Deployment or StatefulSet by name."""

    kind: WorkloadKind
    name: str

    @property
    def ref(self) -> str:
        """The ``kubectl`` spelling: ``deployment/<name>``."""
        return f"{self.kind.lower()}/{self.name}"

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class MigrationHook:
    """The Helm hook Job that runs ``db:migrate`` and ``data:migrate``, and where its traces are."""

    job: str
    pod_labels: tuple[tuple[str, str], ...]
    container: str
    # The datastore holding schema_migrations and data_migrations.
    database: str

    @property
    def selector(self) -> str:
        """Label selector of the hook's pods, for ``kubectl get pods -l`` / ``kubectl logs -l``."""
        return ",".join(f"{key}={value}" for key, value in self.pod_labels)


@dataclass(frozen=True)
class UserFacing:
    """The user-facing workloads, isolated while the databases are restored."""

    isolate: Isolation
    workloads: tuple[WorkloadRef, ...]
    # With ``isolate: maintenance``: the values that switch maintenance mode on.
    maintenance_values: tuple[tuple[str, Scalar], ...] = ()


@dataclass(frozen=True)
class Workloads:
    """Who must stop before a restore (``db_clients``) and who is isolated separately."""

    db_clients: tuple[WorkloadRef, ...]
    user_facing: UserFacing
    # Paused before an upgrade (the runbook's "drain background jobs"); may repeat db_clients.
    background: tuple[WorkloadRef, ...] = ()


@dataclass(frozen=True)
class InCluster:
    """A datastore run by the chart itself, reached inside its pod."""

    statefulset: str
    pod: str
    container: str
    service: str
    port: int
    # The values key that turns the chart's own instance on or off (``postgresql.enabled``).
    enabled_value: ValuesKey | None = None


@dataclass(frozen=True)
class External:
    """A managed datastore (RDS, Cloud SQL, Cosmos DB...) reached over the network."""

    host: str
    port: int


@dataclass(frozen=True)
class LoginValues:
    """The values keys holding a datastore's login (``externalPostgres.username``...)."""

    username: ValuesKey | None = None
    password: ValuesKey | None = None
    database: ValuesKey | None = None
    uri: ValuesKey | None = None


@dataclass(frozen=True)
class Credentials:
    """Where a datastore's login lives: values keys, and/or a Secret key the chart renders.

    For PostgreSQL the Secret key holds the password; for MongoDB the connection URI. When
    both are given the Secret wins: it is what the running pods read.
    """

    values: LoginValues = field(default_factory=LoginValues)
    secret: str | None = None
    key: str | None = None


@dataclass(frozen=True)
class EndpointValues:
    """The values keys that point the chart at a datastore (used to repoint it at a restore)."""

    host: ValuesKey | None = None
    port: ValuesKey | None = None
    database: ValuesKey | None = None
    username: ValuesKey | None = None
    password: ValuesKey | None = None
    uri: ValuesKey | None = None

    def assignments(self, release: Version | None = None, **given: object) -> dict[str, str]:
        """``--set-string`` pairs for ``release``'s chart: ``assignments(v, host="db", port=5432)``.

        Naming a field the profile gives no key for is an error, not a silent no-op: the
        redeploy would otherwise keep the old endpoint.
        """
        out: dict[str, str] = {}
        for name, value in given.items():
            key = getattr(self, name, None) if name in _ENDPOINT_FIELDS else None
            if not isinstance(key, ValuesKey):
                known = ", ".join(f for f in _ENDPOINT_FIELDS if getattr(self, f) is not None)
                raise JiteraError(
                    f"the profile names no endpoint values key for {name!r}",
                    hint=f"add endpoint_values.{name} to the profile (it has: {known})",
                )
            out[key.at(release)] = str(value)
        return out


_ENDPOINT_FIELDS = tuple(f.name for f in dataclasses.fields(EndpointValues))


@dataclass(frozen=True)
class Datastore:
    """One database of the product: how to reach it, its login, the keys that point at it."""

    name: str
    title: str
    engine: Engine
    credentials: Credentials
    endpoint_values: EndpointValues
    in_cluster: InCluster | None = None
    external: External | None = None


@dataclass(frozen=True)
class CliKey:
    """The Secret holding the CLI's public key PEM, and the values key it is given in."""

    secret: str
    key: str
    values_key: ValuesKey | None = None


@dataclass(frozen=True)
class ImageValues:
    """The values keys that name a component's image."""

    repository: ValuesKey
    tag: ValuesKey
    registry: ValuesKey | None = None

    def reference(self, values: Mapping[str, Any], release: Version | None = None) -> str:
        """The image a release's (merged) values select: ``[registry/]repository:tag``."""
        parts = {}
        for name, key in (("repository", self.repository), ("tag", self.tag), ("registry", self.registry)):
            if key is None:
                continue
            found = dig(values, key.at(release))
            if found in (None, "") and name != "registry":
                raise JiteraError(
                    f"the chart values set no {key.at(release)} (the image {name})",
                    hint="pass the merged values (helm get values --all), or fix the profile's image keys",
                )
            parts[name] = "" if found is None else str(found)
        image = f"{parts['repository']}:{parts['tag']}"
        return f"{parts['registry'].rstrip('/')}/{image}" if parts.get("registry") else image


@dataclass(frozen=True)
class MigrationImage:
    """A component whose image holds ``db/migrate`` and ``db/data`` under ``app_path``."""

    component: str
    image: ImageValues
    app_path: str


@dataclass(frozen=True)
class HttpCheck:
    """One in-cluster HTTP request and the status that counts as success."""

    service: str
    port: int
    path: str
    expect_status: int
    method: str = "GET"

    @property
    def url(self) -> str:
        """The URL as seen from inside the release's namespace."""
        return f"http://{self.service}:{self.port}{self.path}"


@dataclass(frozen=True)
class SmtpValues:
    """The values keys that point the product's outgoing mail at the harness's mail catcher."""

    host: ValuesKey
    port: ValuesKey
    username: ValuesKey | None = None
    password: ValuesKey | None = None


@dataclass(frozen=True)
class InviteCheck:
    """Invite a user (``request`` with ``{email_field: address}``) and expect the mail to arrive."""

    request: HttpCheck
    email_field: str
    smtp_values: SmtpValues


@dataclass(frozen=True)
class CliCheck:
    """The CLI flow: an upload signed with the CLI key, signature in ``signature_header``."""

    request: HttpCheck
    signature_header: str


@dataclass(frozen=True)
class SmokeChecks:
    """The runbook's smoke test as data: Studio answers, invite mail arrives, the CLI works."""

    studio: HttpCheck
    invite: InviteCheck | None = None
    cli: CliCheck | None = None


@dataclass(frozen=True)
class AdminTask:
    """An operator-only command (a rake task, a script) run inside one workload's container.

    The runbook's Scenario 2: after ``helm rollback`` the user-facing paths work, yet an admin
    task of the old release may read a table the newer release dropped. No smoke check reaches
    such a path, so the profile names it: the rehearsal runs ``command`` after a rollback and,
    through ``uses``, tells the failure the runbook predicts from a new one.
    """

    name: str
    title: str
    workload: WorkloadRef
    # argv, run without a shell (``kubectl exec ... -- <command>``).
    command: tuple[str, ...]
    # None: the workload's default container.
    container: str | None = None
    # The tables (``legacy_reports``) and columns (``projects.legacy_notes``) the task reads.
    uses: tuple[str, ...] = ()
    # The releases that ship the task: it cannot be run on one that does not have it.
    added_in: Version | None = None
    removed_in: Version | None = None

    def exists_at(self, release: Version) -> bool:
        """Whether ``release``'s image has the task (``added_in`` <= release < ``removed_in``)."""
        if self.added_in is not None and release < self.added_in:
            return False
        return self.removed_in is None or release < self.removed_in

    def dropped_uses(self, dropped: Iterable[str]) -> tuple[str, ...]:
        """The used objects that ``dropped`` (tables and ``table.column`` names) took away.

        A dropped table takes its columns with it. Unquoted SQL names fold to lowercase, so
        the match ignores case. Non-empty: the task's failure is the expected finding.
        """
        gone = {name.lower() for name in dropped}
        return tuple(use for use in self.uses if use.lower() in gone or use.lower().split(".", 1)[0] in gone)


@dataclass(frozen=True)
class Profile:
    """Everything the harness must know about one product, for one release name."""

    source: str
    product: str
    release: str
    migration: MigrationHook
    workloads: Workloads
    datastores: tuple[Datastore, ...]
    migration_images: tuple[MigrationImage, ...]
    smoke: SmokeChecks
    cli_key: CliKey | None = None
    admin_tasks: tuple[AdminTask, ...] = ()
    # The parsed YAML, so with_release() renders the names again; not part of the value.
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def datastore(self, name: str) -> Datastore:
        """The datastore called ``name`` (``automation``, ``pgvector``, ``mongodb``...)."""
        for store in self.datastores:
            if store.name == name:
                return store
        raise JiteraError(
            f"{self.source} has no datastore {name!r}",
            hint=f"it has: {', '.join(s.name for s in self.datastores)}",
        )

    def migration_image(self, component: str) -> MigrationImage:
        """The image entry of ``component``."""
        for image in self.migration_images:
            if image.component == component:
                return image
        raise JiteraError(
            f"{self.source} has no migration image for {component!r}",
            hint=f"it has: {', '.join(i.component for i in self.migration_images)}",
        )

    def admin_task(self, name: str) -> AdminTask:
        """The admin task called ``name``."""
        for task in self.admin_tasks:
            if task.name == name:
                return task
        raise JiteraError(
            f"{self.source} has no admin task {name!r}",
            hint=f"it has: {', '.join(t.name for t in self.admin_tasks) or 'none'}",
        )

    def with_release(self, release: str) -> Profile:
        """The same product installed under another release name (names rendered again)."""
        from pytest_jitera.profile.load import parse_profile

        return parse_profile(self.raw, self.source, release=release)

    def values_keys(self, release: Version | None = None) -> dict[str, str]:
        """Every values key the profile names, by its dotted field path, as ``release`` spells it.

        A check that the keys still exist in a new chart walks this.
        """
        return {path: key.at(release) for path, key in _walk_values_keys(self, "")}


def _walk_values_keys(obj: object, prefix: str) -> Iterator[tuple[str, ValuesKey]]:
    if isinstance(obj, ValuesKey):
        yield prefix, obj
    elif isinstance(obj, tuple):
        for item in obj:
            name = getattr(item, "name", None) or getattr(item, "component", None)
            if isinstance(name, str):
                yield from _walk_values_keys(item, f"{prefix}.{name}")
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            if f.name == "raw":
                continue
            child = getattr(obj, f.name)
            # HttpCheck inside a check is flattened in the YAML; keep the YAML's paths
            path = prefix if f.name == "request" else (f"{prefix}.{f.name}" if prefix else f.name)
            yield from _walk_values_keys(child, path)
