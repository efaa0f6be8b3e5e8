"""Classification straight from container images (needs a Docker daemon)."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator

import pytest

from pytest_jitera.cli import main
from pytest_jitera.errors import JiteraError
from pytest_jitera.runner import Runner

from .conftest import FIXTURES

pytestmark = pytest.mark.docker


def _docker_available() -> str | None:
    """Return why Docker cannot be used, or None when it can."""
    if shutil.which("docker") is None:
        return "docker CLI not on PATH"
    try:
        result = Runner().run(["docker", "info", "--format", "{{.ServerVersion}}"], check=False,
                              timeout=20)
    except JiteraError as exc:
        return f"docker info failed: {exc.message}"
    if result.returncode != 0:
        return "docker info failed: no reachable Docker daemon (" + (
            result.stderr.strip().splitlines() or ["no output"])[-1] + ")"
    return None


@pytest.fixture(scope="module")
def release_images(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    reason = _docker_available()
    if reason:
        pytest.skip(reason)
    runner = Runner()
    tag = uuid.uuid4().hex[:10]
    images: dict[str, str] = {}
    try:
        for side in ("old", "new"):
            context = tmp_path_factory.mktemp(f"image-{side}")
            shutil.copytree(FIXTURES / "scenario3" / side / "app", context / "app")
            # FROM scratch needs no registry; the Rails root sits at a non-default path.
            (context / "Dockerfile").write_text("FROM scratch\nCOPY app /srv/rails\n")
            name = f"jitera-classify-test-{side}:{tag}"
            runner.run(["docker", "build", "-q", "-t", name, str(context)], timeout=300)
            images[side] = name
        yield images
    finally:
        for name in images.values():
            runner.run(["docker", "image", "rm", "-f", name], check=False)


def test_classify_from_images(release_images: dict[str, str],
                              capsys: pytest.CaptureFixture[str]) -> None:
    base = FIXTURES / "scenario3"
    argv = ["classify", "--old-chart", str(base / "old" / "chart"),
            "--new-chart", str(base / "new" / "chart"),
            "--old-image", release_images["old"], "--new-image", release_images["new"],
            "--image-app-path", "/srv/rails", "--json"]
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["scenario"] == 3
    assert data["references"]["users.legacy_flag"][0]["file"] == (
        "app/controllers/users_controller.rb")
    leftovers = Runner().run(["docker", "ps", "-aq", "--filter", "label=jitera.role=inventory",
                              "--filter", f"ancestor={release_images['old']}"])
    assert leftovers.stdout.strip() == ""


def test_wrong_image_app_path_is_a_clear_error(release_images: dict[str, str],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    base = FIXTURES / "scenario3"
    argv = ["classify", "--old-chart", str(base / "old" / "chart"),
            "--new-chart", str(base / "new" / "chart"),
            "--old-image", release_images["old"], "--new-app", str(base / "new" / "app")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "has no /app/db/migrate folder" in err
    assert "--image-app-path" in err


def test_missing_image_is_a_clear_error(release_images: dict[str, str],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    base = FIXTURES / "scenario3"
    argv = ["classify", "--old-chart", str(base / "old" / "chart"),
            "--new-chart", str(base / "new" / "chart"),
            "--old-image", "jitera-classify-test-absent:none", "--new-app",
            str(base / "new" / "app")]
    assert main(argv) == 2
    assert "docker create failed" in capsys.readouterr().err
