"""Official-binary downloads against a loopback HTTP server that mimics the release sites.

The server (``http.server`` on 127.0.0.1, in a thread) serves a temporary folder laid out like
a mirror of github.com, get.helm.sh and dl.k8s.io, with checksum files beside each file. The
"binaries" are shell scripts that print what the real tools print, so the bootstrap's final
version probe runs them. No traffic leaves 127.0.0.1: proxy variables are cleared.
"""

from __future__ import annotations

import hashlib
import io
import re
import socket
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pytest_jitera.bootstrap.download import (
    OFFICIAL_BASES,
    Downloader,
    DownloadError,
    Platform,
    artefact,
    extract_member,
    mirrored,
    parse_checksum,
    resolve_bases,
)
from pytest_jitera.bootstrap.pins import OFFICIAL
from pytest_jitera.cli import main
from pytest_jitera.errors import OptionError

PLAT = Platform.current()
KIND = f"#!/bin/sh\necho 'kind {OFFICIAL.kind} go1.24.6 {PLAT.os}/{PLAT.arch}'\n".encode()
HELM = f"#!/bin/sh\necho '{OFFICIAL.helm}+g1e2d3c4'\n".encode()
KUBECTL = ('#!/bin/sh\necho \'{"clientVersion": {"gitVersion": "' + OFFICIAL.kubectl + "\"}}'\n").encode()


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "JITERA_DOWNLOAD_BASE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")


# --------------------------------------------------------------------- the fake release sites
@dataclass
class Site:
    """A loopback server over ``root``; paths in ``cut`` get half their body and a full Content-Length."""

    root: Path
    url: str = ""
    cut: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)

    def path(self, tool: str) -> Path:
        """Where the release file of ``tool`` lies in the mirror layout."""
        art = artefact(tool, OFFICIAL.version(tool), mirrored(str(self.root), tool), PLAT)
        return Path(art.url)

    def checksum(self, tool: str) -> Path:
        art = artefact(tool, OFFICIAL.version(tool), mirrored(str(self.root), tool), PLAT)
        return Path(art.checksum_url)


def helm_tarball(binary: bytes, *, member: str | None = None, symlink: bool = False) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in ((f"{PLAT}/LICENSE", b"Apache-2.0\n"), (member or f"{PLAT}/helm", binary)):
            info = tarfile.TarInfo(name)
            if symlink and name.endswith("/helm"):
                info.type = tarfile.SYMTYPE
                info.linkname = "/etc/passwd"
                tar.addfile(info)
                continue
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def publish(site: Site, tool: str, data: bytes, *, digest_of: bytes | None = None) -> None:
    """Put ``data`` where ``tool``'s release file goes, with a checksum file of ``digest_of``."""
    path = site.path(tool)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    digest = hashlib.sha256(data if digest_of is None else digest_of).hexdigest()
    checksum = site.checksum(tool)
    checksum.write_text(digest + "\n" if tool == "kubectl" else f"{digest}  {path.name}\n")


def publish_all(site: Site) -> None:
    publish(site, "kind", KIND)
    publish(site, "helm", helm_tarball(HELM))
    publish(site, "kubectl", KUBECTL)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    root = tmp_path / "site"
    root.mkdir()
    state = Site(root)

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def do_GET(self) -> None:
            state.requests.append(self.path)
            if self.path not in state.cut:
                super().do_GET()
                return
            data = (root / self.path.lstrip("/")).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def url_path(site: Site, tool: str) -> str:
    return "/" + str(site.path(tool).relative_to(site.root))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def bootstrap(cache: Path, *args: str) -> int:
    return main(["bootstrap", "--cache-dir", str(cache), *args])


def leftovers(cache: Path) -> list[Path]:
    return sorted(p for p in (cache / "bin").glob(".*")) if (cache / "bin").is_dir() else []


# --------------------------------------------------------------------- layouts and bases
def test_official_layouts_match_the_release_sites() -> None:
    linux = Platform("linux", "amd64")
    kind = artefact("kind", "v0.33.0", OFFICIAL_BASES["kind"], linux)
    helm = artefact("helm", "v4.3.2", OFFICIAL_BASES["helm"], linux)
    kubectl = artefact("kubectl", "v1.37.2", OFFICIAL_BASES["kubectl"], linux)
    assert kind.url == "https://github.com/kubernetes-sigs/kind/releases/download/v0.33.0/kind-linux-amd64"
    assert kind.checksum_url == kind.url + ".sha256sum"
    assert helm.url == "https://get.helm.sh/helm-v4.3.2-linux-amd64.tar.gz"
    assert helm.checksum_url == helm.url + ".sha256sum"
    assert helm.member == "linux-amd64/helm"
    assert kubectl.url == "https://dl.k8s.io/release/v1.37.2/bin/linux/amd64/kubectl"
    assert kubectl.checksum_url == kubectl.url + ".sha256"


