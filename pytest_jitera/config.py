"""One typed, frozen view of every ``--jitera-*`` setting and where it came from.

A value may come from the command line, the ini file (``pytest.ini``/``pyproject.toml``) or an
environment variable; the command line wins, then the environment, then the ini file. The
report header shows the source of each value, so a nightly matrix log says exactly what ran.
This module does not import pytest: :func:`resolve` takes plain lookup callables.

A setting that is *given but blank* (``--jitera-from=``, ``JITERA_FROM=""``, ``jitera_from =``)
is refused rather than read as "not given": it is almost always an unset shell or CI variable,
and silently running no rehearsal would report success for a check that never ran.

The path checks here are shared by the plugin and the ``pytest-jitera`` command, so both refuse
an unusable path before any work starts, with the option's name in the message (spelled by each
front end, see :func:`pytest_jitera.errors.option`).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from pytest_jitera.errors import OptionError, VersionError, option
from pytest_jitera.profile import REFERENCE_PROFILE
from pytest_jitera.release.matrix import MatrixError, is_window, split_starts
from pytest_jitera.release.versions import Version
from pytest_jitera.seed.dumps import SEED_OPTIONS, SeedDumps, check_dump_path


class Source(str, Enum):
    """Where a setting's value came from."""

    CLI = "command line"
    ENV = "environment"
    INI = "ini file"
    DEFAULT = "default"


