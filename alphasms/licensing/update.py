"""The manual update check (issue 7 part 2): only on a person's action, exactly four fields out.

Flow: :func:`preview_update_request` shows what will be sent and where; after the person confirms,
:func:`run_update_check` POSTs exactly :func:`build_update_request`'s four fields as JSON to
``VENDOR_URL + /api/v1/update-check`` and verifies the answer, a signed manifest (Ed25519 envelope, see
``envelope.py``). :func:`download_update` fetches the release file and checks its SHA-256 before it is
offered. Nothing here runs by itself: no timer, no start-up hook, no call from the worker
(``tests/test_no_phone_home.py`` fails if one appears). DESIGN.md invariants 6 and 7.

The vendor URL must be ``https://`` (certificate verified against the system's trust store); plain
``http://`` is accepted only for a loopback host (127.0.0.1, ::1, localhost), which tests use. Redirects
are not followed (the body would go to another place than the one shown).

Errors are :class:`UpdateCheckError` subclasses, one per cause, each a sentence in German and English.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import importlib.metadata
import ipaddress
import json
import os
import platform
import re
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

import urllib3
from django.db.models import Max
from django.utils import timezone

from alphasms.cli_text import t
from alphasms.conf import app_settings
from alphasms.licensing import envelope
from alphasms.licensing.licence import stored_licence
from alphasms.licensing.models import AcceptedManifest

UPDATE_CHECK_PATH = "/api/v1/update-check"
#: The only fields the update check sends (DESIGN.md invariant 6). Tests fail if one is added.
REQUEST_FIELDS = ("client_version", "os", "registration_name", "licence_number")
MANIFEST_TYPE = "alphasms-manifest"
TIMEOUT_S = 20.0
MAX_MANIFEST_BYTES = 256 * 1024
MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024
_LOOPBACK_NAMES = {"localhost"}
_SHA256 = re.compile(r"[0-9a-f]{64}")


class UpdateCheckError(Exception):
    """The update check failed or its answer was refused. ``code`` names the cause for ``--json`` and
    the settings page; ``de``/``en`` are the sentence; ``str()`` is in the CLI language."""

    code = "error"

    def __init__(self, de: str, en: str) -> None:
        self.de, self.en = de, en
        super().__init__(t(de, en))


class VendorUrlRefused(UpdateCheckError):
    """``ALPHASMS_VENDOR_URL`` is not https (and not loopback), or not a URL. Nothing was sent."""

    code = "vendor_url"


class VendorUnreachable(UpdateCheckError):
    """No connection, TLS failure or timeout."""

    code = "unreachable"


class VendorAnswerError(UpdateCheckError):
    """The server answered, but not with 200 and a JSON envelope."""

    code = "bad_answer"


class ManifestUnsigned(UpdateCheckError):
    """The manifest carries no signature."""

    code = "unsigned"


class ManifestForged(UpdateCheckError):
    """The signature does not verify with the vendor's public key (another key or altered content)."""

    code = "forged"


class ManifestMalformed(UpdateCheckError):
    """Signed correctly, but not a manifest of the expected shape."""

    code = "malformed"


class ManifestExpired(UpdateCheckError):
    """The manifest's ``expires_at`` has passed (a replayed old answer)."""

    code = "expired"


class ManifestRolledBack(UpdateCheckError):
    """The manifest's counter is lower than one accepted before (a replayed older release list)."""

    code = "rolled_back"


class DownloadFailed(UpdateCheckError):
    """The release file could not be fetched or stored."""

    code = "download_failed"


class DownloadHashMismatch(UpdateCheckError):
    """The downloaded file's SHA-256 differs from the signed manifest's; the file was deleted."""

    code = "hash_mismatch"


def client_version() -> str:
    """This installation's AlphaSMS version (the installed distribution's), e.g. ``"0.1.0"``."""
    try:
        return importlib.metadata.version("alphasms")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


def operating_system() -> str:
    """Operating system name and release only, e.g. ``"Linux 6.1.0-18-amd64"`` or ``"Windows 10"``."""
    return f"{platform.system()} {platform.release()}".strip()


