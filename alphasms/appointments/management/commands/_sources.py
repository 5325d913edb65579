"""Reading an import's input — a file path or an http(s) URL — with an error for every way it can fail.

Every failure is a :class:`~alphasms.commands.UsageError` (exit 2, nothing changed) naming the file or
the URL (redacted: no userinfo, no query values) and the fix. Redirects are not followed: the message
names the target to use instead.
"""

from __future__ import annotations

import codecs
import logging
import re
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alphasms.appointments.csvparse import CsvFormatError
from alphasms.appointments.ical_repair import german_message
from alphasms.cli_text import t
from alphasms.commands import UsageError, shown
from alphasms.messaging.gateways.http import redact_url

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_KINDS = {
    "ics": ("keine iCalendar-Datei", "not an iCalendar file"),
    "csv": ("keine CSV-Datei", "not a CSV file"),
}


@dataclass(frozen=True)
class Source:
    """What was read: ``name`` for messages (the path, or the redacted URL), ``ident`` to store as the
    appointments' source (the path, or the URL with a lower-case scheme), ``url`` (None for files)."""

    name: str
    ident: str
    url: str | None
    data: bytes


def url_of(source: str) -> str | None:
    """The http(s) URL in ``source`` with its scheme lower-cased, None for a file path.

    Raises UsageError for other schemes, a URL without host, or user name/password in the URL.
    """
    if not _URL.match(source):
        return None
    scheme, rest = source.split("://", 1)
    url = f"{scheme.lower()}://{rest}"
    name = redact_url(url)
    if scheme.lower() not in ("http", "https"):
        raise UsageError(
            t(
                f"{shown(name)}: nur http(s)-URLs werden unterstützt – eine http(s)-URL oder einen "
                "Dateipfad angeben.",
                f"{shown(name)}: only http(s) URLs are supported – give an http(s) URL or a file path.",
            )
        )
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is no number or out of range
    except ValueError:
        host = None
    if not host:
        raise UsageError(
            t(
                f"{shown(name)}: keine gültige URL (Server oder Port fehlt oder ist ungültig) – URL prüfen.",
                f"{shown(name)}: not a valid URL (server or port missing or invalid) – check the URL.",
            )
        )
    if "@" in parts.netloc:
        raise UsageError(
            t(
                f"{shown(name)}: Zugangsdaten in der URL werden nicht unterstützt – die Freigabe-URL "
                "des Kalenders ohne Benutzername und Passwort angeben.",
                f"{shown(name)}: credentials in the URL are not supported – use the calendar's sharing "
                "URL without user name and password.",
            )
        )
    return url


def read_source(source: str, kind: str) -> Source:
    """Read a file path or http(s) URL; ``kind`` ("ics" or "csv") words the messages. Raises UsageError
    for a missing file, a folder, an unreadable, empty or binary file, or a URL that gives no file."""
    url = url_of(source)
    if url is not None:
        name = shown(redact_url(url))
        data = _fetch(url, name)
    else:
        name = shown(source)
        data = _read_file(source, name)
    _check_content(data, name, kind, is_url=url is not None)
    return Source(name=name, ident=url or source, url=url, data=data)


def _read_file(source: str, name: str) -> bytes:
    path = Path(source)
    if path.is_dir():
        raise UsageError(
            t(
                f"{name} ist ein Ordner, keine Datei – den Pfad der Datei darin angeben.",
                f"{name} is a folder, not a file – give the path of the file in it.",
            )
        )
    if not path.exists():
        raise UsageError(
            t(
                f"Datei nicht gefunden: {name} – Pfad und Schreibweise prüfen.",
                f"file not found: {name} – check the path and spelling.",
            )
        )
    if not path.is_file():
        raise UsageError(
            t(
                f"{name} ist keine normale Datei – eine exportierte Datei angeben.",
                f"{name} is not a regular file – give an exported file.",
            )
        )
    try:
        return path.read_bytes()
    except PermissionError:
        raise UsageError(
            t(
                f"{name}: keine Leseberechtigung – die Datei freigeben oder an einen anderen Ort kopieren.",
                f"{name}: no permission to read it – change its permissions or copy it elsewhere.",
            )
        ) from None
    except OSError as exc:
        raise UsageError(
            t(f"{name}: nicht lesbar ({exc.strerror}).", f"{name}: cannot be read ({exc.strerror}).")
        ) from None