@dataclass(frozen=True)
class Setting:
    """Declaration of one ``--jitera-*`` option and its ini/env twins."""

    name: str  # e.g. "from" -> --jitera-from, ini jitera_from, env JITERA_FROM
    help: str
    kind: str = "str"  # "str", "version", "starts", "path", "paths", "bool", "choice"
    default: Any = None
    # What a good value looks like, for the hint when the setting is given but blank.
    example: str = "a value"
    # The only values a "choice" setting accepts, in the order messages and --help list them.
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # A declaration mistake, caught at import: a choice setting whose default it would
        # refuse could never be left out.
        if (self.kind == "choice") != bool(self.choices):
            raise ValueError(f"setting {self.name!r}: choices go with kind='choice' and only with it")
        if self.choices and self.default not in self.choices:
            raise ValueError(f"setting {self.name!r}: default {self.default!r} is not one of its choices")

    @property
    def flag(self) -> str:
        """The command-line option."""
        return "--jitera-" + self.name.replace("_", "-")

    @property
    def ini(self) -> str:
        """The ini key."""
        return "jitera_" + self.name.replace("-", "_")

    @property
    def env(self) -> str:
        """The environment variable."""
        return "JITERA_" + self.name.replace("-", "_").upper()

    @property
    def dest(self) -> str:
        """The attribute name on pytest's option namespace."""
        return "jitera_" + self.name.replace("-", "_")


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "from",
        "release currently installed, e.g. v24.05.01; a matrix: several (v24.05.01,v24.06.01) "
        "or last:N (the newest patch of each of the N minors before --jitera-to)",
        kind="starts",
        default=(),
        example="a release like v24.05.01, a list v24.05.01,v24.06.01, or last:3",
    ),
    Setting(
        "to",
        "release to upgrade to, e.g. v24.06.01",
        kind="version",
        example="a release like v24.06.01",
    ),
    Setting(
        "charts",
        "folder of jitera-helm-<VERSION>.zip files and/or extracted chart folders, or a Helm "
        "repository index.yaml (default: the embedded reference series)",
        kind="path",
        example="a folder of chart zips or an index.yaml",
    ),
    Setting(
        "values",
        "your Helm values override file; repeat for several (applied in order)",
        kind="paths",
        default=(),
        example="the path of a values file",
    ),
    Setting(
        "profile",
        "product profile YAML: release, migration hook, workloads, datastores, CLI key, smoke checks "
        "(default: the shipped reference stack's profile)",
        kind="path",
        default=REFERENCE_PROFILE,
        example="the path of a product profile YAML file",
    ),
    Setting(
        "kubeconfig",
        "use the existing cluster of this kubeconfig instead of creating a kind cluster",
        kind="path",
        example="the path of a kubeconfig file",
    ),
    Setting(
        "install-helm",
        "install the source release with this helm binary (a Helm 3, say) and upgrade with the "
        "default one: rehearses handing a release to Helm 4, with its apply method reported",
        kind="path",
        example="the path of a helm binary",
    ),
    Setting(
        "cluster",
        "with -n N: one kind cluster per xdist worker, or one cluster all workers share (a "
        "namespace per rehearsal); --jitera-kubeconfig is always shared",
        kind="choice",
        default="per-worker",
        choices=("per-worker", "shared"),
        example="per-worker or shared",
    ),
    Setting(
        "shard",
        "run only shard K of N of the matrix (deterministic round-robin over the start versions), "
        "for one CI job of N; merge the report folders with: pytest-jitera report merge",
        kind="str",
        example="K/N, e.g. 1/2",
    ),
    Setting(
        "starting-state",
        "use: start from the cached state after installing the first release (snapshots verified, "
        "saved by an earlier run with the same charts, values, profile and images) instead of "
        "installing again, and save one when there is none; refresh: install and replace it; "
        "off: neither read nor write it",
        kind="choice",
        default="use",
        choices=("use", "refresh", "off"),
        example="use, refresh or off",
    ),
    Setting(
        "reuse-cluster",
        "use the kind cluster of this name, creating it on first use, and keep it for the next "
        "run (each run deletes only its own namespaces; with -n N the workers share it)",
        kind="str",
        example="a kind cluster name, e.g. jitera-dev",
    ),
    Setting(
        "seed-postgres",
        "rehearse on your data: a pg_dump (custom -Fc file or directory -Fd folder) of the Automation "
        "database at the first release, restored after installing it; its schema_migrations and "
        "data_migrations must be that release's",
        kind="path",
        example="the path of a pg_dump -Fc file or -Fd folder",
    ),
    Setting(
        "seed-pgvector",
        "a pg_dump (-Fc file or -Fd folder) of the PGVector database, restored with the Automation one",
        kind="path",
        example="the path of a pg_dump -Fc file or -Fd folder",
    ),
    Setting(
        "seed-mongo",
        "a mongodump of the MongoDB database (an --archive file, which needs mongorestore, or an "
        "--out folder of one database), restored with the others",
        kind="path",
        example="the path of a mongodump archive or folder",
    ),
    Setting(
        "mask",
        "masking file for the seeded data, one line per column: table.column: null, hash, email or "
        "constant:VALUE (pgvector:table.column for the PGVector database); applied inside the "
        "rehearsal's copy before the first hop, and proved",
        kind="path",
        example="the path of a masking YAML file",
    ),
    Setting(
        "no-cluster",
        "run only the checks that need no cluster (plan, chart and values diffs): a quick "
        "pre-check, not a rehearsal",
        kind="bool",
        default=False,
    ),
    Setting(
        "air-gapped",
        "no registry can be reached: use locally built images for the reference stack's "
        "datastores and the mail catcher (see: pytest-jitera bootstrap --air-gapped)",
        kind="bool",
        default=False,
    ),
    Setting(
        "keep-on-failure",
        "keep the rehearsal's namespace (and a kind cluster) when a test failed",
        kind="bool",
        default=False,
    ),
    Setting(
        "keep-cluster",
        "keep kind clusters (and their kubeconfig) after the run for inspection",
        kind="bool",
        default=False,
    ),
    Setting(
        "report",
        "folder for the run report, dumps, chart diffs and cluster logs",
        kind="path",
        default=Path("jitera-report"),
        example="a folder path",
    ),
    Setting(
        "kind-image", "kind node image to create clusters from", kind="str", example="a node image name"
    ),
    Setting(
        "tools-dir",
        "folder searched before PATH for docker, kind, helm and kubectl",
        kind="path",
        example="a folder",
    ),
    Setting(
        "writes-during-rollback",
        "writes may reach the databases while a rollback is in progress (forces Scenario 3)",
        kind="bool",
        default=False,
    ),
    Setting(
        "full-consistency",
        "the data must be exactly consistent after a rollback, which only a snapshot restore "
        "guarantees (forces Scenario 3, like --jitera-writes-during-rollback)",
        kind="bool",
        default=False,
    ),
    Setting(
        "scenario",
        "rehearse this rollback scenario instead of the classified one",
        kind="choice",
        default="auto",
        choices=("auto", "1", "2", "3"),
        example="auto, 1, 2 or 3",
    ),
    Setting(
        "rollback-strategy",
        "which Scenario 3 procedure(s) to rehearse: restore into a new database instance, restore "
        "in place, or both",
        kind="choice",
        default="new-instance",
        choices=("new-instance", "in-place", "both"),
        example="new-instance, in-place or both",
    ),
    Setting(
        "rollback",
        "auto rehearses the rollback each hop's scenario calls for; none rehearses the upgrade alone",
        kind="choice",
        default="auto",
        choices=("auto", "none"),
        example="auto or none",
    ),
    Setting(
        "skip-second-scale-down",
        "in the in-place procedure, leave out the second scale-down, to show DROP DATABASE "
        "refused while the pods revived by helm rollback are connected",
        kind="bool",
        default=False,
    ),
)


