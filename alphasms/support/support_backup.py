"""The support backup: the appointment data one support case needs, encrypted to the vendor, sent on
the user's action only, deleted by the vendor when the case closes (issue 7, part 5).

What goes in is an explicit allow-list (:data:`ALLOWED_FIELDS`) of fields of four kinds — locations,
reminder rules (with their appointment types), appointments in a date range, and only the customers of
those appointments. Nothing else can reach the bundle: no credentials, keys, sessions, user accounts,
consent evidence, messages, audit entries or settings (DESIGN.md invariant 8; reference §0 item 8).

Pseudonymisation is **on by default** (GDPR Art. 5(1)(c) data minimisation, Art. 25(2) data protection
by default, Art. 4(5)): a scheduling, encoding or planning problem is reproduced with the structure of
the data, not with who the people are. Names become ``Kunde 17``, e-mail addresses
``kunde-17@pseudonym.invalid``, phone numbers keep their country code and length but get other digits
(HMAC-SHA256 under a random key that exists only while the bundle is built, so the same person gets the
same pseudonym everywhere in one bundle and nobody can reverse it); free-text notes are left out and
appointment titles (which often carry the person's name, see the calendar matching) become the
appointment type. ``pseudonymise=False`` sends the real values where a case needs them (a number that
does not normalise, a name that breaks matching) — the preview says so in plain words.

The bundle is one UTF-8 JSON document ``{"manifest": {...}, "data": {...}}`` encrypted with age
(age-encryption.org/v1, X25519 recipient ``app_settings.VENDOR_AGE_RECIPIENT``, library ``pyrage``). It is
uploaded to ``POST {VENDOR_URL}/api/v1/support/cases/<case>/backup`` (issue 7 protocol, item 2; https,
plain http only to a loopback host); the vendor server answers with its SHA-256 and the instant it will
be deleted at the latest. ``GET …/receipt`` later returns the vendor's Ed25519-signed deletion receipt
(protocol item 3), which :func:`fetch_receipt` verifies against ``VENDOR_SIGNING_PUBLIC_KEY`` and the
stored SHA-256 before it is stored.

Service functions for the settings page buttons and the CLI: :func:`preview_support_backup`,
:func:`upload_support_backup`, :func:`create_and_upload_support_backup`, :func:`write_support_backup`,
:func:`fetch_receipt`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import re
import secrets
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyrage
import urllib3
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from alphasms.appointments.models import Appointment, Customer, Location, ReminderRule
from alphasms.cli_text import t
from alphasms.conf import app_settings
from alphasms.licensing.envelope import (
    EnvelopeError,
    EnvelopeForged,
    EnvelopeUnsigned,
    public_key_from_text,
    verify_envelope,
)
from alphasms.licensing.update import read_within
from alphasms.privacy.audit import audit
from alphasms.privacy.models import AuditAction
from alphasms.support.models import DeletionReason, SupportCase

__all__ = [
    "ALLOWED_FIELDS",
    "BUNDLE_FORMAT",
    "DEFAULT_DAYS_AFTER",
    "DEFAULT_DAYS_BEFORE",
    "CaseAlreadySent",
    "ReceiptForged",
    "ReceiptMismatch",
    "ReceiptResult",
    "SupportBackupError",
    "SupportBackupPreview",
    "UnknownCase",
    "VendorRejected",
    "VendorUnreachable",
    "case_state",
    "collect_bundle",
    "create_and_upload_support_backup",
    "fetch_receipt",
    "preview_support_backup",
    "upload_support_backup",
    "validate_case_id",
    "validate_case_token",
    "vendor_url",
    "write_support_backup",
]

#: Version tag of the bundle's JSON shape (``manifest.format``).
BUNDLE_FORMAT = "alphasms-support-backup/1"
#: Default date range: appointments starting from this many days before now …
DEFAULT_DAYS_BEFORE = 30
#: … until this many days after now.
DEFAULT_DAYS_AFTER = 60
#: Case ids the vendor server accepts (protocol: ``[A-Za-z0-9-]{1,64}``).
CASE_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
#: Seconds to wait for the vendor server (connect and read each).
TIMEOUT_S = 30.0
#: Largest answer read from the vendor server (a receipt is a few hundred bytes).
MAX_ANSWER_BYTES = 64 * 1024

_LOOPBACK_NAMES = {"localhost"}

# The allow-list: kind → (model, fields). Only these fields of only these models are read; a field not
# listed here never reaches the bundle. Relations are exported as ids (``*_id``).
ALLOWED_FIELDS: dict[str, tuple[type[Model], tuple[str, ...]]] = {
    "locations": (
        Location,
        ("id", "name", "time_zone", "country", "phone", "monthly_sms_budget_micros", "budget_currency"),
    ),
    "reminder_rules": (
        ReminderRule,
        (
            "id",
            "name",
            "active",
            "offset_s",
            "channel",
            "subject_template",
            "body_template",
            "subject_template_en",
            "body_template_en",
            "window_start",
            "window_end",
            "attach_ics",
            "smart_encoding",
            "unknown_outcome_policy",
        ),
    ),
    "appointments": (
        Appointment,
        (
            "id",
            "location_id",
            "customer_id",
            "appointment_type_id",
            "summary",
            "start_at",
            "end_at",
            "all_day",
            "start_date",
            "end_date",
            "status",
            "confirmed_at",
            "source",
            "external_uid",
            "recurrence_id",
            "created_at",
            "updated_at",
        ),
    ),
    "customers": (
        Customer,
        (
            "id",
            "customer_number",
            "given_name",
            "family_name",
            "mobile_e164",
            "mobile_raw",
            "mobile_sms_ok",
            "mobile_flags",
            "email",
            "language",
            "country",
            "notes",
            "restricted_at",
        ),
    ),
}
#: Kinds in the order the preview lists them (appointment types travel inside the rules and appointments).
KINDS = ("locations", "reminder_rules", "appointment_types", "appointments", "customers")


class SupportBackupError(ValueError):
    """Base of the support backup's errors. ``user_message`` is one sentence for staff (German or
    English per ``cli_text``), naming the field or setting and the fix; it never contains secrets."""

    exit_code = 1

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


class UsageProblem(SupportBackupError):
    """Bad input (case id, date range, location, destination URL setting): nothing was sent."""

    exit_code = 2


class CaseAlreadySent(UsageProblem):
    """A support backup for this case id exists already (one bundle per case)."""


class UnknownCase(UsageProblem):
    """The case is not known (locally, or to the vendor server: HTTP 404)."""


class VendorUnreachable(SupportBackupError):
    """The vendor server could not be reached (DNS, refused, TLS, timeout); nothing changed."""


class VendorRejected(SupportBackupError):
    """The vendor server answered with an error or an answer that is not the protocol's."""