def test_pins_are_the_current_official_releases() -> None:
    assert (OFFICIAL.kind, OFFICIAL.helm, OFFICIAL.kubectl) == ("v0.33.0", "v4.3.2", "v1.37.2")


def test_bases_default_to_the_release_sites() -> None:
    assert resolve_bases(env={}) == dict(OFFICIAL_BASES)


def test_a_mirror_holds_the_official_hosts_below_it() -> None:
    bases = resolve_bases(mirror="https://mirror.example/releases/", env={})
    assert (
        bases["kind"] == "https://mirror.example/releases/github.com/kubernetes-sigs/kind/releases/download"
    )
    assert bases["helm"] == "https://mirror.example/releases/get.helm.sh"
    assert bases["kubectl"] == "https://mirror.example/releases/dl.k8s.io/release"


def test_precedence_command_line_then_environment_then_official() -> None:
    env = {"JITERA_DOWNLOAD_BASE": "https://env-mirror.example, helm=https://env-helm.example"}
    bases = resolve_bases(["kind=https://cli-kind.example/"], None, env)
    assert bases["kind"] == "https://cli-kind.example"
    assert bases["helm"] == "https://env-helm.example"
    assert bases["kubectl"] == "https://env-mirror.example/dl.k8s.io/release"
    bases = resolve_bases([], "https://cli-mirror.example", env)
    assert bases["helm"] == "https://cli-mirror.example/get.helm.sh"


@pytest.mark.parametrize(
    ("entries", "mirror", "env", "words"),
    [
        (["oc=https://x.example"], None, {}, "unknown tool 'oc'"),
        (["kind=ftp://x.example"], None, {}, "not an http(s) URL"),
        (["https://x.example"], None, {}, "expected TOOL=URL"),
        ([], "file:///srv/mirror", {}, "not an http(s) URL"),
        ([], None, {"JITERA_DOWNLOAD_BASE": "kind=nonsense"}, "$JITERA_DOWNLOAD_BASE"),
    ],
)
def test_bad_bases_are_refused(
    entries: list[str], mirror: str | None, env: dict[str, str], words: str
) -> None:
    with pytest.raises(OptionError, match=re.escape(words)):
        resolve_bases(entries, mirror, env)


def test_bad_base_on_the_command_line_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert bootstrap(tmp_path / "cache", "--download-base", "oc=https://x.example") == 2
    assert "error: --download-base: unknown tool 'oc'" in capsys.readouterr().err


def test_air_gapped_refuses_download_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert bootstrap(tmp_path / "cache", "--air-gapped", "--mirror", "https://m.example") == 2
    assert "apply to the download route" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a" * 64 + "  kind-linux-amd64\n", "a" * 64),
        ("B" * 64 + "\n", "b" * 64),
        ("c" * 64 + " *kind-linux-amd64\n", "c" * 64),
        ("d" * 64 + "  other\n" + "e" * 64 + "  kind-linux-amd64\n", "e" * 64),
    ],
)
def test_parse_checksum(text: str, expected: str) -> None:
    assert parse_checksum(text, "kind-linux-amd64") == expected


@pytest.mark.parametrize("text", ["", "<html>not found</html>", "a" * 64 + "  kind-darwin-arm64\n", "z" * 64])
def test_checksum_files_without_our_digest_are_refused(text: str) -> None:
    with pytest.raises(DownloadError, match="no sha256 for kind-linux-amd64"):
        parse_checksum(text, "kind-linux-amd64")


