"""Build the reference series: one ``jitera-helm-<VERSION>.zip`` per release, and images.

The zips are what Jitera would hand a customer, so they are laid out the way the runbook
extracts them (``charts/jitera/Chart.yaml``...). They are written deterministically (sorted
entries, fixed timestamps): building the same source twice gives byte-identical zips, so a
cache keyed on the zip hash is sound and a diff between two releases shows only real changes.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pytest_jitera.bootstrap import default_cache_dir
from pytest_jitera.bootstrap.pins import MAILPIT_AIRGAPPED_IMAGE, MAILPIT_VERSION
from pytest_jitera.errors import JiteraError
from pytest_jitera.reference import EXPECTED_MANIFEST, REFERENCE_ROOT
from pytest_jitera.reference.series import (
    IMAGE_COMPONENTS,
    Series,
    assemble,
    load_series,
    migration_versions,
)
from pytest_jitera.release.versions import Version
from pytest_jitera.runner import CommandRunner

CHART_PREFIX = "charts/jitera"
IMAGE_NAMESPACE = "jitera"
# Images for clusters that cannot pull postgres/pgvector/mongo (or the mail catcher the
# rehearsal deploys beside the product) from a registry.
DATASTORE_IMAGES: dict[str, str] = {
    "postgresql": f"{IMAGE_NAMESPACE}/postgresql:15-bookworm",
    "ferretdb": f"{IMAGE_NAMESPACE}/ferretdb:1-sqlite",
    "mailpit": MAILPIT_AIRGAPPED_IMAGE,
}
# FerretDB 1.x still has the SQLite backend, so the image needs no second database.
FERRETDB_MODULE_ROOT = "github.com/FerretDB/FerretDB"
FERRETDB_VERSION = "v1.24.2"
MAILPIT_MODULE_ROOT = "github.com/axllent/mailpit"
_ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
_TOKEN_SUFFIXES = (".yaml", ".tpl", ".txt")


@dataclass(frozen=True)
class ReleaseBuild:
    """What was produced for one release."""

    version: Version
    zip_path: Path
    trees: dict[str, Path]
    schema_versions: tuple[str, ...]
    data_versions: tuple[str, ...]


@dataclass
class BuildResult:
    """Every artefact of one build, oldest release first."""

    out: Path
    releases: list[ReleaseBuild] = field(default_factory=list)
    images: list[str] = field(default_factory=list)


def image_ref(component: str, version: Version) -> str:
    """The tag the chart of ``version`` expects for ``component``."""
    return f"{IMAGE_NAMESPACE}/{component}:{version}"


def build_reference(
    out: Path,
    *,
    versions: Sequence[str] | None = None,
    images: bool = False,
    air_gapped: bool = False,
    runner: CommandRunner | None = None,
    series: Series | None = None,
) -> BuildResult:
    """Assemble every (or the selected) release, write its chart zip, optionally build images.

    ``out`` is emptied of earlier trees first: a stale file from a previous build would
    otherwise silently become part of a release.
    """
    if (images or air_gapped) and runner is None:
        raise JiteraError("building images needs a command runner", hint="pass runner=Runner()")
    series = series or load_series()
    selected = _select(series, versions)
    out.mkdir(parents=True, exist_ok=True)
    trees_root = out / "trees"
    if trees_root.exists():
        shutil.rmtree(trees_root)
    shutil.copyfile(EXPECTED_MANIFEST, out / "expected.yaml")
    result = BuildResult(out)
    for version in selected:
        result.releases.append(_build_release(series, version, out, trees_root / str(version)))
    if images and runner is not None:
        for release in result.releases:
            for component in IMAGE_COMPONENTS:
                tag = image_ref(component, release.version)
                _docker_build(runner, release.trees[component], tag)
                result.images.append(tag)
    if air_gapped and runner is not None:
        result.images.extend(build_datastore_images(runner, out / "datastores"))
    return result


def build_datastore_images(
    runner: CommandRunner,
    workdir: Path,
    which: Sequence[str] = tuple(DATASTORE_IMAGES),
    *,
    cache_dir: Path | None = None,
) -> list[str]:
    """Build the PostgreSQL, FerretDB and Mailpit images from Debian packages and the Go proxy.

    FerretDB and Mailpit are compiled on the host (Go module proxy reachable, no registry) and
    copied into a Debian image, because a Dockerfile cannot fetch Go modules in an air-gapped
    build. Mailpit's binary is kept in ``cache_dir`` (default: the bootstrap's cache), since
    ``workdir`` is emptied on every call.
    """
    unknown = set(which) - set(DATASTORE_IMAGES)
    if unknown:
        raise JiteraError(
            f"unknown datastore image(s) {sorted(unknown)}", hint=f"use {list(DATASTORE_IMAGES)}"
        )
    if workdir.exists():
        shutil.rmtree(workdir)
    images_src = REFERENCE_ROOT / "images"
    if "postgresql" in which:
        pg_ctx = workdir / "postgresql"
        shutil.copytree(images_src / "postgresql", pg_ctx)
        _docker_build(runner, pg_ctx, DATASTORE_IMAGES["postgresql"])
    if "ferretdb" in which:
        fd_ctx = workdir / "ferretdb"
        shutil.copytree(images_src / "ferretdb", fd_ctx)
        _build_ferretdb(runner, workdir / "ferretdb-src", fd_ctx / "ferretdb")
        _docker_build(runner, fd_ctx, DATASTORE_IMAGES["ferretdb"])
    if "mailpit" in which:
        mp_ctx = workdir / "mailpit"
        shutil.copytree(images_src / "mailpit", mp_ctx)
        shutil.copy2(mailpit_binary(runner, cache_dir or default_cache_dir()), mp_ctx / "mailpit")
        _docker_build(runner, mp_ctx, DATASTORE_IMAGES["mailpit"])
    return [DATASTORE_IMAGES[name] for name in which]


def mailpit_binary_path(cache_dir: Path) -> Path:
    """Where the Mailpit build of :data:`MAILPIT_VERSION` is kept: ``<cache>/build/<name>-<version>``.

    The same layout the bootstrap uses for its Go builds, so one cache folder holds every
    program built from the module proxy and a version bump simply builds into a new folder.
    """
    return cache_dir / "build" / f"mailpit-{MAILPIT_VERSION}" / "mailpit"


def mailpit_binary(runner: CommandRunner, cache_dir: Path) -> Path:
    """The Mailpit binary, compiled from the module proxy unless this version is cached.

    The module builds as published: its only npm-built part, the browser UI's ``server/ui/dist``
    bundle, is absent from the module, but the ``go:embed`` names the ``server/ui`` folder,
    which the module does ship (icons, API docs page), so the build succeeds without a
    placeholder and only the browser page lacks its script. The harness uses SMTP and the JSON
    API, both plain Go. The version is stamped as upstream's release build does, so
    ``/api/v1/info`` reports it instead of ``dev``.
    """
    target = mailpit_binary_path(cache_dir)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Built into a scratch folder and moved in whole: an interrupted build leaves no binary
    # that a later call would take for a finished one.
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        runner.run(
            [
                "go",
                "install",
                "-trimpath",
                "-ldflags",
                f"-s -w -X {MAILPIT_MODULE_ROOT}/config.Version={MAILPIT_VERSION}",
                f"{MAILPIT_MODULE_ROOT}@{MAILPIT_VERSION}",
            ],
            # go install pkg@version builds in module mode on its own; a -mod flag is refused.
            env={"CGO_ENABLED": "0", "GOFLAGS": "", "GOBIN": scratch},
            cwd=Path(scratch),
            timeout=1800,
        )
        os.replace(Path(scratch) / "mailpit", target)
    return target


def _build_ferretdb(runner: CommandRunner, src: Path, binary: Path) -> None:
    """Compile FerretDB from its module source with the version file its build expects.

    FerretDB embeds ``build/version/version.txt``, which its release tooling fills in and the
    published module leaves empty; a plain ``go install`` therefore builds a binary that panics
    at start. So the module is downloaded, copied, stamped with its version and built.
    """
    done = runner.run(
        ["go", "mod", "download", "-json", f"{FERRETDB_MODULE_ROOT}@{FERRETDB_VERSION}"],
        timeout=1800,
    )
    module_dir = Path(json.loads(done.stdout)["Dir"])
    if src.exists():
        shutil.rmtree(src)
    shutil.copytree(module_dir, src)
    for path in (src, *src.rglob("*")):
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    (src / "build" / "version" / "version.txt").write_text(f"{FERRETDB_VERSION}\n")
    runner.run(
        ["go", "build", "-trimpath", "-o", str(binary), "./cmd/ferretdb"],
        env={"CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"},
        cwd=src,
        timeout=1800,
    )


def _select(series: Series, versions: Sequence[str] | None) -> list[Version]:
    if not versions:
        return [r.version for r in series.releases]
    return [series.release(v).version for v in versions]


def _build_release(series: Series, version: Version, out: Path, tree_dir: Path) -> ReleaseBuild:
    trees = {
        component: assemble(series, version, component, tree_dir / component)
        for component in (*IMAGE_COMPONENTS, "chart")
    }
    schema = migration_versions(trees["automation"], "migrate")
    data = migration_versions(trees["automation"], "data")
    if not schema:
        raise JiteraError(f"{version}: the automation tree has no db/migrate files")
    _render_chart(
        trees["chart"],
        {
            "@@RELEASE@@": str(version),
            "@@CHART_VERSION@@": version.semver(),
            # Ultron crash-loops until schema_migrations reaches this version.
            "@@SCHEMA_VERSION@@": schema[-1],
        },
    )
    zip_path = out / f"jitera-helm-{version}.zip"
    write_chart_zip(trees["chart"], zip_path)
    return ReleaseBuild(version, zip_path, trees, schema, data)


def _render_chart(chart: Path, tokens: dict[str, str]) -> None:
    for path in sorted(chart.rglob("*")):
        if not path.is_file() or path.suffix not in _TOKEN_SUFFIXES:
            continue
        text = path.read_text(encoding="utf-8")
        for token, value in tokens.items():
            text = text.replace(token, value)
        if "@@" in text:
            raise JiteraError(f"{path}: unreplaced @@TOKEN@@ left in the chart")
        path.write_text(text, encoding="utf-8")


def write_chart_zip(chart: Path, zip_path: Path) -> Path:
    """Zip ``chart`` under ``charts/jitera/`` deterministically (see the module docstring)."""
    files = sorted(p for p in chart.rglob("*") if p.is_file())
    tmp = zip_path.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            info = zipfile.ZipInfo(f"{CHART_PREFIX}/{path.relative_to(chart).as_posix()}")
            info.date_time = _ZIP_TIMESTAMP
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    tmp.replace(zip_path)
    return zip_path


def _docker_build(runner: CommandRunner, context: Path, tag: str) -> None:
    if not (context / "Dockerfile").is_file():
        raise JiteraError(f"{context} has no Dockerfile")
    # --pull=false: the base image comes from the local store (no registry on the runners).
    runner.run(["docker", "build", "--pull=false", "-t", tag, str(context)], timeout=3600)


def zip_names(zip_path: Path) -> Iterable[str]:
    """Entry names of a chart zip, for checks and diffs."""
    with zipfile.ZipFile(zip_path) as archive:
        return archive.namelist()