class ReceiptForged(SupportBackupError):
    """A deletion receipt without a valid signature of the vendor's key; it is not stored."""


class ReceiptMismatch(SupportBackupError):
    """A correctly signed receipt that is about another case or another file; it is not stored."""


def validate_case_id(case: str) -> str:
    """``case`` stripped, if it matches ``[A-Za-z0-9-]{1,64}`` (protocol); else :class:`UsageProblem`."""
    value = (case or "").strip()
    if not CASE_ID.fullmatch(value):
        raise UsageProblem(
            t(
                f"--case {value!r}: eine Fallnummer besteht aus 1–64 Zeichen A–Z, a–z, 0–9 und „-“ "
                "(z. B. 2026-0042) – die Nummer aus der E-Mail des Supports angeben.",
                f"--case {value!r}: a case id has 1–64 characters A–Z, a–z, 0–9 and '-' (e.g. 2026-0042) "
                "– give the id from the support's e-mail.",
            )
        )
    return value


#: Upload tokens from ``alphasms vendor case open``: 32 base32 letters (160 bits), any case, spaces and
#: dashes ignored (the vendor shows them in groups of four).
CASE_TOKEN = re.compile(r"[A-Z2-7]{32}")
#: Header carrying the token on upload and receipt requests.
CASE_TOKEN_HEADER = "X-AlphaSMS-Case-Token"


def validate_case_token(token: str) -> str:
    """``token`` normalised (upper case, without spaces and dashes) if it has the form of an upload
    token (32 letters A–Z and digits 2–7); else :class:`UsageProblem` naming ``--token``. The token
    itself never appears in the message."""
    value = re.sub(r"[\s-]", "", token or "").upper()
    if not CASE_TOKEN.fullmatch(value):
        raise UsageProblem(
            t(
                "--token: der Upload-Schlüssel des Falls besteht aus 32 Zeichen A–Z und 2–7 (in "
                "Vierergruppen wie ABCD-EFGH-…) – den Schlüssel angeben, den der Support zur Fallnummer "
                "genannt hat.",
                "--token: the case's upload token has 32 characters A–Z and 2–7 (in groups of four like "
                "ABCD-EFGH-…) – give the token the support gave with the case id.",
            )
        )
    return value