# --------------------------------------------------------------------- safe extraction
def test_extract_only_the_named_member(tmp_path: Path) -> None:
    tarball = tmp_path / "helm.tar.gz"
    tarball.write_bytes(helm_tarball(HELM))
    extract_member(tarball, f"{PLAT}/helm", tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == HELM
    assert sorted(p.name for p in tmp_path.iterdir()) == ["helm.tar.gz", "out"]


@pytest.mark.parametrize(
    ("kwargs", "limit", "words"),
    [
        ({"symlink": True}, 1 << 20, "not a regular file"),
        ({"member": f"../{PLAT}/helm"}, 1 << 20, "holds no"),
        ({}, 8, "more than the 8 allowed"),
    ],
)
def test_unsafe_or_odd_tarballs_are_refused(
    tmp_path: Path, kwargs: dict[str, Any], limit: int, words: str
) -> None:
    tarball = tmp_path / "helm.tar.gz"
    tarball.write_bytes(helm_tarball(HELM, **kwargs))
    with pytest.raises(DownloadError, match=words):
        extract_member(tarball, f"{PLAT}/helm", tmp_path / "out", limit=limit)
    assert not (tmp_path / "out").exists() or (tmp_path / "out").stat().st_size == 0


def test_a_non_tarball_is_refused(tmp_path: Path) -> None:
    tarball = tmp_path / "helm.tar.gz"
    tarball.write_bytes(b"<html>a proxy's error page</html>")
    with pytest.raises(DownloadError, match=r"not a readable \.tar\.gz"):
        extract_member(tarball, f"{PLAT}/helm", tmp_path / "out")


# --------------------------------------------------------------------- downloads
def test_good_binaries_land_verified_and_executable(
    tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    publish_all(site)
    cache = tmp_path / "cache"
    (cache / "stamps").mkdir(parents=True)
    (cache / "stamps" / "kind.stamp").write_text("kind v0.30.0 j1\n")  # an air-gapped build's stamp
    assert bootstrap(cache, "--mirror", site.url) == 0
    out = capsys.readouterr().out
    bin_dir = cache / "bin"
    assert (bin_dir / "kind").read_bytes() == KIND
    assert (bin_dir / "helm").read_bytes() == HELM
    assert (bin_dir / "kubectl").read_bytes() == KUBECTL
    for tool in ("kind", "helm", "kubectl"):
        assert (bin_dir / tool).stat().st_mode & 0o111 == 0o111, tool
        assert f"{tool} {OFFICIAL.version(tool)}: sha256 verified" in out
        assert (cache / "stamps" / f"official-{tool}.stamp").is_file()
    assert f"(reports {OFFICIAL.helm[1:]})" in out
    assert not (cache / "stamps" / "kind.stamp").exists()
    assert leftovers(cache) == []
    assert sorted(p.name for p in bin_dir.iterdir()) == ["helm", "kind", "kubectl"]


def test_a_second_run_is_cached_and_needs_no_network(
    tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    publish_all(site)
    cache = tmp_path / "cache"
    assert bootstrap(cache, "--mirror", site.url) == 0
    capsys.readouterr()
    assert bootstrap(cache, "--mirror", f"http://127.0.0.1:{closed_port()}") == 0
    out = capsys.readouterr().out
    assert out.count(": cached (") == 3


def test_a_replaced_binary_is_downloaded_again(tmp_path: Path, site: Site) -> None:
    publish_all(site)
    cache = tmp_path / "cache"
    assert bootstrap(cache, "--mirror", site.url) == 0
    (cache / "bin" / "kind").write_text("#!/bin/sh\necho 'kind v0.30.0'\n")
    site.requests.clear()
    assert bootstrap(cache, "--mirror", site.url) == 0
    assert (cache / "bin" / "kind").read_bytes() == KIND
    assert [r for r in site.requests if "kind" in r] == [
        url_path(site, "kind") + ".sha256sum",
        url_path(site, "kind"),
    ]


def test_a_tampered_binary_is_refused_and_removed(
    tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    publish_all(site)
    evil = b"#!/bin/sh\necho 'kind v0.33.0'; rm -rf \"$HOME\"\n"
    publish(site, "kind", evil, digest_of=KIND)
    cache = tmp_path / "cache"
    assert bootstrap(cache, "--mirror", site.url) == 2
    err = capsys.readouterr().err
    assert "sha256 mismatch" in err
    assert f"expected {hashlib.sha256(KIND).hexdigest()}" in err
    assert f"got {hashlib.sha256(evil).hexdigest()}" in err
    assert "the download was removed" in err
    assert not (cache / "bin" / "kind").exists()
    assert leftovers(cache) == []


def test_a_tampered_helm_tarball_is_refused_before_extraction(tmp_path: Path, site: Site) -> None:
    publish_all(site)
    publish(site, "helm", helm_tarball(b"#!/bin/sh\necho evil\n"), digest_of=helm_tarball(HELM))
    cache = tmp_path / "cache"
    downloader = Downloader(
        bin_dir=cache / "bin", stamps_dir=cache / "stamps", bases=resolve_bases([], site.url, {})
    )
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        downloader.install("helm")
    assert not (cache / "bin" / "helm").exists()
    assert leftovers(cache) == []


def test_a_cut_file_with_the_full_files_checksum_is_refused(
    tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    publish_all(site)
    full = helm_tarball(HELM)
    publish(site, "helm", full[: len(full) // 2], digest_of=full)
    cache = tmp_path / "cache"
    assert bootstrap(cache, "--mirror", site.url) == 2
    err = capsys.readouterr().err
    assert "helm v4.3.2: sha256 mismatch" in err
    assert not (cache / "bin" / "helm").exists()
    assert leftovers(cache) == []


def test_a_body_shorter_than_its_content_length_is_refused(
    tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    publish_all(site)
    site.cut.add(url_path(site, "kubectl"))
    cache = tmp_path / "cache"
    assert bootstrap(cache, "--mirror", site.url) == 2
    err = capsys.readouterr().err
    assert "kubectl v1.37.2: the download from" in err
    assert "was cut short" in err
    assert "the download was removed" in err
    assert not (cache / "bin" / "kubectl").exists()
    assert leftovers(cache) == []


def test_an_unreachable_base_is_one_clear_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = closed_port()
    cache = tmp_path / "cache"
    assert bootstrap(cache, "--mirror", f"http://127.0.0.1:{port}") == 2
    err = capsys.readouterr().err.splitlines()
    errors = [line for line in err if line.startswith("error:")]
    assert errors == [
        f"error: cannot reach http://127.0.0.1:{port} for kind v0.33.0 ({errors[0].split('(', 1)[1]}"
    ]
    assert any(line.startswith("hint:") and "--mirror" in line for line in err)
    assert not (cache / "bin").exists() or not any((cache / "bin").iterdir())


def test_an_unreachable_base_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = closed_port()
    monkeypatch.setenv("JITERA_DOWNLOAD_BASE", f"http://127.0.0.1:{port}")
    assert bootstrap(tmp_path / "cache") == 2
    assert f"cannot reach http://127.0.0.1:{port}" in capsys.readouterr().err


def test_a_missing_file_names_the_url_and_status(
    tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    publish_all(site)
    site.path("kubectl").unlink()
    assert bootstrap(tmp_path / "cache", "--mirror", site.url) == 2
    err = capsys.readouterr().err
    assert f"{site.url}{url_path(site, 'kubectl')} answered HTTP 404" in err


def test_no_checksum_file_means_no_install(
    tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    publish_all(site)
    site.checksum("kind").unlink()
    cache = tmp_path / "cache"
    assert bootstrap(cache, "--mirror", site.url) == 2
    assert ".sha256sum answered HTTP 404" in capsys.readouterr().err
    assert not (cache / "bin" / "kind").exists()
    assert url_path(site, "kind") not in site.requests  # the binary itself was never fetched


def test_per_tool_base_wins_over_the_mirror(tmp_path: Path, site: Site) -> None:
    publish_all(site)
    own = site.root / "own-kind"
    own.mkdir()
    data = b"#!/bin/sh\necho 'kind v0.33.0 from our own base'\n"
    name = f"kind-{PLAT}"
    (own / OFFICIAL.kind).mkdir()
    (own / OFFICIAL.kind / name).write_bytes(data)
    (own / OFFICIAL.kind / f"{name}.sha256sum").write_text(f"{hashlib.sha256(data).hexdigest()}  {name}\n")
    cache = tmp_path / "cache"
    assert bootstrap(cache, "--mirror", site.url, "--download-base", f"kind={site.url}/own-kind") == 0
    assert (cache / "bin" / "kind").read_bytes() == data
    assert (cache / "bin" / "helm").read_bytes() == HELM


def test_a_binary_that_reports_another_version_fails_the_bootstrap(
    tmp_path: Path, site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    publish_all(site)
    publish(site, "kind", b"#!/bin/sh\necho 'kind v0.29.0'\n")
    assert bootstrap(tmp_path / "cache", "--mirror", site.url) == 1
    assert "error: kind at" in capsys.readouterr().err