@dataclass(frozen=True)
class JiteraConfig:
    """The resolved settings of one run; the releases are already parsed."""

    # Start versions as given, each a release (normalized) or a last:N window; more than one
    # item, or a window, makes the run a matrix (see pytest_jitera.release.matrix).
    starts: tuple[str, ...] = ()
    to_version: Version | None = None
    charts: Path | None = None
    values: tuple[Path, ...] = ()
    profile: Path = REFERENCE_PROFILE
    kubeconfig: Path | None = None
    install_helm: Path | None = None
    cluster: str = "per-worker"
    shard: str | None = None
    starting_state: str = "use"
    reuse_cluster: str | None = None
    seed_postgres: Path | None = None
    seed_pgvector: Path | None = None
    seed_mongo: Path | None = None
    mask: Path | None = None
    no_cluster: bool = False
    air_gapped: bool = False
    keep_on_failure: bool = False
    keep_cluster: bool = False
    report: Path = Path("jitera-report")
    kind_image: str | None = None
    tools_dir: Path | None = None
    writes_during_rollback: bool = False
    full_consistency: bool = False
    scenario: str = "auto"
    rollback_strategy: str = "new-instance"
    rollback: str = "auto"
    skip_second_scale_down: bool = False
    sources: dict[str, Source] = field(default_factory=dict, compare=False)

    @property
    def seeds(self) -> SeedDumps:
        """The operator's dumps the rehearsal starts from (none given: the install's own rows)."""
        return SeedDumps(self.seed_postgres, self.seed_pgvector, self.seed_mongo)

    def describe(self) -> list[str]:
        """Lines for the pytest report header: each set value and its source."""
        lines = []
        for setting in SETTINGS:
            attr = _attr(setting)
            value = getattr(self, attr)
            if value in (None, (), False) and self.sources.get(attr) in (None, Source.DEFAULT):
                continue
            if isinstance(value, tuple):
                value = ("," if setting.kind == "starts" else ", ").join(str(v) for v in value)
            lines.append(f"{setting.flag}={value} ({self.sources.get(attr, Source.DEFAULT).value})")
        return lines


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _attr(setting: Setting) -> str:
    return {"from": "starts", "to": "to_version"}.get(setting.name, setting.name.replace("-", "_"))


def _where(setting: Setting, source: Source) -> str:
    """How the user spelled the setting, so the message points at the line to fix."""
    if source is Source.ENV:
        return f"environment variable {setting.env}"
    if source is Source.INI:
        return f"ini key {setting.ini}"
    return option(setting.name)


def _refuse_blank(setting: Setting, raw: Any, source: Source) -> None:
    """Given but blank is an error, never "not given" (see the module docstring)."""
    if setting.kind == "bool":
        return  # an empty boolean reads as false, like most tools read FOO= in the environment
    items = raw if isinstance(raw, list | tuple) else [raw]
    if items and all(str(item).strip() for item in items):
        return
    leave_out = "run no rehearsal" if setting.name in ("from", "to") else "use the default"
    how = {Source.ENV: f"unset {setting.env}", Source.INI: "remove the line"}.get(source, "leave it out")
    raise OptionError(
        f"{_where(setting, source)} is empty",
        hint=f"give {setting.example}, or {how} to {leave_out}",
        option=setting.name,
    )


def _convert(setting: Setting, raw: Any, base: Path, source: Source) -> Any:
    _refuse_blank(setting, raw, source)
    if setting.kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise OptionError(
            f"{_where(setting, source)}: expected true or false, got {raw!r}",
            hint="use 1/0, true/false, yes/no or on/off",
            option=setting.name,
        )
    if setting.kind == "version":
        return parse_version_option(str(raw), setting.name)
    if setting.kind == "starts":
        return parse_starts_option(str(raw), setting.name)
    if setting.kind == "path":
        path = Path(str(raw).strip()).expanduser()
        return path if path.is_absolute() else base / path
    if setting.kind == "paths":
        # Empty items between separators ("a.yaml::b.yaml") are skipped, as in PATH.
        items: Sequence[Any] = raw.split(os.pathsep) if isinstance(raw, str) else raw
        single = Setting(setting.name, "", "path", example=setting.example)
        return tuple(_convert(single, i, base, source) for i in items if str(i).strip())
    if setting.kind == "choice":
        return _choose(setting, raw, source)
    return str(raw).strip()