def vendor_url() -> str:
    """``app_settings.VENDOR_URL`` without trailing slash, if it is https or http to a loopback host
    (127.0.0.1, ::1, localhost — tests); else :class:`UsageProblem` naming ``ALPHASMS_VENDOR_URL``."""
    url = app_settings.VENDOR_URL.rstrip("/")
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return url
    if parts.scheme == "http" and _is_loopback(host):
        return url
    raise UsageProblem(
        t(
            f"ALPHASMS_VENDOR_URL {url!r}: der Hersteller-Server muss per https erreichbar sein "
            "(http nur für 127.0.0.1/localhost) – die Einstellung korrigieren.",
            f"ALPHASMS_VENDOR_URL {url!r}: the vendor server must use https (plain http only for "
            "127.0.0.1/localhost) – correct the setting.",
        )
    )


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- collecting ------------------------------------------------------------------------------------


class _Pseudonyms:
    """Stable pseudonyms within one bundle: HMAC-SHA256 under a key that lives only in this object."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def digits(self, value: str, count: int) -> str:
        digest = hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).digest()
        number = int.from_bytes(digest, "big")
        return "".join(str((number >> (4 * i)) % 10) for i in range(count))

    def token(self, value: str) -> str:
        return hmac.new(self._key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:16]

    def phone(self, e164: str) -> str:
        """``+49…`` with the same country code (from phonenumbers) and length, other digits."""
        if not e164:
            return ""
        import phonenumbers

        try:
            code = str(phonenumbers.parse(e164).country_code or "")
        except phonenumbers.NumberParseException:
            code = ""
        digits = re.sub(r"\D", "", e164)
        rest = len(digits) - len(code) if code and digits.startswith(code) else len(digits)
        return "+" + code + self.digits(e164, max(rest, 0))


def _value(value: Any) -> Any:
    """A JSON value: instants as ISO 8601 UTC with "Z", dates and times as ISO 8601."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return value


def _rows(kind: str, objects: Iterable[Model]) -> list[dict[str, Any]]:
    _, fields = ALLOWED_FIELDS[kind]
    return [{name: _value(getattr(obj, name)) for name in fields} for obj in objects]


def _pseudonymise_customer(row: dict[str, Any], names: _Pseudonyms) -> dict[str, Any]:
    pk = row["id"]
    row.update(
        customer_number=f"K{pk}" if row["customer_number"] else "",
        given_name=f"Vorname{pk}" if row["given_name"] else "",
        family_name=f"Kunde {pk}" if row["family_name"] else "",
        mobile_e164=names.phone(row["mobile_e164"]),
        mobile_raw=names.phone(row["mobile_e164"]) if row["mobile_raw"] else "",
        email=f"kunde-{pk}@pseudonym.invalid" if row["email"] else "",
        notes="",
    )
    return row


def _pseudonymise_appointment(
    row: dict[str, Any], type_names: Mapping[int, str], names: _Pseudonyms
) -> dict[str, Any]:
    type_name = type_names.get(row["appointment_type_id"] or 0, "")
    row["summary"] = f"Termin {row['id']}" + (f" ({type_name})" if type_name else "")
    if row["external_uid"]:
        row["external_uid"] = f"uid-{names.token(row['external_uid'])}"
    return row


def _instant(value: dt.datetime | dt.date | None, default: dt.datetime, name: str) -> dt.datetime:
    if value is None:
        return default
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return dt.datetime.combine(value, dt.time(0), tzinfo=dt.UTC)


def _location(location: int | str | Location | None) -> Location | None:
    if location is None or location == "":
        return None
    if isinstance(location, Location):
        return location
    text = str(location).strip()
    found = (
        Location.objects.filter(pk=int(text)).first()
        if text.isdigit()
        else Location.objects.filter(name=text).first()
    )
    if found is None:
        names = ", ".join(f"{loc.pk} ({loc.name})" for loc in Location.objects.order_by("pk")[:10])
        raise UsageProblem(
            t(
                f"--location {text!r}: keinen Standort mit dieser Nummer oder diesem Namen gefunden – "
                f"vorhanden: {names or 'keiner'}.",
                f"--location {text!r}: no location with this id or name – present: {names or 'none'}.",
            )
        )
    return found


