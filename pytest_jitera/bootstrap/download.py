"""Download the pinned official kind, helm and kubectl release binaries, verified, into the cache.

On a host that can reach the release sites (or a mirror of them), the official binaries are
the simplest good tools, and kind then pulls its own node image. This module fetches the
versions pinned in :data:`pytest_jitera.bootstrap.pins.OFFICIAL` into ``<cache>/bin``, where
the tool lookup (:mod:`pytest_jitera.cluster.tools`) already searches.

Nothing is used before it is verified. Each file is streamed to a temporary name in the bin
folder itself (so the final rename is atomic and never crosses file systems), hashed while it
arrives, compared with the sha256 published beside it, and only then renamed into place. A
mismatch, a download cut short (fewer bytes than ``Content-Length``, or simply a file whose
hash is wrong) or an oversized answer deletes the temporary file and says so with both
digests: a half-written ``kind`` on the lookup path would fail later, far from the cause.

The digests are *not* pinned here: they are read from the checksum file on the same base at
download time, because this project cannot check a real release's digest from where it is
built, and a copied digest nobody verified would be worse than none. That guards against
corrupted, truncated and wrong files (a mirror serving another version), not against a base
that serves a forged binary together with a forged checksum; use a base you trust.

Bases follow the official layouts, and each can be replaced for mirrors and proxies: one
``mirror`` holding the official hosts' paths below it, or a base per tool (see
:func:`resolve_bases`). HTTP goes through ``httpx``, which honours ``HTTPS_PROXY``,
``NO_PROXY`` and ``SSL_CERT_FILE``.
"""

from __future__ import annotations

import hashlib
import os
import platform
import tarfile
import tempfile
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

import httpx

from pytest_jitera import __version__
from pytest_jitera.bootstrap.pins import OFFICIAL, OfficialPins
from pytest_jitera.errors import JiteraError, OptionError

TOOLS: tuple[str, ...] = ("kind", "helm", "kubectl")

# Where each project publishes its release binaries; the layout below each base is fixed.
OFFICIAL_BASES: Mapping[str, str] = {
    "kind": "https://github.com/kubernetes-sigs/kind/releases/download",
    "helm": "https://get.helm.sh",
    "kubectl": "https://dl.k8s.io/release",
}

ENV_BASE = "JITERA_DOWNLOAD_BASE"

# Bounds: the real files are 10-70 MB; anything far beyond is not the file we asked for.
MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024
MAX_CHECKSUM_BYTES = 64 * 1024
MAX_MEMBER_BYTES = 256 * 1024 * 1024
MAX_TAR_MEMBERS = 64
CHUNK = 1024 * 1024

SHA256_HEX = frozenset("0123456789abcdef")

MIRROR_HINT = (
    "check the network and proxy settings (HTTPS_PROXY, NO_PROXY), or point --mirror, "
    f"--download-base TOOL=URL or ${ENV_BASE} at a reachable mirror; without any access to "
    "release sites use `pytest-jitera bootstrap --air-gapped`"
)


class DownloadError(JiteraError):
    """A release binary could not be fetched or failed verification; nothing was installed."""


# --------------------------------------------------------------------- where files are
@dataclass(frozen=True)
class Platform:
    """Operating system and architecture as the release file names spell them."""

    os: str
    arch: str

    @classmethod
    def current(cls) -> Platform:
        """The platform of the running host; refuses systems without official binaries."""
        system = platform.system().lower()
        machine = platform.machine().lower()
        arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine)
        if system not in ("linux", "darwin") or arch is None:
            raise DownloadError(
                f"no official kind/helm/kubectl binaries are pinned for {system}/{machine}",
                hint="install the tools yourself (see `pytest-jitera doctor`), or use "
                "`pytest-jitera bootstrap --air-gapped`",
            )
        return cls(system, arch)

    def __str__(self) -> str:
        return f"{self.os}-{self.arch}"