def _fetch(url: str, name: str) -> bytes:
    from alphasms.appointments.services.subscriptions import fetch_calendar
    from alphasms.messaging.gateways.errors import GatewayError, GatewayUnavailable, OutcomeUnknown
    from alphasms.messaging.gateways.http import BlockedAddress

    host = urllib.parse.urlsplit(url).hostname
    try:
        response = fetch_calendar(url)
    except BlockedAddress as exc:
        if isinstance(exc.__cause__, (OSError, UnicodeError)):  # DNS (gaierror), bad IDNA label
            raise UsageError(
                t(
                    f"{name}: den Server {host} gibt es nicht (DNS) – URL prüfen.",
                    f"{name}: the server {host} does not exist (DNS) – check the URL.",
                )
            ) from None
        raise UsageError(
            t(
                f"{name}: {host} ist eine private oder lokale Adresse und für Kalender-URLs gesperrt – "
                "eine öffentliche URL angeben, oder ein Admin erlaubt den Server mit "
                "ALPHASMS_ALLOWED_PRIVATE_HOSTS.",
                f"{name}: {host} is a private or local address and blocked for calendar URLs – give a "
                "public URL, or an admin allows the server with ALPHASMS_ALLOWED_PRIVATE_HOSTS.",
            )
        ) from None
    except GatewayUnavailable:
        raise UsageError(
            t(
                f"{name}: der Server {host} ist nicht erreichbar (Verbindung abgelehnt oder "
                "Zeitüberschreitung) – URL und Port prüfen oder später erneut versuchen.",
                f"{name}: the server {host} cannot be reached (connection refused or timed out) – "
                "check URL and port or try again later.",
            )
        ) from None
    except GatewayError as exc:
        english = getattr(exc, "user_message_en", "")  # too large, too slow: worded for staff already
        if english:
            raise UsageError(t(f"{name}: {exc.user_message}", f"{name}: {english}")) from None
        why = t("keine Antwort", "no answer") if isinstance(exc, OutcomeUnknown) else exc.code
        raise UsageError(
            t(
                f"{name}: der Abruf von {host} ist gescheitert ({why}; auch TLS-Fehler zeigen sich so) "
                "– die URL im Browser prüfen.",
                f"{name}: fetching from {host} failed ({why}; TLS errors look like this too) – check the "
                "URL in a browser.",
            )
        ) from None
    if 300 <= response.status < 400:
        target = response.headers.get("location", "")
        if target:
            shown_target = shown(redact_url(urllib.parse.urljoin(url, target)))
            raise UsageError(
                t(
                    f"{name} leitet weiter auf {shown_target} (HTTP {response.status}) – bitte diese "
                    "URL angeben.",
                    f"{name} redirects to {shown_target} (HTTP {response.status}) – use that URL instead.",
                )
            )
    if response.status != 200:
        raise UsageError(_status_message(name, response.status))
    return response.body


def _status_message(name: str, status: int) -> str:
    if status in (401, 403):
        return t(
            f"{name}: der Server verweigert den Zugriff (HTTP {status}) – die Freigabe-URL des Kalenders "
            "verwenden (z. B. „geheime Adresse im iCal-Format“).",
            f"{name}: the server refuses access (HTTP {status}) – use the calendar's sharing URL (e.g. "
            "'secret address in iCal format').",
        )
    if status in (404, 410):
        return t(
            f"{name}: gibt es auf dem Server nicht (HTTP {status}) – URL prüfen.",
            f"{name}: not found on the server (HTTP {status}) – check the URL.",
        )
    if status >= 500:
        return t(
            f"{name}: Fehler auf dem Server (HTTP {status}) – später erneut versuchen.",
            f"{name}: error on the server (HTTP {status}) – try again later.",
        )
    return t(
        f"{name}: der Server liefert keine Datei (HTTP {status}) – URL prüfen.",
        f"{name}: the server gives no file (HTTP {status}) – check the URL.",
    )