def collect_bundle(
    case: str,
    *,
    since: dt.datetime | dt.date | None = None,
    until: dt.datetime | dt.date | None = None,
    location: int | str | Location | None = None,
    pseudonymise: bool = True,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The bundle's JSON document (not yet encrypted): ``{"manifest": {...}, "data": {kind: [rows]}}``.

    ``since``/``until`` (UTC instants or dates; dates mean 00:00 UTC) select appointments by start;
    defaults: :data:`DEFAULT_DAYS_BEFORE` days before ``now`` until :data:`DEFAULT_DAYS_AFTER` days after.
    ``location`` (id, exact name or object) limits locations and appointments to one location. Customers
    are only those of the selected appointments; rules are all rules (they apply to every location).
    The manifest holds ``format``, ``case``, ``created_at``, ``since``, ``until``, ``location_id``,
    ``pseudonymised``, ``counts`` per kind and ``fields`` (the allow-list). Reads only; raises
    :class:`UsageProblem` for a bad case id, an empty range or an unknown location.
    """
    case = validate_case_id(case)
    now = now or timezone.now()
    start = _instant(since, now - dt.timedelta(days=DEFAULT_DAYS_BEFORE), "--since")
    end = _instant(until, now + dt.timedelta(days=DEFAULT_DAYS_AFTER), "--until")
    if end <= start:
        raise UsageProblem(
            t(
                f"--until ({_value(end)}) liegt nicht nach --since ({_value(start)}) – den Zeitraum "
                "korrigieren.",
                f"--until ({_value(end)}) is not after --since ({_value(start)}) – correct the range.",
            )
        )
    place = _location(location)
    names = _Pseudonyms()

    locations = Location.objects.order_by("pk")
    appointments = Appointment.objects.filter(start_at__gte=start, start_at__lt=end).order_by(
        "start_at", "pk"
    )
    if place is not None:
        locations = locations.filter(pk=place.pk)
        appointments = appointments.filter(location=place)
    appointment_list = list(appointments)
    customer_ids = {a.customer_id for a in appointment_list if a.customer_id is not None}
    customers = Customer.objects.filter(pk__in=customer_ids).order_by("pk")
    rules = ReminderRule.objects.prefetch_related("appointment_types").order_by("pk")

    from alphasms.appointments.models import AppointmentType

    type_ids = {a.appointment_type_id for a in appointment_list if a.appointment_type_id is not None}
    rule_list = list(rules)
    for rule in rule_list:
        type_ids |= {typ.pk for typ in rule.appointment_types.all()}
    types = {typ.pk: typ.name for typ in AppointmentType.objects.filter(pk__in=type_ids)}

    rule_rows = _rows("reminder_rules", rule_list)
    for row, rule in zip(rule_rows, rule_list, strict=True):
        row["appointment_type_ids"] = sorted(typ.pk for typ in rule.appointment_types.all())
    appointment_rows = _rows("appointments", appointment_list)
    customer_rows = _rows("customers", customers)
    if pseudonymise:
        appointment_rows = [_pseudonymise_appointment(r, types, names) for r in appointment_rows]
        customer_rows = [_pseudonymise_customer(r, names) for r in customer_rows]
    data: dict[str, list[dict[str, Any]]] = {
        "locations": _rows("locations", locations),
        "reminder_rules": rule_rows,
        "appointment_types": [{"id": pk, "name": name} for pk, name in sorted(types.items())],
        "appointments": appointment_rows,
        "customers": customer_rows,
    }
    manifest = {
        "format": BUNDLE_FORMAT,
        "case": case,
        "created_at": _value(now),
        "since": _value(start),
        "until": _value(end),
        "location_id": place.pk if place is not None else None,
        "pseudonymised": pseudonymise,
        "counts": {kind: len(data[kind]) for kind in KINDS},
        "fields": {kind: list(fields) for kind, (_, fields) in ALLOWED_FIELDS.items()},
    }
    return {"manifest": manifest, "data": data}


# --- preview, encryption, upload --------------------------------------------------------------------


@dataclass(frozen=True)
class SupportBackupPreview:
    """Exactly what would be sent: ``case``, ``counts`` per kind, the encrypted ``bundle`` (bytes) with
    its ``size_bytes`` and ``sha256`` (hex), the ``destination_url`` it would be POSTed to,
    ``pseudonymised``, and the range ``since``/``until`` (UTC). Nothing has left the machine yet."""

    case: str
    counts: dict[str, int]
    bundle: bytes = field(repr=False)
    size_bytes: int
    sha256: str
    destination_url: str
    pseudonymised: bool
    since: str
    until: str
    location_id: int | None


def _encrypt(document: Mapping[str, Any]) -> bytes:
    """``document`` as UTF-8 JSON, age-encrypted to ``VENDOR_AGE_RECIPIENT`` (binary age format)."""
    recipient_text = app_settings.VENDOR_AGE_RECIPIENT.strip()
    try:
        recipient = pyrage.x25519.Recipient.from_str(recipient_text)
    except pyrage.RecipientError as exc:
        raise UsageProblem(
            t(
                "ALPHASMS_VENDOR_AGE_RECIPIENT ist kein age-Empfänger (age1…) – die Einstellung "
                "entfernen (dann gilt der mitgelieferte Schlüssel) oder korrigieren.",
                "ALPHASMS_VENDOR_AGE_RECIPIENT is not an age recipient (age1…) – remove the setting "
                "(the shipped key then applies) or correct it.",
            )
        ) from exc
    plain = json.dumps(document, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")
    encrypted: bytes = pyrage.encrypt(plain, [recipient])
    return encrypted


def _backup_url(case: str) -> str:
    return f"{vendor_url()}/api/v1/support/cases/{case}/backup"


def preview_support_backup(
    case: str,
    *,
    since: dt.datetime | dt.date | None = None,
    until: dt.datetime | dt.date | None = None,
    location: int | str | Location | None = None,
    pseudonymise: bool = True,
) -> SupportBackupPreview:
    """Collect and encrypt the support backup for ``case`` without sending it (the settings page shows
    this before the user confirms). Arguments as :func:`collect_bundle`. Raises :class:`UsageProblem`
    (bad case id, range, location, vendor URL or age recipient setting) or :class:`CaseAlreadySent`.
    Reads only; no network, no audit entry."""
    case = validate_case_id(case)
    if SupportCase.objects.filter(case=case).exists():
        raise CaseAlreadySent(
            t(
                f"Für Fall {case} gibt es schon eine Support-Sicherung (alphasms support cases) – je Fall "
                "wird eine gesendet; für ein neues Anliegen eine neue Fallnummer vom Support erbitten.",
                f"Case {case} already has a support backup (alphasms support cases) – one is sent per "
                "case; ask the support for a new case id for a new matter.",
            )
        )
    destination = _backup_url(case)
    document = collect_bundle(case, since=since, until=until, location=location, pseudonymise=pseudonymise)
    bundle = _encrypt(document)
    manifest = document["manifest"]
    return SupportBackupPreview(
        case=case,
        counts=dict(manifest["counts"]),
        bundle=bundle,
        size_bytes=len(bundle),
        sha256=hashlib.sha256(bundle).hexdigest(),
        destination_url=destination,
        pseudonymised=pseudonymise,
        since=manifest["since"],
        until=manifest["until"],
        location_id=manifest["location_id"],
    )


def _counts_detail(preview: SupportBackupPreview) -> str:
    counts = " ".join(f"{kind}={n}" for kind, n in preview.counts.items())
    return f"{counts} size={preview.size_bytes} pseudonymised={'yes' if preview.pseudonymised else 'no'}"


def _licence_number() -> str:
    """The licence number for ``X-AlphaSMS-Licence``: the stored one whose signature verifies (also
    when expired), else "" (evaluation mode) — protocol item 2."""
    from alphasms.licensing.licence import current_licence

    state = current_licence()
    return state.stored.licence_number if state.stored is not None and state.info is not None else ""


def _http() -> urllib3.PoolManager:
    """TLS verified against the system's CAs (urllib3 default), no redirects, no retries."""
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=TIMEOUT_S, read=TIMEOUT_S), retries=False, headers={}
    )