def _choose(setting: Setting, raw: Any, source: Source) -> str:
    """A "choice" value, refused with the full list: a typo must not fall back to the default.

    Case is ignored (``In-Place`` from a CI matrix means ``in-place``); argparse's own
    ``choices`` is not used because it would check the command line only, not env or ini.
    """
    text = str(raw).strip().lower()
    if text in setting.choices:
        return text
    listed = ", ".join(setting.choices)
    raise OptionError(
        f"{_where(setting, source)}: {str(raw).strip()!r} is not one of {listed}",
        hint=f"use one of {listed} (default {setting.default})",
        option=setting.name,
    )


def resolve(
    cli: Callable[[Setting], Any],
    ini: Callable[[Setting], Any],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    inipath_dir: Path | None = None,
) -> JiteraConfig:
    """Merge command line, environment and ini values into a :class:`JiteraConfig`.

    ``cli`` and ``ini`` return ``None`` (or an empty list) when the setting was not given
    there; an empty string means "given, but blank" and raises :class:`OptionError`. Relative
    paths from the command line or environment are taken from ``cwd``; those from the ini file
    from the ini file's folder, as pytest does for ``testpaths``. Releases are parsed here,
    once; a malformed one raises :class:`VersionError` naming the option.
    """
    env = dict(os.environ) if env is None else env
    cwd = cwd or Path.cwd()
    ini_base = inipath_dir or cwd
    values: dict[str, Any] = {}
    sources: dict[str, Source] = {}
    for setting in SETTINGS:
        attr = _attr(setting)
        raw_cli = cli(setting)
        raw_ini = ini(setting)
        if raw_cli not in (None, [], ()):
            values[attr], sources[attr] = _convert(setting, raw_cli, cwd, Source.CLI), Source.CLI
        elif setting.env in env:
            values[attr], sources[attr] = _convert(setting, env[setting.env], cwd, Source.ENV), Source.ENV
        elif raw_ini not in (None, [], ()):
            values[attr], sources[attr] = _convert(setting, raw_ini, ini_base, Source.INI), Source.INI
        else:
            default = setting.default
            if isinstance(default, Path) and not default.is_absolute():
                default = cwd / default
            values[attr], sources[attr] = default, Source.DEFAULT
    return JiteraConfig(**values, sources=sources)


def default_charts_source() -> Path:
    """The catalog used when no charts are given: the embedded reference series.

    The plugin (no ``--jitera-charts``) and ``pytest-jitera plan`` (no ``--charts``) must plan
    against the same releases, so both ask here. The zips are built on first use, then cached.
    """
    from pytest_jitera.reference.embedded import default_catalog_dir

    return default_catalog_dir()


def parse_starts_option(text: str, name: str) -> tuple[str, ...]:
    """The start versions as given: releases (checked and normalized here) and ``last:N`` windows.

    A window needs the catalog, so it is expanded later (:mod:`pytest_jitera.release.matrix`);
    a malformed release is refused now, naming the option, like any other version.
    """
    try:
        items = split_starts(text)
    except MatrixError as exc:
        raise OptionError(exc.message_template, hint=exc.hint_template, option=name) from None
    return tuple(item if is_window(item) else str(parse_version_option(item, name)) for item in items)


_CLUSTER_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$")


def check_reuse_cluster(cfg: JiteraConfig) -> None:
    """A kept cluster needs a name kind and Docker accept, and is ours to make, not the user's."""
    name = cfg.reuse_cluster or ""
    if not _CLUSTER_NAME.match(name):
        raise OptionError(
            f"{option('reuse-cluster')}={name!r} is not a usable kind cluster name",
            hint="use 1 to 40 lowercase letters, digits and dashes, e.g. jitera-dev",
            option="reuse-cluster",
        )
    if cfg.kubeconfig is not None:
        raise OptionError(
            f"{option('reuse-cluster')} and {option('kubeconfig')} both name the cluster to use",
            hint="pass one: --jitera-kubeconfig for a cluster of yours, --jitera-reuse-cluster for "
            "a kind cluster this plugin keeps between runs",
            option="reuse-cluster",
        )