@dataclass(frozen=True)
class Artefact:
    """One file to fetch: its URL, the checksum file beside it, and the binary inside it."""

    tool: str
    version: str
    url: str
    checksum_url: str
    # The tarball member that is the binary (helm ships a .tar.gz); None: the file is the binary.
    member: str | None = None

    @property
    def filename(self) -> str:
        """The last path segment, as checksum files name it."""
        return self.url.rsplit("/", 1)[-1]


def artefact(tool: str, version: str, base: str, plat: Platform) -> Artefact:
    """The official layout of ``tool`` at ``version`` below ``base``."""
    base = base.rstrip("/")
    if tool == "kind":
        url = f"{base}/{version}/kind-{plat.os}-{plat.arch}"
        return Artefact(tool, version, url, url + ".sha256sum")
    if tool == "helm":
        url = f"{base}/helm-{version}-{plat.os}-{plat.arch}.tar.gz"
        return Artefact(tool, version, url, url + ".sha256sum", member=f"{plat.os}-{plat.arch}/helm")
    if tool == "kubectl":
        url = f"{base}/{version}/bin/{plat.os}/{plat.arch}/kubectl"
        return Artefact(tool, version, url, url + ".sha256")
    raise ValueError(f"no download layout for {tool}")


# --------------------------------------------------------------------- bases
def _checked_url(text: str, source: str) -> str:
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise OptionError(
            f"{source}: {text!r} is not an http(s) URL",
            hint="give a URL such as https://mirror.example/releases",
            option="download-base",
        )
    return text.strip().rstrip("/")


def mirrored(mirror: str, tool: str) -> str:
    """The official base of ``tool`` below ``mirror``: ``<mirror>/<host>/<path>``."""
    official = OFFICIAL_BASES[tool].split("://", 1)[1]
    return f"{mirror.rstrip('/')}/{official}"


@dataclass
class _Bases:
    mirror: str | None = None
    tools: dict[str, str] = field(default_factory=dict)


def _parse_entries(entries: Sequence[str], source: str, *, allow_mirror: bool) -> _Bases:
    """``TOOL=URL`` entries (and, where allowed, one bare URL: a mirror)."""
    found = _Bases()
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        name, sep, url = entry.partition("=")
        if sep and "://" not in name:
            tool = name.strip()
            if tool not in TOOLS:
                raise OptionError(
                    f"{source}: unknown tool {tool!r} in {entry!r}",
                    hint=f"use one of {', '.join(TOOLS)}, as TOOL=URL",
                    option="download-base",
                )
            found.tools[tool] = _checked_url(url, source)
        elif allow_mirror:
            found.mirror = _checked_url(entry, source)
        else:
            raise OptionError(
                f"{source}: expected TOOL=URL, got {entry!r}",
                hint="e.g. --download-base kind=https://mirror.example/kind (or --mirror URL for all)",
                option="download-base",
            )
    return found