def _request(
    method: str, url: str, body: bytes | None = None, headers: Mapping[str, str] | None = None
) -> Any:
    try:
        response = _http().request(
            method, url, body=body, headers=dict(headers or {}), redirect=False, preload_content=False
        )
        # The answer's body within TIMEOUT_S in all, not per read (a trickling server); counted from
        # the answer's headers, so a slow upload of the backup itself is not cut short.
        deadline = time.monotonic() + TIMEOUT_S
        try:
            data = read_within(response, MAX_ANSWER_BYTES, deadline)
        finally:
            response.release_conn()
    except urllib3.exceptions.HTTPError as exc:
        raise VendorUnreachable(
            t(
                f"Der Hersteller-Server ({urllib.parse.urlsplit(url).netloc}) ist nicht erreichbar "
                f"({type(exc).__name__}) – Internetverbindung prüfen und später erneut versuchen.",
                f"The vendor server ({urllib.parse.urlsplit(url).netloc}) cannot be reached "
                f"({type(exc).__name__}) – check the internet connection and try again later.",
            )
        ) from exc
    return response.status, data


def _json_answer(status: int, data: bytes, what: str) -> Any:
    if len(data) > MAX_ANSWER_BYTES:
        raise VendorRejected(
            t(
                f"Antwort des Hersteller-Servers auf {what} ist zu groß.",
                f"The vendor server's answer to {what} is too large.",
            )
        )
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise VendorRejected(
            t(
                f"Der Hersteller-Server antwortete auf {what} mit HTTP {status} ohne lesbares JSON.",
                f"The vendor server answered {what} with HTTP {status} and no readable JSON.",
            )
        ) from exc


