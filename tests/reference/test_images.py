"""The release images really run: the hook migrates, ultron gates on the schema.

Builds v24.07.01's images and the Debian PostgreSQL image with the local Docker daemon (base
image ``debian:bookworm-slim`` must already be in its store: there is no registry) and wires
them on a throwaway Docker network, without Kubernetes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from pytest_jitera.reference.build import DATASTORE_IMAGES, build_datastore_images, build_reference
from pytest_jitera.runner import RunError, Runner
from pytest_jitera.waiting import Observation, wait_for

pytestmark = pytest.mark.docker

RELEASE = "v24.07.01"
SCHEMA = "20240701000003"


@pytest.fixture(scope="module")
def docker(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    runner = Runner()
    try:
        runner.run(["docker", "info"], timeout=30)
        runner.run(["docker", "image", "inspect", "debian:bookworm-slim"], timeout=30)
    except Exception as exc:  # ToolError or RunError: either way there is nothing to build on
        pytest.skip(f"no usable Docker daemon with debian:bookworm-slim: {exc}")
    out = tmp_path_factory.mktemp("images")
    build_reference(out, versions=[RELEASE], images=True, runner=runner)
    build_datastore_images(runner, out / "datastores", which=["postgresql"])
    return runner


@pytest.fixture
def network(docker: Runner) -> Iterator[str]:
    name = f"jitera-ref-{uuid.uuid4().hex[:8]}"
    docker.run(["docker", "network", "create", "--label", "pytest-jitera=reference", name])
    try:
        yield name
    finally:
        ids = docker.run(["docker", "ps", "-aq", "--filter", f"network={name}"]).stdout.split()
        if ids:
            docker.run(["docker", "rm", "-f", *ids], check=False)
        docker.run(["docker", "network", "rm", name], check=False)


def _wait_for_postgres(docker: Runner, container: str) -> None:
    def probe() -> Observation[None]:
        argv = ["docker", "exec", container, "pg_isready", "-h", "127.0.0.1", "-U", "jitera"]
        ok = docker.run(argv, check=False).returncode == 0
        return Observation.ready(None) if ok else Observation.pending("not accepting connections")

    wait_for(f"{container} PostgreSQL", probe, timeout=60, interval=1)


def test_hook_migrates_and_ultron_gates_on_the_schema(docker: Runner, network: str) -> None:
    pg = f"{network}-pg"
    docker.run(
        [
            "docker",
            "run",
            "-d",
            "--name",
            pg,
            "--network",
            network,
            "-e",
            "POSTGRES_USER=jitera",
            "-e",
            "POSTGRES_PASSWORD=pw",
            "-e",
            "POSTGRES_DB=jitera",
            DATASTORE_IMAGES["postgresql"],
        ]
    )
    _wait_for_postgres(docker, pg)
    db = f"postgres://jitera:pw@{pg}:5432/jitera"
    ultron = [
        "docker",
        "run",
        "--rm",
        "--network",
        network,
        "-e",
        f"AUTOMATION_SCHEMA_VERSION={SCHEMA}",
        "-e",
        f"AUTOMATION_DATABASE_URL={db}",
        "-e",
        f"PGVECTOR_DATABASE_URL={db}",
        "-e",
        "MONGODB_URI=mongodb://nowhere:27017/",
        f"jitera/ultron:{RELEASE}",
    ]
    with pytest.raises(RunError) as before:
        docker.run(ultron, timeout=120)
    assert before.value.returncode == 3
    docker.run(
        [
            "docker",
            "run",
            "--rm",
            "--network",
            network,
            "-e",
            f"DATABASE_URL={db}",
            f"jitera/automation:{RELEASE}",
            "bin/rails",
            "db:create",
            "db:migrate",
            "data:migrate",
        ],
        timeout=300,
    )
    latest = docker.run(
        [
            "docker",
            "exec",
            pg,
            "psql",
            "-U",
            "jitera",
            "-d",
            "jitera",
            "-Atc",
            "SELECT max(version) FROM schema_migrations",
        ]
    ).stdout.strip()
    assert latest == SCHEMA


def test_images_carry_the_release_tag(docker: Runner) -> None:
    for component in ("automation", "ultron", "studio"):
        docker.run(["docker", "image", "inspect", f"jitera/{component}:{RELEASE}"])