def _check_content(data: bytes, name: str, kind: str, *, is_url: bool) -> None:
    what_de, what_en = _KINDS[kind]
    if not data.strip(b" \t\r\n\x00" + codecs.BOM_UTF8):
        if is_url:
            raise UsageError(
                t(
                    f"{name}: die URL liefert eine leere Antwort – URL prüfen.",
                    f"{name}: the URL returns an empty answer – check the URL.",
                )
            )
        raise UsageError(
            t(
                f"{name}: die Datei ist leer – den Export wiederholen oder eine andere Datei angeben.",
                f"{name}: the file is empty – export again or give another file.",
            )
        )
    if not looks_binary(data):
        return
    if data.startswith(b"PK\x03\x04") and kind == "csv":
        raise UsageError(
            t(
                f"{name}: keine CSV-Datei, sondern eine Excel- oder ZIP-Datei – in Excel „Speichern "
                "unter → CSV UTF-8“ wählen.",
                f"{name}: not a CSV file but an Excel or ZIP file – in Excel use 'Save as → CSV UTF-8'.",
            )
        )
    fix_de = "den Kalender als .ics-Datei exportieren" if kind == "ics" else "als CSV-Datei exportieren"
    fix_en = "export the calendar as an .ics file" if kind == "ics" else "export it as a CSV file"
    raise UsageError(
        t(
            f"{name}: {what_de} (Binärdaten) – {fix_de}.",
            f"{name}: {what_en} (binary data) – {fix_en}.",
        )
    )


def looks_binary(data: bytes) -> bool:
    """True for data no text export looks like: NUL bytes (without a UTF-16 BOM) or many control
    characters in the first 8 KiB."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    head = data[:8192]
    if b"\x00" in head:
        return True
    control = sum(1 for byte in head if byte < 32 and byte not in b"\t\n\r\f\x1a")
    return control * 20 > len(head)


@contextmanager
def redacted_logs(source: Source) -> Iterator[None]:
    """While importing, log records show ``source.name`` where they would show the full URL."""
    if source.url is None or source.url == source.name:
        yield
        return
    secret, name = source.url, source.name

    class Redact(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            message = record.getMessage()
            if secret in message:
                record.msg, record.args = message.replace(secret, name), ()
            return True

    handlers = [*logging.getLogger("alphasms").handlers, *logging.getLogger().handlers]
    redact = Redact()
    for handler in handlers:
        handler.addFilter(redact)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(redact)


def calendar_error(source: Source, exc: Exception) -> UsageError:
    """A CalendarError (English detail from the reader) as a UsageError in the user's language."""
    detail, detail_de = shown(str(exc)), shown(german_message(str(exc)))
    if source.url:
        detail, detail_de = (
            detail.replace(source.url, source.name),
            detail_de.replace(source.url, source.name),
        )
    hint_de = hint_en = ""
    if source.data.lstrip()[:1] == b"<":
        hint_de = " – das ist eine Webseite, keine .ics-Datei: die iCal-Adresse des Kalenders angeben"
        hint_en = " – this is a web page, not an .ics file: use the calendar's iCal address"
    return UsageError(
        t(
            f"{source.name}: Kalender nicht lesbar: {detail_de}{hint_de}",
            f"{source.name}: calendar unreadable: {detail}{hint_en}",
        )
    )


def csv_error(source: Source, exc: CsvFormatError) -> UsageError:
    """The CSV reader's reason in the user's language; for an unknown header with the --map hint."""
    hint_de = hint_en = ""
    if exc.reason_en.startswith("no recognisable header"):
        hint_de = ' – andere Spaltennamen mit --map FELD=Spalte zuordnen, z. B. --map mobile="Tel. mobil"'
        hint_en = ' – map other column names with --map FIELD=Header, e.g. --map mobile="Tel. mobil"'
    return UsageError(
        t(
            f"{source.name}: {shown(exc.reason_de)}{hint_de}",
            f"{source.name}: {shown(exc.reason_en)}{hint_en}",
        )
    )
