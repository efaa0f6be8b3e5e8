"""Read a product profile and check every field before any work starts.

A profile is written by hand for a product the harness has never seen, so its mistakes must
be cheap to fix: the first problem found stops the load with one :class:`InputError` that
names the field by its dotted path (``datastores.automation.credentials.secret``), says what
was found and what is expected, and hints at the fix. A misspelt key is an error with a "did
you mean" suggestion, never silently ignored: an ignored ``endpont_values`` would leave the
redeploy of a Scenario 3 rollback pointing at the old database.

``${release}`` in an object name is replaced by the profile's ``release`` (or the release
given to :func:`load_profile`), by plain substitution; it is the only placeholder.
"""

from __future__ import annotations

import copy
import datetime
import difflib
import json
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, NoReturn, TypeVar

from pytest_jitera.errors import InputError, VersionError
from pytest_jitera.profile.model import (
    AdminTask,
    CliCheck,
    CliKey,
    Credentials,
    Datastore,
    EndpointValues,
    Engine,
    External,
    HttpCheck,
    ImageValues,
    InCluster,
    InviteCheck,
    Isolation,
    LoginValues,
    MigrationHook,
    MigrationImage,
    Profile,
    Scalar,
    SmokeChecks,
    SmtpValues,
    UserFacing,
    ValuesKey,
    WorkloadKind,
    WorkloadRef,
    Workloads,
)
from pytest_jitera.release.versions import Version
from pytest_jitera.yamlfile import load_yaml_file

T = TypeVar("T")
FieldPath = tuple[str | int, ...]

README_HINT = 'The README\'s section "Product profile" describes every field.'
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
# Kubernetes object names (RFC 1123 subdomain) and the stricter label form Services need.
OBJECT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
SECRET_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
VALUES_KEY = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
HTTP_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
ENTRY_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
HOST_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9.:]*[A-Za-z0-9])?$")
URL_PATH = re.compile(r"^/\S*$")
# A table or table.column, as an unquoted SQL name.
SQL_OBJECT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$")
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
ENGINES: tuple[Engine, ...] = ("postgresql", "mongodb")
ISOLATIONS: tuple[Isolation, ...] = ("scale-down", "maintenance")
DEFAULT_PORTS: dict[str, int] = {"postgresql": 5432, "mongodb": 27017}
WORKLOAD_KINDS: dict[str, WorkloadKind] = {
    "deployment": "Deployment",
    "deploy": "Deployment",
    "statefulset": "StatefulSet",
    "sts": "StatefulSet",
}
LOGIN_FIELDS: dict[str, tuple[str, ...]] = {
    "postgresql": ("username", "password", "database"),
    "mongodb": ("uri", "username", "password", "database"),
}
ENDPOINT_FIELDS: dict[str, tuple[str, ...]] = {
    "postgresql": ("host", "port", "database", "username", "password"),
    "mongodb": ("uri", "database"),
}
ENDPOINT_REQUIRED: dict[str, str] = {"postgresql": "host", "mongodb": "uri"}
TOP_KEYS = (
    "product",
    "release",
    "migration",
    "workloads",
    "datastores",
    "cli_key",
    "migration_images",
    "smoke",
    "admin_tasks",
)
DATASTORE_KEYS = ("title", "engine", "in_cluster", "external", "credentials", "endpoint_values")
IN_CLUSTER_KEYS = ("statefulset", "pod", "container", "service", "port", "enabled_value")
HTTP_KEYS = ("service", "port", "path", "method", "expect_status")
ADMIN_TASK_KEYS = ("title", "workload", "container", "command", "uses", "added_in", "removed_in")


def load_profile(path: Path, *, what: str = "profile", release: str | None = None) -> Profile:
    """Read the profile at ``path`` through the one YAML loader and check every field.

    ``what`` starts every message (the plugin passes its option's name); ``release`` renders
    the object names for another release name than the profile's own.
    """
    label = f"{what} {path}"
    data = load_yaml_file(path, what=what)
    return parse_profile(data, label, release=release)


def parse_profile(data: Any, label: str, *, release: str | None = None) -> Profile:
    """Check already-parsed profile data; ``label`` starts every message.

    The profile keeps its own copy of ``data`` (for :meth:`Profile.with_release`), so later
    changes to the caller's dict do not reach it.
    """
    return _Reader(label).profile(copy.deepcopy(data), release)