def parse_version_option(text: str, name: str) -> Version:
    """Parse the release given to option ``name``; the error says which option was wrong."""
    try:
        return Version.parse(text)
    except VersionError as exc:
        raise VersionError(f"{option(name)}: {exc.message_template}", hint=exc.hint_template) from exc


def _stat(path: Path, name: str) -> os.stat_result | None:
    """``os.stat`` that answers None for "does not exist" and refuses what cannot be looked at."""
    try:
        return path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise OptionError(
            f"{option(name)} {path}: cannot be read ({exc.strerror})",
            hint="fix the permissions of the folders on the way to it, or pass another path",
            option=name,
        ) from exc


def check_input_file(path: Path, name: str) -> Path:
    """Refuse an input file that is missing, a folder or unreadable, before any work starts.

    Pipes and devices (``<(...)``, ``/dev/stdin``) are accepted: anything that is not a folder
    and can be opened for reading is a file to the user.
    """
    info = _stat(path, name)
    if info is None:
        where = "" if path.is_absolute() else f" (relative paths are taken from {Path.cwd()})"
        raise OptionError(
            f"{option(name)} {path}: no such file",
            hint=f"check the path{where}",
            option=name,
        )
    if stat.S_ISDIR(info.st_mode):
        raise OptionError(
            f"{option(name)} {path} is a folder, not a file",
            hint=_folder_hint(path, name),
            option=name,
        )
    if not os.access(path, os.R_OK):
        raise OptionError(
            f"{option(name)} {path} is not readable",
            hint="fix its permissions (chmod u+r) or pass a copy you can read",
            option=name,
        )
    return path


def _folder_hint(folder: Path, name: str) -> str:
    """Show how to pass the YAML files of a folder given where one file is expected."""
    try:
        found = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    except OSError:
        found = []
    if not found:
        return f"give {option(name)} a file, not a folder"
    return "pass its files one by one, e.g. " + " ".join(f"{option(name)} {p}" for p in found[:3])


def check_output_dir(path: Path, name: str) -> Path:
    """Refuse an output folder that exists as a file or cannot be created, before any work starts."""
    info = _stat(path, name)
    if info is not None and not stat.S_ISDIR(info.st_mode):
        raise OptionError(
            f"{option(name)} {path} exists and is not a folder",
            hint=f"pass a folder path instead (it is created if missing), or move {path} away",
            option=name,
        )
    existing = path
    while info is None and existing.parent != existing:
        existing = existing.parent
        info = _stat(existing, name)
    if info is not None and not stat.S_ISDIR(info.st_mode):
        raise OptionError(
            f"{option(name)} {path}: {existing} is a file, so the folder cannot be created",
            hint="pass a folder path whose parents are folders",
            option=name,
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OptionError(
            f"{option(name)} {path}: {existing} is not writable",
            hint="pass a folder you can write to",
            option=name,
        )
    return path


def check_rehearsal(cfg: JiteraConfig) -> None:
    """Refuse settings that would otherwise fail late: in collection, or in every test's setup.

    Versions were already parsed by :func:`resolve`; the paths are checked only when a
    rehearsal is requested, because a plain ``pytest`` run never opens them (an ini file may
    name values files that exist only on the release engineer's machine).
    """
    if (not cfg.starts) != (cfg.to_version is None):
        given = "from" if cfg.starts else "to"
        raise OptionError(
            f"{option('from')} and {option('to')} go together; only {option(given)} was given",
            hint=f"pass both, e.g. {option('from')} v24.05.01 {option('to')} v24.06.01",
            option="to" if given == "from" else "from",
        )
    if not cfg.starts:
        return
    for path in cfg.values:
        check_input_file(path, "values")
    if cfg.kubeconfig is not None:
        check_input_file(cfg.kubeconfig, "kubeconfig")
    if cfg.install_helm is not None:
        check_input_file(cfg.install_helm, "install-helm")
        if not os.access(cfg.install_helm, os.X_OK):
            raise OptionError(
                f"{option('install-helm')} {cfg.install_helm} is not executable",
                hint="point it at a helm binary, e.g. ~/.cache/pytest-jitera/helm3/helm",
                option="install-helm",
            )
    if cfg.reuse_cluster is not None:
        check_reuse_cluster(cfg)
    for store, path in cfg.seeds.paths().items():
        check_dump_path(path, SEED_OPTIONS[store])
    if cfg.mask is not None:
        check_input_file(cfg.mask, "mask")
    check_output_dir(cfg.report, "report")