def _error_text(answer: Any) -> str:
    text = answer.get("error", "") if isinstance(answer, dict) else ""
    return str(text)[:200]


def _parse_instant(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def upload_support_backup(preview: SupportBackupPreview, actor: str = "cli", *, token: str) -> SupportCase:
    """Send ``preview.bundle`` to the vendor server and store the :class:`SupportCase`.

    ``POST {VENDOR_URL}/api/v1/support/cases/<case>/backup`` with ``Content-Type:
    application/octet-stream``, ``X-AlphaSMS-Licence`` (protocol item 2) and ``X-AlphaSMS-Case-Token``
    (``token``, the case's upload token the support gave; security review of issue 7). The answer must
    be 201 with the same case and SHA-256; its ``delete_by`` (UTC) and the token (for the receipt) are
    stored. Writes one audit entry (export of ``support_backup`` <case>, counts and size only). Raises
    :class:`UsageProblem` (token malformed), :class:`UnknownCase` (HTTP 404: case not opened or wrong
    token), :class:`VendorUnreachable`, :class:`VendorRejected` (any other answer; nothing stored).
    """
    token = validate_case_token(token)
    url = _backup_url(preview.case)
    headers = {
        "Content-Type": "application/octet-stream",
        "X-AlphaSMS-Licence": _licence_number(),
        CASE_TOKEN_HEADER: token,
        "Accept": "application/json",
    }
    status, data = _request("POST", url, preview.bundle, headers)
    answer = _json_answer(status, data, t("das Hochladen", "the upload"))
    if status == 404:
        raise UnknownCase(
            t(
                f"Der Hersteller-Server kennt Fall {preview.case} mit diesem Upload-Schlüssel nicht – "
                "Fallnummer und Schlüssel beim Support prüfen; nichts gespeichert.",
                f"The vendor server does not know case {preview.case} with this upload token – check the "
                "case id and token with the support; nothing stored.",
            )
        )
    if status != 201:
        raise VendorRejected(
            t(
                f"Der Hersteller-Server hat die Support-Sicherung abgelehnt (HTTP {status}: "
                f"{_error_text(answer) or 'ohne Begründung'}); nichts gespeichert.",
                f"The vendor server refused the support backup (HTTP {status}: "
                f"{_error_text(answer) or 'no reason given'}); nothing stored.",
            )
        )
    if (
        not isinstance(answer, dict)
        or answer.get("case") != preview.case
        or answer.get("sha256") != preview.sha256
    ):
        raise VendorRejected(
            t(
                "Der Hersteller-Server bestätigt eine andere Datei oder einen anderen Fall als gesendet – "
                "bitte den Support informieren.",
                "The vendor server confirms another file or case than was sent – please tell the support.",
            )
        )
    now = timezone.now()
    with transaction.atomic():
        record = SupportCase.objects.create(
            case=preview.case,
            created_at=now,
            sha256=preview.sha256,
            size_bytes=preview.size_bytes,
            counts=preview.counts,
            pseudonymised=preview.pseudonymised,
            destination_url=url,
            uploaded_at=_parse_instant(answer.get("received_at")) or now,
            delete_by=_parse_instant(answer.get("delete_by")),
            case_token=token,
        )
        audit(
            actor, AuditAction.EXPORT, "support_backup", preview.case, "uploaded " + _counts_detail(preview)
        )
    return record


def create_and_upload_support_backup(
    case: str,
    *,
    since: dt.datetime | dt.date | None = None,
    until: dt.datetime | dt.date | None = None,
    location: int | str | Location | None = None,
    pseudonymise: bool = True,
    actor: str = "cli",
    token: str,
) -> SupportCase:
    """:func:`preview_support_backup` then :func:`upload_support_backup` (the settings page's button
    after the user confirmed the preview). Same arguments and errors; returns the stored case."""
    preview = preview_support_backup(
        case, since=since, until=until, location=location, pseudonymise=pseudonymise
    )
    return upload_support_backup(preview, actor=actor, token=token)


def write_support_backup(preview: SupportBackupPreview, path: Path, actor: str = "cli") -> SupportCase:
    """Write the encrypted bundle to ``path`` instead of uploading it (the user sends it by other
    means). Stores the :class:`SupportCase` without ``uploaded_at`` (so a receipt can be checked later
    against the SHA-256) and writes one audit entry. Raises :class:`UsageProblem` when ``path`` exists
    or cannot be written."""
    try:
        with path.open("xb") as handle:
            handle.write(preview.bundle)
    except FileExistsError:
        raise UsageProblem(
            t(
                f"--output {str(path)!r}: die Datei gibt es schon – einen anderen Namen wählen.",
                f"--output {str(path)!r}: the file exists – choose another name.",
            )
        ) from None
    except OSError as exc:
        raise UsageProblem(
            t(
                f"--output {str(path)!r}: nicht schreibbar ({exc.strerror}) – einen anderen Ort wählen.",
                f"--output {str(path)!r}: cannot be written ({exc.strerror}) – choose another place.",
            )
        ) from exc
    with transaction.atomic():
        record = SupportCase.objects.create(
            case=preview.case,
            created_at=timezone.now(),
            sha256=preview.sha256,
            size_bytes=preview.size_bytes,
            counts=preview.counts,
            pseudonymised=preview.pseudonymised,
        )
        audit(actor, AuditAction.EXPORT, "support_backup", preview.case, "file " + _counts_detail(preview))
    return record


# --- deletion receipt -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiptResult:
    """The vendor's answer about a case: ``held`` (still stored, ``delete_by`` UTC) or deleted with a
    verified receipt (``deleted_at``, ``reason``, ``received_at``; ``record`` is the updated case)."""

    case: str
    held: bool
    record: SupportCase
    delete_by: dt.datetime | None = None
    deleted_at: dt.datetime | None = None
    reason: str = ""


def _receipt_url(case: str) -> str:
    return f"{vendor_url()}/api/v1/support/cases/{case}/receipt"


def fetch_receipt(case: str | SupportCase, actor: str = "cli") -> ReceiptResult:
    """Ask the vendor server about ``case``; verify, store and return its deletion receipt.

    ``GET {VENDOR_URL}/api/v1/support/cases/<case>/receipt`` (protocol item 3). A receipt is accepted
    only when its Ed25519 signature verifies with ``VENDOR_SIGNING_PUBLIC_KEY`` (RFC 8032), its type is
    ``alphasms-deletion-receipt``, and its case and SHA-256 are those of the stored support backup; it
    is then stored (the whole envelope, ``receipt_verified_at`` = now) with one audit entry. Raises
    :class:`UnknownCase` (not stored locally, or HTTP 404), :class:`ReceiptForged` (unsigned, signed by
    another key, altered), :class:`ReceiptMismatch` (other case or file, bad fields),
    :class:`VendorUnreachable` or :class:`VendorRejected`. A forged or mismatching receipt changes
    nothing.
    """
    record = case if isinstance(case, SupportCase) else _stored_case(validate_case_id(case))
    headers = {"Accept": "application/json", CASE_TOKEN_HEADER: record.case_token}
    status, data = _request("GET", _receipt_url(record.case), headers=headers)
    answer = _json_answer(status, data, t("die Abfrage des Löschbelegs", "the receipt request"))
    if status == 404:  # also: a case sent before upload tokens existed (no token stored)
        raise UnknownCase(
            t(
                f"Der Hersteller-Server kennt Fall {record.case} nicht (nie angekommen oder längst "
                "gelöscht) – beim Support nachfragen.",
                f"The vendor server does not know case {record.case} (never arrived or deleted long ago) "
                "– ask the support.",
            )
        )
    if status != 200 or not isinstance(answer, dict):
        raise VendorRejected(
            t(
                f"Der Hersteller-Server antwortete mit HTTP {status} ({_error_text(answer)}).",
                f"The vendor server answered HTTP {status} ({_error_text(answer)}).",
            )
        )
    if answer.get("status") == "held" and "signature" not in answer:
        delete_by = _parse_instant(answer.get("delete_by"))
        if delete_by is not None and delete_by != record.delete_by:
            record.delete_by = delete_by
            record.save(update_fields=["delete_by"])
        return ReceiptResult(case=record.case, held=True, record=record, delete_by=delete_by)
    payload = _verified_payload(answer)
    deleted_at, reason = _checked_fields(payload, record)
    with transaction.atomic():
        record.receipt = dict(answer)
        record.receipt_verified_at = timezone.now()
        record.deleted_at = deleted_at
        record.deletion_reason = reason
        record.save(update_fields=["receipt", "receipt_verified_at", "deleted_at", "deletion_reason"])
        audit(
            actor,
            AuditAction.DELETE,
            "support_backup",
            record.case,
            f"vendor deletion receipt verified reason={reason} deleted_at={_value(deleted_at)}",
        )
    return ReceiptResult(
        case=record.case,
        held=False,
        record=record,
        deleted_at=deleted_at,
        reason=reason,
        delete_by=record.delete_by,
    )


def _stored_case(case: str) -> SupportCase:
    record = SupportCase.objects.filter(case=case).first()
    if record is None:
        raise UnknownCase(
            t(
                f"Fall {case}: hier wurde keine Support-Sicherung erstellt (alphasms support cases "
                "zeigt alle) – die Fallnummer prüfen.",
                f"Case {case}: no support backup was made here (alphasms support cases lists them all) "
                "– check the case id.",
            )
        )
    return record


def _verified_payload(envelope: Mapping[str, Any]) -> dict[str, Any]:
    try:
        key = public_key_from_text(app_settings.VENDOR_SIGNING_PUBLIC_KEY)
    except EnvelopeError as exc:
        raise UsageProblem(
            t(
                "ALPHASMS_VENDOR_SIGNING_PUBLIC_KEY ist kein Ed25519-Schlüssel (32 Bytes base64url) – die "
                "Einstellung entfernen (dann gilt der mitgelieferte Schlüssel) oder korrigieren.",
                "ALPHASMS_VENDOR_SIGNING_PUBLIC_KEY is not an Ed25519 key (32 bytes base64url) – remove "
                "the setting (the shipped key then applies) or correct it.",
            )
        ) from exc
    try:
        return verify_envelope(key, envelope)
    except (EnvelopeUnsigned, EnvelopeForged) as exc:
        raise ReceiptForged(
            t(
                "Der Löschbeleg ist nicht vom Hersteller signiert (Signatur fehlt oder passt nicht zu "
                "dessen Schlüssel) – er wurde nicht gespeichert. Bitte den Support informieren.",
                "The deletion receipt is not signed by the vendor (signature missing or not matching "
                "its key) – it was not stored. Please tell the support.",
            )
        ) from exc
    except EnvelopeError as exc:
        raise ReceiptForged(
            t(
                f"Der Löschbeleg ist unlesbar ({exc}) – er wurde nicht gespeichert.",
                f"The deletion receipt is unreadable ({exc}) – it was not stored.",
            )
        ) from exc


def _checked_fields(payload: Mapping[str, Any], record: SupportCase) -> tuple[dt.datetime, str]:
    problems = []
    if payload.get("type") != "alphasms-deletion-receipt":
        problems.append(t("kein Löschbeleg", "not a deletion receipt"))
    if payload.get("case") != record.case:
        problems.append(t(f"für Fall {payload.get('case')!r}", f"for case {payload.get('case')!r}"))
    if payload.get("sha256") != record.sha256:
        problems.append(t("für eine andere Datei (SHA-256)", "for another file (SHA-256)"))
    deleted_at = _parse_instant(payload.get("deleted_at"))
    if deleted_at is None:
        problems.append(t("ohne Löschzeitpunkt", "without deletion instant"))
    reason = payload.get("reason")
    if reason not in DeletionReason.values:
        problems.append(t(f"unbekannter Grund {reason!r}", f"unknown reason {reason!r}"))
    if problems or deleted_at is None:
        raise ReceiptMismatch(
            t(
                f"Der Löschbeleg ist zwar signiert, passt aber nicht zu Fall {record.case} "
                f"({', '.join(problems)}) – er wurde nicht gespeichert.",
                f"The deletion receipt is signed but does not match case {record.case} "
                f"({', '.join(problems)}) – it was not stored.",
            )
        )
    return deleted_at, str(reason)


def case_state(record: SupportCase) -> str:
    """One line for staff: where the support backup of ``record`` is (German/English per cli_text)."""
    if record.receipt_verified_at is not None and record.deleted_at is not None:
        reason = DeletionReason(record.deletion_reason).label if record.deletion_reason else ""
        return t(
            f"beim Hersteller gelöscht am {_local(record.deleted_at)} ({reason}); Löschbeleg geprüft",
            f"deleted by the vendor on {_local(record.deleted_at)} "
            f"({_REASON_EN.get(record.deletion_reason, '')}); receipt verified",
        )
    if record.uploaded_at is None:
        return t("nur als Datei geschrieben, nicht hochgeladen", "only written to a file, not uploaded")
    if record.delete_by is not None:
        return t(
            f"beim Hersteller gespeichert, Löschung spätestens am {_local(record.delete_by)}",
            f"held by the vendor, deleted by {_local(record.delete_by)} at the latest",
        )
    return t("beim Hersteller gespeichert", "held by the vendor")


_REASON_EN: dict[str, str] = {
    DeletionReason.CASE_CLOSED.value: "case closed",
    DeletionReason.EXPIRED.value: "retention expired",
}


def _local(instant: dt.datetime) -> str:
    """An instant for people: local time of the installation (settings.TIME_ZONE), minutes."""
    return timezone.localtime(instant).strftime("%d.%m.%Y %H:%M")