def _dotted(path: FieldPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "(top level)"


def _found(value: Any) -> str:
    """What was found, in words, for the message."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        if not value.strip():
            return "an empty string"
        return f"a string ({value if len(value) <= 60 else value[:57] + '...'!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, datetime.date):
        return f"a date ({value.isoformat()}; quote it to make it a string)"
    return type(value).__name__


def _with_form(expected: str, form: str) -> str:
    """``a Job name (string)`` and its form read as ``a Job name (string; lowercase ...)``."""
    if not form:
        return expected
    return f"{expected[:-1]}; {form})" if expected.endswith(")") else f"{expected} ({form})"


def _suggest(word: str, choices: Sequence[str]) -> str | None:
    """The choice ``word`` most likely meant: a close spelling, or one it contains or extends."""
    lowered = {choice.lower(): choice for choice in choices}
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    if close:
        return lowered[close[0]]
    within = [c for c in choices if len(c) >= 3 and (c.lower() in word.lower() or word.lower() in c.lower())]
    return max(within, key=len) if within and len(word) >= 3 else None


class _Reader:
    """Checks one profile; ``release`` is set once the top-level ``release`` is read."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.release = ""

    # ----------------------------------------------------------------- errors
    def fail(self, path: FieldPath, problem: str, hint: str | None = None) -> NoReturn:
        raise InputError(
            f"{self.label}: {_dotted(path)}: {problem}",
            hint=f"{hint}{' ' if hint.endswith(('?', '.')) else '. '}{README_HINT}" if hint else README_HINT,
        )

    def wrong(self, path: FieldPath, expected: str, value: Any, example: str | None = None) -> NoReturn:
        """The field holds the wrong kind of thing; the hint shows a good one."""
        hint = None
        if example:
            leaf = path[-1] if path and isinstance(path[-1], str) else None
            hint = f"write it like `{leaf}: {example}`" if leaf else f"for example {example}"
        self.fail(path, f"expected {expected}, got {_found(value)}", hint)

    # ----------------------------------------------------------------- shapes
    def section(self, value: Any, path: FieldPath, keys: Sequence[str], what: str) -> dict[str, Any]:
        """A mapping whose keys are all in ``keys``; a misspelt key gets a suggestion."""
        if not isinstance(value, dict):
            self.wrong(path, f"{what} (a mapping with the keys {', '.join(keys)})", value)
        for key in value:
            if not isinstance(key, str):
                self.fail((*path, str(key)), f"a key must be a string, got {_found(key)}", "quote the key")
            if key not in keys:
                close = _suggest(key, keys)
                guess = f"did you mean {close!r}? " if close else ""
                self.fail((*path, key), "unknown key", f"{guess}the keys here are: {', '.join(keys)}")
        return value

    def subsection(
        self, m: Mapping[str, Any], path: FieldPath, key: str, keys: Sequence[str], what: str, example: str
    ) -> dict[str, Any]:
        """The required section ``key`` of ``m``, checked by :meth:`section`."""
        return self.section(self.get(m, path, key, what, example), (*path, key), keys, what)

    def entries(self, value: Any, path: FieldPath, what: str, example: str) -> dict[str, Any]:
        """A non-empty mapping from names the user picks (datastores, components) to sections."""
        if not isinstance(value, dict) or not value:
            self.wrong(path, f"{what} (a mapping of names to sections)", value)
        for key in value:
            if not isinstance(key, str) or not ENTRY_NAME.match(key):
                self.fail(
                    (*path, str(key)),
                    f"expected a name of lowercase letters, digits, '-' and '_', got {_found(key)}",
                    f"use a name like {example}",
                )
        return value

    def get(self, m: Mapping[str, Any], path: FieldPath, key: str, expected: str, example: str) -> Any:
        """The value of a required field; missing and null are both refused."""
        value = m.get(key)
        if value is None:
            if key in m:
                self.wrong((*path, key), expected, None, example)
            self.fail((*path, key), f"missing; expected {expected}", f"add `{key}: {example}`")
        return value

    # ----------------------------------------------------------------- scalars
    def text(
        self,
        m: Mapping[str, Any],
        path: FieldPath,
        key: str,
        expected: str,
        example: str,
        *,
        pattern: re.Pattern[str] | None = None,
        form: str = "",
        template: bool = False,
        max_len: int = 253,
        default: str | None = None,
    ) -> str:
        """A string field; with a ``default`` it may be left out (or null)."""
        if default is not None and m.get(key) is None:
            return default
        value = self.get(m, path, key, expected, example)
        where = (*path, key)
        if not isinstance(value, str) or not value.strip():
            self.wrong(where, expected, value, example)
        rendered = self.render(value, where) if template else value
        if (pattern is not None and not pattern.match(rendered)) or len(rendered) > max_len:
            after = f" ({rendered!r} once ${{release}} is replaced)" if rendered != value else ""
            self.fail(
                where,
                f"expected {_with_form(expected, form)}, got {_found(value)}{after}",
                f"write it like `{key}: {example}`",
            )
        return rendered

    def name(
        self, m: Mapping[str, Any], path: FieldPath, key: str, what: str, example: str, **kw: Any
    ) -> str:
        """A Kubernetes object name; ``${release}`` is replaced."""
        form = "lowercase letters, digits, '-' and '.', at most 253 characters"
        return self.text(
            m, path, key, f"{what} (string)", example, pattern=OBJECT_NAME, template=True, form=form, **kw
        )

    def label_name(
        self, m: Mapping[str, Any], path: FieldPath, key: str, what: str, example: str, **kw: Any
    ) -> str:
        """A container or Service name: one DNS label, at most 63 characters."""
        form = "lowercase letters, digits and '-', at most 63 characters"
        return self.text(
            m,
            path,
            key,
            f"{what} (string)",
            example,
            pattern=LABEL_NAME,
            template=True,
            max_len=63,
            form=form,
            **kw,
        )

    def secret_key(self, m: Mapping[str, Any], path: FieldPath, key: str, example: str) -> str:
        """A key inside a Secret's data."""
        return self.text(
            m,
            path,
            key,
            "a key of that Secret (string)",
            example,
            pattern=SECRET_KEY,
            form="letters, digits, '-', '_' and '.'",
        )

    def render(self, value: str, where: FieldPath) -> str:
        """Replace ``${release}``; any other placeholder is a typo."""
        for match in PLACEHOLDER.finditer(value):
            if match.group(1) != "release":
                self.fail(
                    where,
                    f"unknown placeholder ${{{match.group(1)}}}",
                    "the only placeholder is ${release}, the Helm release name",
                )
        return value.replace("${release}", self.release)

    def integer(
        self,
        m: Mapping[str, Any],
        path: FieldPath,
        key: str,
        expected: str,
        example: str,
        low: int,
        high: int,
        *,
        default: int | None = None,
    ) -> int:
        if default is not None and m.get(key) is None:
            return default
        value = self.get(m, path, key, expected, example)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.wrong((*path, key), expected, value, example)
        return value

    def port(
        self, m: Mapping[str, Any], path: FieldPath, key: str, example: int, *, default: int | None = None
    ) -> int:
        return self.integer(m, path, key, "a port number (1-65535)", str(example), 1, 65535, default=default)

    def choice(
        self,
        m: Mapping[str, Any],
        path: FieldPath,
        key: str,
        choices: Sequence[T],
        *,
        default: T | None = None,
    ) -> T:
        """One of ``choices``; a near miss gets a suggestion."""
        if default is not None and m.get(key) is None:
            return default
        expected = "one of " + ", ".join(str(c) for c in choices)
        value = self.get(m, path, key, expected, str(choices[0]))
        for option in choices:
            if value == option:
                return option
        close = _suggest(value, [str(c) for c in choices]) if isinstance(value, str) else None
        self.fail(
            (*path, key),
            f"expected {expected}, got {_found(value)}",
            f"did you mean {close!r}?" if close else f"write it like `{key}: {choices[0]}`",
        )

    def values_key(self, m: Mapping[str, Any], path: FieldPath, key: str, example: str) -> ValuesKey:
        """A dotted values key, or a mapping ``{first release: key}`` for a key that moved."""
        expected = "a dotted values key (string), or a mapping of releases to keys"
        value = self.get(m, path, key, expected, example)
        where = (*path, key)
        if isinstance(value, str):
            return ValuesKey(((None, self.key_text(value, where, example)),))
        if not isinstance(value, dict) or not value:
            self.wrong(where, expected, value, example)
        spellings: list[tuple[Version, str]] = []
        for since, spelled in value.items():
            try:
                version = Version.parse(str(since))
            except VersionError as exc:
                self.fail(
                    (*where, str(since)),
                    f"expected a release like v24.06.01 as the key: {exc.message}",
                    "a moved key is written {first release: key}, e.g. {v24.06.01: db.primary.host}",
                )
            spellings.append((version, self.key_text(spelled, (*where, str(since)), example)))
        spellings.sort(key=lambda pair: pair[0])
        return ValuesKey(tuple(spellings))

    def optional_values_key(
        self, m: Mapping[str, Any], path: FieldPath, key: str, example: str
    ) -> ValuesKey | None:
        """:meth:`values_key`, or None when the field is left out."""
        return self.values_key(m, path, key, example) if m.get(key) is not None else None

    def key_text(self, value: Any, where: FieldPath, example: str) -> str:
        if not isinstance(value, str) or not VALUES_KEY.match(value):
            self.fail(
                where,
                f"expected a dotted values key like {example} (letters, digits, '_' and '-' between "
                f"dots), got {_found(value)}",
                "name the key as `helm --set` would, e.g. externalPostgres.host",
            )
        return value

    def listed(
        self,
        m: Mapping[str, Any],
        path: FieldPath,
        key: str,
        what: str,
        example: str,
        item: Callable[[Any, FieldPath], T],
        *,
        nonempty: bool = True,
    ) -> tuple[T, ...]:
        expected = f"a{' non-empty' if nonempty else ''} list of {what}"
        value = self.get(m, path, key, expected, f"[{example}]")
        if not isinstance(value, list) or (nonempty and not value):
            self.wrong((*path, key), expected, value, f"[{example}]")
        return tuple(item(entry, (*path, key, i)) for i, entry in enumerate(value))

    def workload(self, value: Any, where: FieldPath) -> WorkloadRef:
        expected = "a workload as Kind/name (Deployment or StatefulSet)"
        if not isinstance(value, str) or "/" not in value:
            self.fail(
                where, f"expected {expected}, got {_found(value)}", "for example Deployment/${release}-worker"
            )
        kind_text, _, name = value.partition("/")
        kind = WORKLOAD_KINDS.get(kind_text.strip().lower())
        if kind is None:
            close = _suggest(kind_text, ["Deployment", "StatefulSet"])
            self.fail(
                where,
                f"expected {expected}, got the kind {kind_text!r}",
                f"did you mean {close!r}?" if close else "only Deployments and StatefulSets are scaled",
            )
        rendered = self.render(name.strip(), where)
        if not OBJECT_NAME.match(rendered) or len(rendered) > 253:
            self.fail(
                where,
                f"expected {expected}, got the name {rendered!r}",
                "names are lowercase letters, digits, '-' and '.'",
            )
        return WorkloadRef(kind, rendered)

    # ----------------------------------------------------------------- sections
    def profile(self, data: Any, release: str | None) -> Profile:
        top = self.section(data, (), TOP_KEYS, "a product profile")
        self.release = self.release_name(top, release)
        datastores = self.datastores(top)
        profile = Profile(
            source=self.label,
            product=self.text(
                top, (), "product", "the product's name (string)", "Acme Cloud", default=self.release
            ),
            release=self.release,
            migration=self.migration(top, datastores),
            workloads=self.workloads(top),
            datastores=datastores,
            migration_images=self.migration_images(top),
            smoke=self.smoke(top),
            cli_key=self.cli_key(top) if top.get("cli_key") is not None else None,
            admin_tasks=self.admin_tasks(top),
            raw=top,
        )
        self.check_unique(profile)
        return profile

    def release_name(self, top: Mapping[str, Any], override: str | None) -> str:
        form = "lowercase letters, digits, '-' and '.', at most 53 characters, as Helm requires"
        # the file's own is checked even when overridden, so a bad file is never accepted
        own = self.text(
            top,
            (),
            "release",
            "the Helm release name (string)",
            "acme",
            pattern=OBJECT_NAME,
            form=form,
            max_len=53,
        )
        if override is None:
            return own
        if not OBJECT_NAME.match(override) or len(override) > 53:
            raise InputError(
                f"{self.label}: release name {override!r} is not a Helm release name", hint=f"use {form}"
            )
        return override

    def migration(self, top: Mapping[str, Any], datastores: tuple[Datastore, ...]) -> MigrationHook:
        path: FieldPath = ("migration",)
        m = self.subsection(
            top,
            (),
            "migration",
            ("job", "pods", "container", "database"),
            "the migration hook",
            "{job: ${release}-migrate, ...}",
        )
        job = self.name(m, path, "job", "a Job name", "${release}-migrate")
        labels = self.labels(m, path, "pods")
        container = self.label_name(m, path, "container", "a container name", "migrate")
        database = self.text(m, path, "database", "the name of a datastore (string)", "automation")
        postgres = [s.name for s in datastores if s.engine == "postgresql"]
        if database not in postgres:
            close = _suggest(database, postgres)
            self.fail(
                (*path, "database"),
                f"expected the name of a PostgreSQL datastore ({', '.join(postgres) or 'none defined'}), "
                f"got {_found(database)}",
                f"did you mean {close!r}?" if close else "name the datastore whose schema the hook migrates",
            )
        return MigrationHook(job, labels, container, database)

    def labels(self, m: Mapping[str, Any], path: FieldPath, key: str) -> tuple[tuple[str, str], ...]:
        example = "{app.kubernetes.io/instance: ${release}, app.kubernetes.io/component: migrate}"
        expected = "the labels of the hook's pods (a non-empty mapping of label to value)"
        value = self.get(m, path, key, expected, example)
        where = (*path, key)
        if not isinstance(value, dict) or not value:
            self.wrong(where, expected, value, example)
        out = []
        for label, text in value.items():
            if not isinstance(label, str) or not LABEL_KEY.match(label):
                self.fail(
                    (*where, str(label)),
                    f"expected a label key, got {_found(label)}",
                    f"for example {example}",
                )
            if not isinstance(text, str):
                self.wrong((*where, label), "a label value (string; quote numbers)", text, '"true"')
            rendered = self.render(text, (*where, label))
            if not LABEL_VALUE.match(rendered) or len(rendered) > 63:
                self.fail(
                    (*where, label),
                    f"expected a label value, got {_found(text)}",
                    "label values are at most 63 letters, digits, '-', '_' and '.'",
                )
            out.append((label, rendered))
        return tuple(out)

    def workloads(self, top: Mapping[str, Any]) -> Workloads:
        path: FieldPath = ("workloads",)
        m = self.subsection(
            top,
            (),
            "workloads",
            ("db_clients", "user_facing", "background"),
            "the workloads",
            "{db_clients: [...], user_facing: {...}}",
        )
        clients = self.listed(
            m,
            path,
            "db_clients",
            "workloads holding database connections",
            "Deployment/${release}-api",
            self.workload,
        )
        upath: FieldPath = (*path, "user_facing")
        u = self.subsection(
            m,
            path,
            "user_facing",
            ("isolate", "workloads", "maintenance_values"),
            "the user-facing workloads",
            "{isolate: scale-down, workloads: [...]}",
        )
        isolate = self.choice(u, upath, "isolate", ISOLATIONS)
        facing = self.listed(
            u,
            upath,
            "workloads",
            "user-facing workloads",
            "Deployment/${release}-web",
            self.workload,
            nonempty=isolate == "scale-down",
        )
        background = (
            self.listed(m, path, "background", "workloads running background jobs",
                        "Deployment/${release}-worker", self.workload, nonempty=False)
            if "background" in m
            else ()
        )
        return Workloads(
            clients, UserFacing(isolate, facing, self.maintenance_values(u, upath, isolate)), background
        )

    def maintenance_values(
        self, u: Mapping[str, Any], path: FieldPath, isolate: Isolation
    ) -> tuple[tuple[str, Scalar], ...]:
        example = "{maintenance.enabled: true}"
        where = (*path, "maintenance_values")
        if u.get("maintenance_values") is None and isolate != "maintenance":
            return ()
        value = self.get(u, path, "maintenance_values", "the values that switch maintenance mode on", example)
        if isolate != "maintenance":
            self.fail(
                where, "only used with `isolate: maintenance`", "remove it, or set isolate: maintenance"
            )
        if not isinstance(value, dict) or not value:
            self.wrong(where, "a non-empty mapping of values keys to values", value, example)
        out: list[tuple[str, Scalar]] = []
        for key, setting in value.items():
            self.key_text(key, (*where, str(key)), "maintenance.enabled")
            if setting is None or isinstance(setting, list | dict):
                self.wrong((*where, key), "a plain value (string, number or boolean)", setting, "true")
            out.append((key, setting))
        return tuple(out)

    def datastores(self, top: Mapping[str, Any]) -> tuple[Datastore, ...]:
        value = self.get(top, (), "datastores", "the product's datastores (a mapping)", "{automation: {...}}")
        stores = self.entries(value, ("datastores",), "the product's datastores", "automation")
        return tuple(self.datastore(name, spec, ("datastores", name)) for name, spec in stores.items())

    def datastore(self, name: str, spec: Any, path: FieldPath) -> Datastore:
        m = self.section(spec, path, DATASTORE_KEYS, "a datastore")
        engine = self.choice(m, path, "engine", ENGINES)
        title = self.text(
            m, path, "title", "a title for reports (string)", "Automation PostgreSQL", default=name
        )
        in_cluster = self.in_cluster(m, path, engine) if m.get("in_cluster") is not None else None
        external = self.external(m, path, engine) if m.get("external") is not None else None
        if (in_cluster is None) == (external is None):
            self.fail(
                path,
                f"expected exactly one of in_cluster and external, got {'both' if in_cluster else 'neither'}",
                "in_cluster: the chart runs the database in a StatefulSet; external: a managed database",
            )
        return Datastore(
            name=name,
            title=title,
            engine=engine,
            credentials=self.credentials(m, path, engine),
            endpoint_values=self.endpoint_values(m, path, engine),
            in_cluster=in_cluster,
            external=external,
        )

    def in_cluster(self, m: Mapping[str, Any], path: FieldPath, engine: Engine) -> InCluster:
        where = (*path, "in_cluster")
        c = self.section(m["in_cluster"], where, IN_CLUSTER_KEYS, "the in-cluster datastore")
        statefulset = self.name(c, where, "statefulset", "a StatefulSet name", "${release}-postgresql")
        return InCluster(
            statefulset=statefulset,
            pod=self.name(
                c, where, "pod", "a pod name", "${release}-postgresql-0", default=f"{statefulset}-0"
            ),
            container=self.label_name(c, where, "container", "a container name", "postgresql"),
            service=self.label_name(
                c, where, "service", "a Service name", "${release}-postgresql", default=statefulset
            ),
            port=self.port(c, where, "port", DEFAULT_PORTS[engine], default=DEFAULT_PORTS[engine]),
            enabled_value=self.optional_values_key(c, where, "enabled_value", "postgresql.enabled"),
        )

    def external(self, m: Mapping[str, Any], path: FieldPath, engine: Engine) -> External:
        where = (*path, "external")
        e = self.section(m["external"], where, ("host", "port"), "the external datastore")
        host = self.text(
            e,
            where,
            "host",
            "a host name (string)",
            "db.example.com",
            template=True,
            pattern=HOST_NAME,
            form="a DNS name or IP address",
        )
        return External(
            host, self.port(e, where, "port", DEFAULT_PORTS[engine], default=DEFAULT_PORTS[engine])
        )

    def credentials(self, m: Mapping[str, Any], path: FieldPath, engine: Engine) -> Credentials:
        where = (*path, "credentials")
        c = self.subsection(
            m,
            path,
            "credentials",
            ("values", "secret", "key"),
            "where the datastore's login lives",
            "{secret: ${release}-db, key: password}",
        )
        secret = (
            self.name(c, where, "secret", "a Secret name", "${release}-credentials")
            if "secret" in c
            else None
        )
        key = self.secret_key(c, where, "key", "db-password") if "key" in c else None
        if (secret is None) != (key is None):
            missing, given = ("key", "secret") if key is None else ("secret", "key")
            self.fail(
                (*where, missing),
                f"missing; {given} needs it",
                "give the Secret's name (secret) and the key inside it (key) together",
            )
        if secret is None and c.get("values") is None:
            self.fail(
                where,
                "expected values, or secret and key, got neither",
                "name the values keys of the login, or the Secret the chart renders it into",
            )
        login = LoginValues()
        if c.get("values") is not None:
            vpath = (*where, "values")
            fields = LOGIN_FIELDS[engine]
            v = self.section(c["values"], vpath, fields, f"the values keys of the {engine} login")
            login = LoginValues(
                **{f: self.optional_values_key(v, vpath, f, f"externalDb.{f}") for f in fields}
            )
        return Credentials(values=login, secret=secret, key=key)

    def endpoint_values(self, m: Mapping[str, Any], path: FieldPath, engine: Engine) -> EndpointValues:
        where = (*path, "endpoint_values")
        fields = ENDPOINT_FIELDS[engine]
        e = self.subsection(
            m,
            path,
            "endpoint_values",
            fields,
            "the values keys that point the chart at the datastore",
            "{host: externalDb.host}",
        )
        keys = {f: self.optional_values_key(e, where, f, f"externalDb.{f}") for f in fields}
        required = ENDPOINT_REQUIRED[engine]
        if keys[required] is None:
            self.values_key(e, where, required, f"externalDb.{required}")  # refuses it as missing
        return EndpointValues(**keys)

    def cli_key(self, top: Mapping[str, Any]) -> CliKey:
        where: FieldPath = ("cli_key",)
        c = self.section(top["cli_key"], where, ("secret", "key", "values_key"), "the CLI key Secret")
        return CliKey(
            secret=self.name(c, where, "secret", "a Secret name", "${release}-cli-public-key"),
            key=self.secret_key(c, where, "key", "public.pem"),
            values_key=self.optional_values_key(c, where, "values_key", "credentials.cliPublicKey"),
        )

    def migration_images(self, top: Mapping[str, Any]) -> tuple[MigrationImage, ...]:
        value = self.get(
            top,
            (),
            "migration_images",
            "the images holding db/migrate and db/data (a mapping)",
            "{api: {image: {...}, app_path: /app}}",
        )
        images = self.entries(
            value, ("migration_images",), "the images holding db/migrate and db/data", "automation"
        )
        return tuple(
            self.migration_image(component, spec, ("migration_images", component))
            for component, spec in images.items()
        )

    def migration_image(self, component: str, spec: Any, where: FieldPath) -> MigrationImage:
        s = self.section(spec, where, ("image", "app_path"), "a migration image")
        ipath = (*where, "image")
        i = self.subsection(
            s,
            where,
            "image",
            ("repository", "tag", "registry"),
            "the values keys naming the image",
            "{repository: api.image.repository, ...}",
        )
        image = ImageValues(
            repository=self.values_key(i, ipath, "repository", f"{component}.image.repository"),
            tag=self.values_key(i, ipath, "tag", f"{component}.image.tag"),
            registry=self.optional_values_key(i, ipath, "registry", "global.imageRegistry"),
        )
        app_path = self.text(s, where, "app_path", "the Rails root inside the image (string)", "/app")
        posix = PurePosixPath(app_path)
        if not posix.is_absolute() or ".." in posix.parts:
            self.fail(
                (*where, "app_path"),
                f"expected an absolute path without '..', got {_found(app_path)}",
                "the folder that holds db/migrate in the image, e.g. /app (its WORKDIR)",
            )
        return MigrationImage(component, image, str(posix))

    def smoke(self, top: Mapping[str, Any]) -> SmokeChecks:
        path: FieldPath = ("smoke",)
        s = self.subsection(
            top,
            (),
            "smoke",
            ("studio", "invite", "cli"),
            "the smoke checks",
            "{studio: {service: ..., port: ..., path: /}}",
        )
        studio = self.subsection(
            s, path, "studio", HTTP_KEYS, "the Studio check", "{service: ${release}-web, port: 80, path: /}"
        )
        return SmokeChecks(
            studio=self.http(studio, (*path, "studio"), "GET"),
            invite=self.invite(s, path) if s.get("invite") is not None else None,
            cli=self.cli(s, path) if s.get("cli") is not None else None,
        )

    def invite(self, s: Mapping[str, Any], path: FieldPath) -> InviteCheck:
        where = (*path, "invite")
        i = self.section(s["invite"], where, (*HTTP_KEYS, "email_field", "smtp_values"), "the invite check")
        smtp_path = (*where, "smtp_values")
        smtp = self.subsection(
            i,
            where,
            "smtp_values",
            ("host", "port", "username", "password"),
            "the values keys of the SMTP settings",
            "{host: smtp.host, port: smtp.port}",
        )
        return InviteCheck(
            request=self.http(i, where, "POST"),
            email_field=self.text(
                i, where, "email_field", "the request's e-mail field (string)", "email", default="email"
            ),
            smtp_values=SmtpValues(
                host=self.values_key(smtp, smtp_path, "host", "credentials.smtp.host"),
                port=self.values_key(smtp, smtp_path, "port", "credentials.smtp.port"),
                username=self.optional_values_key(smtp, smtp_path, "username", "credentials.smtp.username"),
                password=self.optional_values_key(smtp, smtp_path, "password", "credentials.smtp.password"),
            ),
        )

    def cli(self, s: Mapping[str, Any], path: FieldPath) -> CliCheck:
        where = (*path, "cli")
        c = self.section(s["cli"], where, (*HTTP_KEYS, "signature_header"), "the CLI check")
        return CliCheck(
            request=self.http(c, where, "POST"),
            signature_header=self.text(
                c,
                where,
                "signature_header",
                "an HTTP header name (string)",
                "X-Signature",
                pattern=HTTP_TOKEN,
                form="an HTTP token",
            ),
        )

    def http(self, m: Mapping[str, Any], path: FieldPath, method: str) -> HttpCheck:
        return HttpCheck(
            service=self.label_name(m, path, "service", "a Service name", "${release}-web"),
            port=self.port(m, path, "port", 8080),
            path=self.text(
                m,
                path,
                "path",
                "a URL path starting with / (string)",
                "/",
                pattern=URL_PATH,
                form="no spaces",
            ),
            expect_status=self.integer(
                m, path, "expect_status", "an HTTP status (100-599)", "200", 100, 599, default=200
            ),
            method=self.choice(m, path, "method", HTTP_METHODS, default=method),
        )

    def admin_tasks(self, top: Mapping[str, Any]) -> tuple[AdminTask, ...]:
        # An empty mapping is "no admin tasks", like leaving the section out.
        if top.get("admin_tasks") is None or top["admin_tasks"] == {}:
            return ()
        tasks = self.entries(
            top["admin_tasks"], ("admin_tasks",), "the product's admin tasks", "legacy-reports"
        )
        return tuple(self.admin_task(name, spec, ("admin_tasks", name)) for name, spec in tasks.items())

    def admin_task(self, name: str, spec: Any, path: FieldPath) -> AdminTask:
        m = self.section(spec, path, ADMIN_TASK_KEYS, "an admin task")
        expected = "a workload as Kind/name (Deployment or StatefulSet)"
        self.get(m, path, "workload", expected, "Deployment/${release}-api")
        workload = self.workload(m["workload"], (*path, "workload"))
        container = (
            self.label_name(m, path, "container", "a container name", "api")
            if m.get("container") is not None
            else None
        )
        uses = (
            self.listed(
                m,
                path,
                "uses",
                "tables or table.column names",
                "legacy_reports",
                self.sql_object,
                nonempty=False,
            )
            if m.get("uses") is not None
            else ()
        )
        added_in = self.optional_release(m, path, "added_in")
        removed_in = self.optional_release(m, path, "removed_in")
        if added_in is not None and removed_in is not None and not added_in < removed_in:
            self.fail(
                (*path, "removed_in"),
                f"expected a release after added_in ({added_in}), got {_found(m['removed_in'])}",
                "removed_in is the first release whose image no longer has the task",
            )
        return AdminTask(
            name=name,
            title=self.text(m, path, "title", "a title for reports (string)", "Legacy reports", default=name),
            workload=workload,
            command=self.command(m, path),
            container=container,
            uses=uses,
            added_in=added_in,
            removed_in=removed_in,
        )

    def command(self, m: Mapping[str, Any], path: FieldPath) -> tuple[str, ...]:
        """An argv list: it runs through ``kubectl exec`` with no shell to split a string."""
        example = '["bin/rails", "admin:legacy_reports"]'
        expected = "a command as a non-empty list of strings (run without a shell)"
        value = self.get(m, path, "command", expected, example)
        where = (*path, "command")
        if isinstance(value, str) and value.strip():
            try:
                words = shlex.split(value)
            except ValueError:
                words = []
            spelled = f"[{', '.join(json.dumps(w) for w in words)}]" if words else example
            self.fail(
                where,
                f"expected {expected}, got {_found(value)}",
                f"write each word as a list item, like `command: {spelled}`",
            )
        if not isinstance(value, list) or not value:
            self.wrong(where, expected, value, example)
        for index, word in enumerate(value):
            if not isinstance(word, str) or not word:
                self.fail(
                    (*where, index),
                    f"expected a word of the command (a non-empty string), got {_found(word)}",
                    'quote a word YAML would read as a number, boolean or null, e.g. "10"',
                )
        return tuple(value)

    def sql_object(self, value: Any, where: FieldPath) -> str:
        if not isinstance(value, str) or not SQL_OBJECT.match(value):
            self.fail(
                where,
                f"expected a table or table.column name (an unquoted SQL name), got {_found(value)}",
                "name what the task reads as the migration names it, e.g. legacy_reports or "
                "projects.legacy_notes",
            )
        return value

    def optional_release(self, m: Mapping[str, Any], path: FieldPath, key: str) -> Version | None:
        if m.get(key) is None:
            return None
        value = m[key]
        if not isinstance(value, str):
            self.wrong((*path, key), "a release like v24.06.01 (string)", value, "v24.06.01")
        try:
            return Version.parse(value)
        except VersionError as exc:
            self.fail(
                (*path, key),
                f"expected a release like v24.06.01: {exc.message}",
                f"write it like `{key}: v24.06.01`",
            )

    # ----------------------------------------------------------------- across sections
    def check_unique(self, profile: Profile) -> None:
        """A workload listed twice would be scaled down twice and given back the wrong count."""
        seen: dict[tuple[str, str], str] = {}
        lists = (
            (("workloads", "db_clients"), profile.workloads.db_clients),
            (("workloads", "user_facing", "workloads"), profile.workloads.user_facing.workloads),
        )
        for where, refs in lists:
            for index, ref in enumerate(refs):
                here: FieldPath = (*where, index)
                first = seen.setdefault((ref.kind, ref.name), _dotted(here))
                if first != _dotted(here):
                    self.fail(
                        here,
                        f"{ref} is listed twice (first at {first})",
                        "list each workload once: either it holds database connections or it is user-facing",
                    )