def build_update_request() -> dict[str, str]:
    """The exact body of the update check: the four :data:`REQUEST_FIELDS`, nothing else.

    ``registration_name`` and ``licence_number`` are those of the stored licence ("" in evaluation mode
    without one). Shape: ``{"client_version": "0.1.0", "os": "Linux 6.1.0", "registration_name": "…",
    "licence_number": "AS1-…"}``.
    """
    row = stored_licence()
    return {
        "client_version": client_version(),
        "os": operating_system(),
        "registration_name": row.registration_name if row else "",
        "licence_number": row.licence_number if row else "",
    }


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _checked_url(url: str, setting: str) -> str:
    """``url`` if it is https, or http to a loopback host; else :class:`VendorUrlRefused`."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return url
    if parts.scheme == "http" and host and _is_loopback(host):
        return url
    raise VendorUrlRefused(
        f"{setting}: {url!r} ist keine https-Adresse – eine Adresse mit https:// eintragen "
        "(http nur für 127.0.0.1/localhost).",
        f"{setting}: {url!r} is not an https address – set one starting with https:// "
        "(http only for 127.0.0.1/localhost).",
    )


def update_check_url() -> str:
    """``VENDOR_URL`` + ``/api/v1/update-check``; raises :class:`VendorUrlRefused` unless https or
    loopback."""
    return _checked_url(app_settings.VENDOR_URL + UPDATE_CHECK_PATH, "ALPHASMS_VENDOR_URL")


@dataclasses.dataclass(frozen=True)
class UpdatePreview:
    """What the update check would send (``payload``) and where (``url``), before anything is sent."""

    url: str
    payload: dict[str, str]

    def text(self) -> str:
        """The preview as the CLI and the settings page show it, in the CLI language."""
        lines = [
            t(
                f"Die Update-Prüfung sendet an {self.url} genau diese Angaben – sonst nichts:",
                f"The update check sends exactly this to {self.url} – nothing else:",
            )
        ]
        lines += [f"  {key}: {self.payload[key]!r}" for key in REQUEST_FIELDS]
        return "\n".join(lines)


def preview_update_request() -> UpdatePreview:
    """The update check's URL and exact body, for showing before the person confirms (settings page
    button, ``alphasms update check``). Sends nothing. Raises :class:`VendorUrlRefused`."""
    return UpdatePreview(url=update_check_url(), payload=build_update_request())


@dataclasses.dataclass(frozen=True)
class Manifest:
    """A verified manifest. Instants are UTC; ``counter`` rises with every manifest the vendor signs."""

    latest_version: str
    release_notes: str
    download_url: str
    sha256: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    counter: int


def _parse_instant(value: Any, name: str) -> dt.datetime:
    if not isinstance(value, str):
        raise ValueError(name)
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(name)
    return parsed.astimezone(dt.UTC)


def _manifest_fields(payload: dict[str, Any]) -> Manifest:
    try:
        if payload.get("type") != MANIFEST_TYPE:
            raise ValueError("type")
        counter = payload["counter"]
        if type(counter) is not int or counter < 0:
            raise ValueError("counter")
        text_fields = ("latest_version", "release_notes", "download_url", "sha256")
        if not all(isinstance(payload.get(name), str) for name in text_fields):
            raise ValueError("text")
        if not payload["latest_version"] or not _SHA256.fullmatch(payload["sha256"].lower()):
            raise ValueError("version/sha256")
        return Manifest(
            latest_version=payload["latest_version"],
            release_notes=payload["release_notes"],
            download_url=payload["download_url"],
            sha256=payload["sha256"].lower(),
            issued_at=_parse_instant(payload.get("issued_at"), "issued_at"),
            expires_at=_parse_instant(payload.get("expires_at"), "expires_at"),
            counter=counter,
        )
    except (KeyError, ValueError, TypeError):
        raise ManifestMalformed(
            "Die Antwort des Herstellers ist korrekt signiert, aber kein vollständiges Update-Manifest – "
            "später erneut prüfen oder den Support fragen.",
            "The vendor's answer is correctly signed but not a complete update manifest – check again "
            "later or ask support.",
        ) from None


def highest_counter() -> int | None:
    """The highest manifest counter accepted so far (the rollback floor), or None."""
    value: int | None = AcceptedManifest.objects.aggregate(top=Max("counter"))["top"]
    return value


def verify_manifest(answer: Any, now: dt.datetime | None = None) -> Manifest:
    """Verify an update-check answer (a signed envelope) and return the manifest; stores nothing.

    Refuses, each with its own error: no signature (:class:`ManifestUnsigned`), a signature that does not
    verify with ``VENDOR_SIGNING_PUBLIC_KEY`` (:class:`ManifestForged`), ``now > expires_at``
    (:class:`ManifestExpired`), a counter below the highest accepted (:class:`ManifestRolledBack`) and
    anything else (:class:`ManifestMalformed`).
    """
    now = now or timezone.now()
    key = envelope.public_key_from_text(app_settings.VENDOR_SIGNING_PUBLIC_KEY)
    try:
        payload = envelope.verify_envelope(key, answer)
    except envelope.EnvelopeUnsigned:
        raise ManifestUnsigned(
            "Die Antwort auf die Update-Prüfung ist nicht signiert und wurde verworfen – sie kommt nicht "
            "nachweislich vom Hersteller; ALPHASMS_VENDOR_URL prüfen.",
            "The update check's answer is not signed and was discarded – it does not provably come from "
            "the vendor; check ALPHASMS_VENDOR_URL.",
        ) from None
    except envelope.EnvelopeForged:
        raise ManifestForged(
            "Die Antwort auf die Update-Prüfung ist mit einem fremden Schlüssel signiert oder verändert "
            "und wurde verworfen – ALPHASMS_VENDOR_URL prüfen; nichts installieren, was sie anbietet.",
            "The update check's answer is signed by another key or was altered, and was discarded – check "
            "ALPHASMS_VENDOR_URL; install nothing it offers.",
        ) from None
    except envelope.EnvelopeError:
        raise ManifestMalformed(
            "Die Antwort auf die Update-Prüfung ist kein signiertes Manifest – später erneut prüfen.",
            "The update check's answer is not a signed manifest – check again later.",
        ) from None
    manifest = _manifest_fields(payload)
    if now > manifest.expires_at:
        raise ManifestExpired(
            f"Das Update-Manifest ist abgelaufen (gültig bis {manifest.expires_at:%Y-%m-%d %H:%M} UTC) "
            "und wurde verworfen – eine alte, wieder eingespielte Antwort; später erneut prüfen und die "
            "Uhrzeit des Rechners kontrollieren.",
            f"The update manifest expired (valid until {manifest.expires_at:%Y-%m-%d %H:%M} UTC) and was "
            "discarded – an old answer played back; check again later and check this computer's clock.",
        )
    floor = highest_counter()
    if floor is not None and manifest.counter < floor:
        raise ManifestRolledBack(
            f"Das Update-Manifest ist älter (Zähler {manifest.counter}) als ein bereits erhaltenes "
            f"(Zähler {floor}) und wurde verworfen – jemand spielt eine alte Versionsliste ein; "
            "ALPHASMS_VENDOR_URL prüfen.",
            f"The update manifest is older (counter {manifest.counter}) than one already received "
            f"(counter {floor}) and was discarded – someone is playing back an old release list; check "
            "ALPHASMS_VENDOR_URL.",
        )
    return manifest


def _version_key(version: str) -> tuple[tuple[int, str], ...]:
    return tuple((int(p), "") if p.isdigit() else (-1, p) for p in re.split(r"[.+-]", version))


@dataclasses.dataclass(frozen=True)
class UpdateResult:
    """The outcome of one accepted update check. ``sent`` is the exact body that was sent."""

    sent: dict[str, str]
    url: str
    current_version: str
    manifest: Manifest

    @property
    def update_available(self) -> bool:
        return _version_key(self.manifest.latest_version) > _version_key(self.current_version)

    @property
    def pip_command(self) -> str:
        """How to install the new version with pip, in this installation's Python environment."""
        return f'"{sys.executable}" -m pip install --upgrade "alphasms=={self.manifest.latest_version}"'

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (``alphasms update check --json``)."""
        m = self.manifest
        return {
            "sent": self.sent,
            "url": self.url,
            "current_version": self.current_version,
            "latest_version": m.latest_version,
            "update_available": self.update_available,
            "release_notes": m.release_notes,
            "download_url": m.download_url,
            "sha256": m.sha256,
            "issued_at": m.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "expires_at": m.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "counter": m.counter,
            "pip_command": self.pip_command if self.update_available else "",
        }


def _pool(timeout_s: float) -> urllib3.PoolManager:
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(total=timeout_s), retries=False, headers={"User-Agent": "AlphaSMS"}
    )


def read_within(response: urllib3.BaseHTTPResponse, limit: int, deadline: float) -> bytes:
    """The body of ``response`` (opened with ``preload_content=False``), at most ``limit`` + 1 bytes
    (one more than allowed, so the caller sees it is too large), read in chunks before ``deadline``
    (``time.monotonic()`` seconds). Each read waits at most until the deadline, so a server trickling
    one byte at a time cannot stretch a per-read timeout into minutes (security review). Raises
    ``urllib3.exceptions.TimeoutError`` (an ``HTTPError``) at the deadline."""
    body = bytearray()
    while len(body) <= limit:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise urllib3.exceptions.TimeoutError("answer not complete before the deadline")
        sock = getattr(getattr(response, "connection", None), "sock", None)
        if sock is not None:
            sock.settimeout(remaining)
        chunk = response.read1(min(64 * 1024, limit + 1 - len(body)))
        if not chunk:
            break
        body += chunk
    return bytes(body)


def _unreachable(url: str, exc: Exception) -> VendorUnreachable:
    detail = type(exc).__name__
    return VendorUnreachable(
        f"Der Update-Server {url} ist nicht erreichbar ({detail}) – Internetverbindung und "
        "ALPHASMS_VENDOR_URL prüfen und später erneut versuchen.",
        f"The update server {url} cannot be reached ({detail}) – check the internet connection and "
        "ALPHASMS_VENDOR_URL and try again later.",
    )


def run_update_check(
    preview: UpdatePreview | None = None, *, now: dt.datetime | None = None, timeout_s: float = TIMEOUT_S
) -> UpdateResult:
    """Send the update check now and return the verified answer. Call only on a person's action,
    after showing :func:`preview_update_request` (settings page button, ``alphasms update check``);
    pass that ``preview`` so exactly what was shown is sent (its URL is checked again).

    ``timeout_s`` bounds the whole exchange (seconds, monotonic), not each read.

    Side effects: one HTTPS POST of :func:`build_update_request` (JSON) to :func:`update_check_url`; on
    success one ``AcceptedManifest`` row (the new rollback floor). Raises :class:`VendorUrlRefused`,
    :class:`VendorUnreachable`, :class:`VendorAnswerError` or the manifest errors of
    :func:`verify_manifest` (then nothing is stored).
    """
    preview = preview or preview_update_request()
    url = _checked_url(preview.url, "ALPHASMS_VENDOR_URL")
    payload = dict(preview.payload)
    if tuple(payload) != REQUEST_FIELDS:  # never more (or other) fields than the four shown
        raise ValueError(f"update check payload must have exactly the fields {REQUEST_FIELDS}")
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    deadline = time.monotonic() + timeout_s  # the whole exchange, not each read
    try:
        response = _pool(timeout_s).request(
            "POST",
            url,
            body=body,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            redirect=False,
            preload_content=False,
        )
        try:
            raw = read_within(response, MAX_MANIFEST_BYTES, deadline)
        finally:
            response.release_conn()
    except urllib3.exceptions.HTTPError as exc:
        raise _unreachable(app_settings.VENDOR_URL, exc) from None
    if response.status != 200 or len(raw) > MAX_MANIFEST_BYTES:
        detail = ""
        try:
            detail = str(json.loads(raw).get("error", ""))[:200]
        except (ValueError, AttributeError):
            pass
        suffix = f": {detail}" if detail else ""
        raise VendorAnswerError(
            f"Der Update-Server antwortete mit HTTP {response.status}{suffix} – später erneut versuchen.",
            f"The update server answered HTTP {response.status}{suffix} – try again later.",
        )
    try:
        answer = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise VendorAnswerError(
            "Die Antwort des Update-Servers ist kein JSON – später erneut versuchen.",
            "The update server's answer is not JSON – try again later.",
        ) from None
    now = now or timezone.now()
    manifest = verify_manifest(answer, now)
    AcceptedManifest.objects.create(
        received_at=now,
        counter=manifest.counter,
        latest_version=manifest.latest_version,
        issued_at=manifest.issued_at,
        expires_at=manifest.expires_at,
        payload=answer.get("payload", {}),
    )
    return UpdateResult(sent=payload, url=url, current_version=payload["client_version"], manifest=manifest)


def _file_name(download_url: str) -> str:
    name = Path(urllib.parse.unquote(urllib.parse.urlsplit(download_url).path)).name
    name = re.sub(r"[^A-Za-z0-9._+-]", "_", name).lstrip(".")
    return name or "alphasms-update"


def download_update(manifest: Manifest, directory: Path, *, timeout_s: float = 300.0) -> Path:
    """Download ``manifest.download_url`` into ``directory`` and return the file, only if its SHA-256
    equals the signed ``manifest.sha256``; otherwise the file is deleted and
    :class:`DownloadHashMismatch` raised. The URL must be https (http only on loopback).
    ``timeout_s`` bounds the whole download (seconds, monotonic), not each read.

    Side effects: one HTTPS GET; a file in ``directory`` (written under a temporary name, renamed when
    verified). Raises :class:`VendorUrlRefused`, :class:`DownloadFailed`, :class:`DownloadHashMismatch`.
    """
    url = _checked_url(manifest.download_url, "download_url")
    target = directory / _file_name(url)
    digest = hashlib.sha256()
    size = 0
    fd, temp_name = tempfile.mkstemp(dir=directory, prefix=".alphasms-download-")
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            deadline = time.monotonic() + timeout_s  # the whole download, not each read
            response = _pool(min(timeout_s, TIMEOUT_S)).request(
                "GET", url, redirect=False, preload_content=False
            )
            try:
                if response.status != 200:
                    raise DownloadFailed(
                        f"Download von {url}: HTTP {response.status} – später erneut versuchen.",
                        f"download from {url}: HTTP {response.status} – try again later.",
                    )
                while chunk := read_within(response, 64 * 1024 - 1, deadline):
                    size += len(chunk)
                    if size > MAX_DOWNLOAD_BYTES:
                        raise DownloadFailed(
                            f"Download von {url}: größer als {MAX_DOWNLOAD_BYTES} Bytes – abgebrochen.",
                            f"download from {url}: larger than {MAX_DOWNLOAD_BYTES} bytes – stopped.",
                        )
                    digest.update(chunk)
                    out.write(chunk)
            finally:
                response.release_conn()
        if digest.hexdigest() != manifest.sha256:
            raise DownloadHashMismatch(
                f"Die heruntergeladene Datei hat nicht die SHA-256-Prüfsumme aus dem signierten Manifest "
                f"(erwartet {manifest.sha256}, erhalten {digest.hexdigest()}) und wurde gelöscht – nicht "
                "installieren; später erneut versuchen.",
                f"The downloaded file does not have the SHA-256 from the signed manifest (expected "
                f"{manifest.sha256}, got {digest.hexdigest()}) and was deleted – do not install it; try "
                "again later.",
            )
        temp.replace(target)
    except urllib3.exceptions.HTTPError as exc:
        temp.unlink(missing_ok=True)
        raise DownloadFailed(
            f"Download von {url} fehlgeschlagen ({type(exc).__name__}) – später erneut versuchen.",
            f"download from {url} failed ({type(exc).__name__}) – try again later.",
        ) from None
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return target


def install_command(path: Path) -> str:
    """The pip command that installs a downloaded (and verified) release file."""
    return f'"{sys.executable}" -m pip install --upgrade "{path}"'