def resolve_bases(
    download_base: Sequence[str] = (),
    mirror: str | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The base URL of every tool: command line, then ``$JITERA_DOWNLOAD_BASE``, then official.

    Within each source a per-tool base (``kind=URL``) wins over a mirror. ``$JITERA_DOWNLOAD_BASE``
    holds comma- or space-separated entries: ``TOOL=URL`` items and at most one bare URL, the
    mirror.
    """
    env = os.environ if env is None else env
    cli = _parse_entries(download_base, "--download-base", allow_mirror=False)
    if mirror is not None:
        cli.mirror = _checked_url(mirror, "--mirror")
    raw_env = env.get(ENV_BASE, "")
    from_env = _parse_entries(raw_env.replace(",", " ").split(), f"${ENV_BASE}", allow_mirror=True)
    bases: dict[str, str] = {}
    for tool in TOOLS:
        if tool in cli.tools:
            bases[tool] = cli.tools[tool]
        elif cli.mirror:
            bases[tool] = mirrored(cli.mirror, tool)
        elif tool in from_env.tools:
            bases[tool] = from_env.tools[tool]
        elif from_env.mirror:
            bases[tool] = mirrored(from_env.mirror, tool)
        else:
            bases[tool] = OFFICIAL_BASES[tool]
    return bases


# --------------------------------------------------------------------- checksums
def parse_checksum(text: str, filename: str) -> str:
    """The sha256 for ``filename`` in a ``sha256sum``-style file, or a file holding only a digest.

    kind and helm publish ``<digest>  <file name>``; kubectl publishes the bare digest. A file
    that names other files only is refused rather than guessed from.
    """
    candidates: list[tuple[str, str | None]] = []
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        digest = fields[0].lower()
        if len(digest) != 64 or not set(digest) <= SHA256_HEX:
            continue
        name = fields[1].lstrip("*").rsplit("/", 1)[-1] if len(fields) > 1 else None
        candidates.append((digest, name))
    for digest, name in candidates:
        if name == filename:
            return digest
    bare = [digest for digest, name in candidates if name is None]
    if len(candidates) == 1 and bare:
        return bare[0]
    raise DownloadError(
        f"the checksum file holds no sha256 for {filename}",
        hint="the base URL does not follow the official layout, or serves something else",
    )


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------- safe extraction
def extract_member(tarball: Path, member: str, dest: Path, limit: int = MAX_MEMBER_BYTES) -> None:
    """Copy the one regular-file ``member`` of a ``.tar.gz`` to ``dest``, at most ``limit`` bytes.

    No ``extractall``: only the named member is read, links and devices are refused, and both
    the member count and the member size are bounded, so a hostile archive can neither write
    outside ``dest`` nor fill the disk.
    """
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            for count, info in enumerate(tar):
                if count >= MAX_TAR_MEMBERS:
                    break
                if info.name.removeprefix("./") != member:
                    continue
                if not info.isreg():
                    raise DownloadError(f"{member} in {tarball.name} is not a regular file")
                if info.size > limit:
                    raise DownloadError(
                        f"{member} in {tarball.name} is {info.size} bytes, more than the {limit} allowed"
                    )
                source = tar.extractfile(info)
                if source is None:
                    raise DownloadError(f"{member} in {tarball.name} cannot be read")
                written = 0
                with source, dest.open("wb") as out:
                    while chunk := source.read(CHUNK):
                        written += len(chunk)
                        if written > limit:
                            raise DownloadError(f"{member} in {tarball.name} is larger than it says")
                        out.write(chunk)
                return
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise DownloadError(f"{tarball.name} is not a readable .tar.gz ({exc})") from None
    raise DownloadError(f"{tarball.name} holds no {member}")


# --------------------------------------------------------------------- the downloader
@dataclass(frozen=True)
class Installed:
    """One tool in ``<cache>/bin`` after :meth:`Downloader.install`."""

    tool: str
    version: str
    path: Path
    sha256: str
    cached: bool
    seconds: float


def official_stamp(stamps_dir: Path, tool: str) -> Path:
    """Record of the official binary last installed for ``tool`` (its version and digest)."""
    return stamps_dir / f"official-{tool}.stamp"


def read_official_stamp(stamps_dir: Path, tool: str) -> dict[str, str]:
    """``{"tool", "version", "platform", "sha256"}`` of the stamp, empty when absent or garbled."""
    try:
        fields = official_stamp(stamps_dir, tool).read_text().split()
    except OSError:
        return {}
    if len(fields) != 4 or not fields[3].startswith("sha256="):
        return {}
    return {"tool": fields[0], "version": fields[1], "platform": fields[2], "sha256": fields[3][7:]}


@dataclass
class Downloader:
    """Fetches, verifies and installs official release binaries into ``bin_dir``.

    ``stamps_dir`` is the bootstrap cache's stamp folder: installing an official binary also
    removes the air-gapped build's stamp for the same tool, because that stamp would otherwise
    vouch for a file that has just been replaced.
    """

    bin_dir: Path
    stamps_dir: Path
    bases: Mapping[str, str] = field(default_factory=lambda: dict(OFFICIAL_BASES))
    pins: OfficialPins = OFFICIAL
    plat: Platform | None = None
    client: httpx.Client | None = None
    out: TextIO | None = None
    max_bytes: int = MAX_DOWNLOAD_BYTES

    def say(self, message: str) -> None:
        """Progress on the bootstrap's output; downloads can take a while on slow links."""
        if self.out is not None:
            print(f"[bootstrap] {message}", file=self.out, flush=True)

    def artefact(self, tool: str) -> Artefact:
        """Where ``tool``'s pinned release file is, below its configured base."""
        return artefact(tool, self.pins.version(tool), self.bases[tool], self.plat or Platform.current())

    # ----------------------------------------------------------------- cache
    def cached(self, tool: str) -> Installed | None:
        """The installed binary, when its stamp matches the pin, the platform and its digest."""
        target = self.bin_dir / tool
        stamp = read_official_stamp(self.stamps_dir, tool)
        plat = str(self.plat or Platform.current())
        if stamp.get("version") != self.pins.version(tool) or stamp.get("platform") != plat:
            return None
        if not target.is_file() or sha256_file(target) != stamp["sha256"]:
            return None
        return Installed(tool, stamp["version"], target, stamp["sha256"], True, 0.0)

    def install_all(self, tools: Sequence[str] = TOOLS) -> list[Installed]:
        """Install every tool; the first failure stops (it is usually the same for all)."""
        with self._client() as client:
            return [self.install(tool, client) for tool in tools]

    def install(self, tool: str, client: httpx.Client | None = None) -> Installed:
        """``<bin>/<tool>`` at the pinned version: from the cache, or downloaded and verified."""
        found = self.cached(tool)
        if found is not None:
            self.say(f"{tool} {found.version}: cached ({found.path})")
            return found
        if client is None:
            with self._client() as own:
                return self._download(tool, own)
        return self._download(tool, client)

    # ----------------------------------------------------------------- work
    @contextmanager
    def _client(self) -> Iterator[httpx.Client]:
        if self.client is not None:
            yield self.client
            return
        with httpx.Client(
            follow_redirects=True,
            timeout=httpx.Timeout(30.0, read=120.0),
            headers={"User-Agent": f"pytest-jitera/{__version__}"},
        ) as client:
            yield client

    def _download(self, tool: str, client: httpx.Client) -> Installed:
        started = time.monotonic()
        art = self.artefact(tool)
        self.say(f"{tool} {art.version}: {art.url}")
        expected = parse_checksum(self._small(client, art, art.checksum_url), art.filename)
        self.bin_dir.mkdir(parents=True, exist_ok=True)
        target = self.bin_dir / tool
        with self._temp(tool, ".part") as part:
            got, size = self._fetch(client, art, part)
            if got != expected:
                raise DownloadError(
                    f"{tool} {art.version}: sha256 mismatch for {art.url}: expected {expected} "
                    f"(from {art.checksum_url}), got {got} ({size} bytes); the download was removed",
                    hint="retry; if it persists the file or the mirror is corrupt or tampered with "
                    "(a truncated download gives the same mismatch)",
                )
            if art.member is None:
                binary = part
            else:
                binary = part.with_name(part.name + ".bin")
                try:
                    extract_member(part, art.member, binary)
                except DownloadError as exc:
                    binary.unlink(missing_ok=True)
                    raise DownloadError(
                        f"{tool} {art.version}: {exc.message}; nothing was installed"
                    ) from None
            try:
                binary.chmod(0o755)
                digest = sha256_file(binary)
                os.replace(binary, target)
            finally:
                binary.unlink(missing_ok=True)
        self._stamp(tool, art.version, digest)
        seconds = time.monotonic() - started
        self.say(f"{tool} {art.version}: sha256 verified, installed {target} ({size} bytes, {seconds:.1f}s)")
        return Installed(tool, art.version, target, digest, False, seconds)

    @contextmanager
    def _temp(self, tool: str, suffix: str) -> Iterator[Path]:
        """A temporary name beside the target (same file system: the rename is atomic); always removed."""
        handle, name = tempfile.mkstemp(prefix=f".{tool}-", suffix=suffix, dir=self.bin_dir)
        os.close(handle)
        path = Path(name)
        try:
            yield path
        finally:
            path.unlink(missing_ok=True)

    def _stamp(self, tool: str, version: str, digest: str) -> None:
        self.stamps_dir.mkdir(parents=True, exist_ok=True)
        plat = str(self.plat or Platform.current())
        official_stamp(self.stamps_dir, tool).write_text(f"{tool} {version} {plat} sha256={digest}\n")
        # The air-gapped build's stamp for this tool no longer describes <bin>/<tool>.
        (self.stamps_dir / f"{tool}.stamp").unlink(missing_ok=True)

    def _small(self, client: httpx.Client, art: Artefact, url: str) -> str:
        """A checksum file: small, text, and required (no checksum, no install)."""
        body = bytearray()
        with self._request(client, art, url) as response:
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_CHECKSUM_BYTES:
                    raise DownloadError(f"{url} is larger than a checksum file can be")
        return body.decode("utf-8", errors="replace")

    def _fetch(self, client: httpx.Client, art: Artefact, dest: Path) -> tuple[str, int]:
        """Stream ``art.url`` into ``dest``; return its sha256 and size; refuse a short body."""
        digest = hashlib.sha256()
        size = 0
        with self._request(client, art, art.url) as response, dest.open("wb") as out:
            announced = response.headers.get("Content-Length")
            encoded = response.headers.get("Content-Encoding", "identity") != "identity"
            try:
                for chunk in response.iter_bytes(CHUNK):
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise DownloadError(
                            f"{art.tool} {art.version}: {art.url} is larger than {self.max_bytes} bytes; "
                            "the download was removed"
                        )
                    digest.update(chunk)
                    out.write(chunk)
            except httpx.HTTPError as exc:
                raise DownloadError(
                    f"{art.tool} {art.version}: the download from {art.url} was cut short "
                    f"({exc}); the download was removed",
                    hint=f"retry; {MIRROR_HINT}",
                ) from None
            if announced is not None and not encoded and announced.isdigit() and int(announced) != size:
                raise DownloadError(
                    f"{art.tool} {art.version}: the download from {art.url} was cut short: got {size} of "
                    f"{announced} bytes; the download was removed",
                    hint=f"retry; {MIRROR_HINT}",
                )
        return digest.hexdigest(), size

    @contextmanager
    def _request(self, client: httpx.Client, art: Artefact, url: str) -> Iterator[httpx.Response]:
        """GET ``url`` streamed; network trouble and non-200 answers become one clear error."""
        try:
            with client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise DownloadError(
                        f"{art.tool} {art.version}: {url} answered HTTP {response.status_code}",
                        hint="check the pinned version and that the base URL follows the official "
                        f"layout ({OFFICIAL_BASES[art.tool]}/...)",
                    )
                yield response
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.ProxyError, httpx.UnsupportedProtocol) as exc:
            raise DownloadError(
                f"cannot reach {_origin(url)} for {art.tool} {art.version} ({exc or type(exc).__name__})",
                hint=MIRROR_HINT,
            ) from None
        except httpx.TimeoutException as exc:
            raise DownloadError(
                f"{art.tool} {art.version}: {url} timed out ({type(exc).__name__})", hint=MIRROR_HINT
            ) from None
        except httpx.HTTPError as exc:
            raise DownloadError(
                f"{art.tool} {art.version}: fetching {url} failed ({exc})", hint=MIRROR_HINT
            ) from None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
