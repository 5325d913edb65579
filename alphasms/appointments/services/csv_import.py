"""Import customers and appointments from a CSV file as German practice software and Excel write it.

Parsing (delimiter, encoding, dates, headers) is ``alphasms.appointments.csvparse``; this module applies
the valid rows together in one transaction and reports every rejected row with line, field and reason
(DESIGN.md invariant 10). A dry run (``dry_run=True``) runs the same code and rolls the transaction back:
its report (rejected rows, warnings, ``changes``) is what the import would do. A value longer than its
database column, or holding a NUL character, rejects its row before anything is written, so no database
(PostgreSQL enforces lengths, SQLite does not) stops the import half-way.

Which stored customer a row means — never merging two people silently:

1. A row with a customer number is that customer when the number is known.
2. Otherwise the candidates are the customers with the same name (given + family name after Unicode
   NFC, case folding and collapsing spaces, as for calendars), for a row with a number only those
   without one (a different number is a different person). A candidate *conflicts* when the row and
   the customer both have a mobile number (the customer a valid one) or both an e-mail address and
   they differ; it is *confirmed* when one of them is equal.
3. Exactly one confirmed candidate without conflict: that customer. Else exactly one customer with
   that name and no conflict: that customer (a row without number, mobile and e-mail, or a file
   imported once without and once with a column mapping).
4. Else a row with a customer number creates a new customer (with a warning when namesakes exist).
   A row without one is rejected, naming the fix: several customers with that name are ambiguous, and
   one with a different mobile number or e-mail address may be the same person with a new number or
   a namesake — the file has to say which (a Kundennummer column), or staff align the data.

Re-importing the same file therefore changes nothing. A customer is saved only when a stored value
really changes; empty cells never erase stored values, and names equal after normalisation are kept as
stored. A customer whose processing is restricted (GDPR Art. 18) is not touched.

Warnings (the row is applied): a mobile number that is invalid or no mobile number (SMS impossible),
with the reasons from ``alphasms.messaging.phone.FLAG_MESSAGES``; an appointment in the past (kept as
history, no reminder); a consent not recorded because the person withdrew it. Columns no field reads
are listed once, with the ``--map`` that would read them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import models, transaction
from django.utils import timezone

from alphasms.appointments.csvparse import CsvFormatError, CsvRecord, RejectedRow, guess_field, read_csv
from alphasms.appointments.models import (
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    AppointmentType,
    Customer,
    Location,
)
from alphasms.appointments.services.ics_import import ImportReport, RowIssue
from alphasms.appointments.services.matching import norm
from alphasms.messaging.phone import FLAG_MESSAGES, PhoneResult, to_e164
from alphasms.privacy.models import Consent, ConsentSource
from alphasms.privacy.services import record_opt_in

# Flags that are normal for a number typed as people do (read with the location's country) and need
# no warning.
_QUIET_FLAGS = frozenset({"trunk_zero_removed"})
_CHANNEL_NAMES = {"sms": ("SMS", "SMS"), "email": ("E-Mail", "e-mail")}


def import_csv(
    data: bytes,
    location: Location,
    source_name: str,
    *,
    mapping: dict[str, str] | None = None,
    consent_channels: tuple[str, ...] = (),
    consent_wording: str = "",
    recorded_by: str = "import",
    progress: Callable[[int, int], None] | None = None,
    now: dt.datetime | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Apply the valid rows of ``data`` to customers and appointments of ``location``.

    ``consent_channels`` ("sms", "email") records an opt-in of source ``import`` with wording version
    ``consent_wording`` for every imported customer — only when the practice holds that consent; never
    for a channel the person has withdrawn (a warning says so). ``now`` (default: the current time)
    decides which appointments are in the past. Raises ``CsvFormatError`` for a file that cannot be read
    at all, or a wording version longer than the ledger stores (nothing changes). With ``dry_run`` the
    whole import is rolled back at the end: nothing changes, the report says what would.
    """
    now = now or timezone.now()
    wording_max = Consent._meta.get_field("wording_version").max_length or 0
    if consent_channels and len(consent_wording) > wording_max:
        raise CsvFormatError(
            f"Die Fassung des Einwilligungstexts ist zu lang (höchstens {wording_max} Zeichen)",
            f"the consent wording version is too long (at most {wording_max} characters)",
        )
    result = read_csv(data, tz=location.time_zone, default_country=location.country, mapping=mapping)
    report = ImportReport()
    report.rejected = [_parse_problem(r) for r in result.rejected]
    report.ignored_columns = [_ignored_column(n, h, result.columns) for n, h in result.ignored_columns]
    rows: list[_Row] = []
    for record in result.records:
        row = _prepare(record, location.country)
        if row.problems:
            report.rejected.extend(row.problems)
        else:
            rows.append(row)
    created: set[int] = set()
    updated: set[int] = set()
    # The customers this import named, with the fields their first row wrote: a file names a person on
    # every appointment row, and the first row's values count (a re-import then writes nothing).
    written: dict[int, tuple[Customer, dict[str, object]]] = {}
    with transaction.atomic():
        index = _CustomerIndex(Customer.objects.values_list(*_CustomerIndex.FIELDS).iterator())
        types: dict[str, AppointmentType] = {}
        for done, row in enumerate(rows, 1):
            if progress:
                progress(done, len(rows))
            decision = index.find(row)
            if decision.reject is not None:
                report.rejected.append(RowIssue(row.record.line, "row", *decision.reject))
                continue
            if decision.warning is not None:
                report.warnings.append(RowIssue(row.record.line, "row", *decision.warning))
            first = decision.pk is None or decision.pk not in written
            customer: Customer | None
            earlier: dict[str, object]
            if decision.pk is None:
                customer, earlier = None, {}
            elif decision.pk in written:
                customer, earlier = written[decision.pk]
            else:
                customer, earlier = Customer.objects.get(pk=decision.pk), {}
            if customer is not None and customer.restricted_at is not None:
                written[customer.pk] = (customer, earlier)
                report.warnings.append(_restricted(row.record.line, customer))
                continue
            values = _customer_values(customer, row)
            report.warnings.extend(_contradictions(row.record.line, earlier, values))
            customer, change = _save_customer(customer, {k: v for k, v in values.items() if k not in earlier})
            written[customer.pk] = (customer, {**values, **earlier})
            index.put(customer)
            if change == "created":
                created.add(customer.pk)
                report.note("customer_created", None, str(customer))
            elif change == "updated":
                updated.add(customer.pk)
            report.warnings.extend(row.warnings)
            if first:
                for channel in consent_channels:
                    _record_consent(customer, channel, consent_wording, recorded_by, row.record.line, report)
            if row.record.start_utc is not None:
                _upsert_appointment(row.record, customer, location, source_name, types, report)
                if row.record.start_utc <= now:
                    report.warnings.append(_past(row.record, location))
        if dry_run:
            transaction.set_rollback(True)
            report.dry_run = True
    report.customers_created = len(created)
    report.customers_updated = len(updated - created)
    report.customers_unchanged = len(written.keys() - created - updated)
    report.rejected.sort(key=lambda issue: issue.line)
    report.warnings.sort(key=lambda issue: issue.line)
    return report


# --- rows ------------------------------------------------------------------------------------------


@dataclass
class _Row:
    """One parsed record with what matching needs: keys normalised, the mobile number to store, and its
    problems (rejected) or warnings (applied anyway)."""

    record: CsvRecord
    name_key: str
    mobile: PhoneResult | None
    email_key: str
    problems: list[RowIssue] = field(default_factory=list)
    warnings: list[RowIssue] = field(default_factory=list)

    @property
    def mobile_key(self) -> str:
        """E.164 when valid, else the digits as typed ("" without a number): a row's invalid number
        still differs from a stored valid one."""
        if self.mobile is None:
            return ""
        return self.mobile.e164 or "".join(c for c in self.mobile.input if c.isdigit())


def _prepare(record: CsvRecord, country: str) -> _Row:
    mobile, mobile_field = record.mobile, "mobile"
    if (mobile is None or not mobile.sms_ok) and record.phone_raw:
        # Files with only a "Telefon" column: use it when it is a mobile number.
        other = to_e164(record.phone_raw, default_country=country)
        if other.sms_ok or mobile is None:
            mobile, mobile_field = other, "phone"
    name = f"{record.given_name} {record.family_name}"
    row = _Row(record, norm(name), mobile, (record.email or "").casefold())
    values: list[tuple[str, str, int | None, str, str]] = [
        ("customer_number", record.customer_number, _max("customer_number"), "Kundennummer", "customer no."),
        ("family_name", record.family_name, _max("family_name"), "Nachname", "family name"),
        ("given_name", record.given_name, _max("given_name"), "Vorname", "given name"),
        ("email", record.email or "", _max("email"), "E-Mail-Adresse", "e-mail address"),
        ("language", record.language or "", _max("language"), "Sprache", "language"),
        (
            "appointment_type",
            record.appointment_type,
            _max("name", AppointmentType),
            "Terminart",
            "appointment type",
        ),
        ("notes", record.notes, None, "Notiz", "note"),
    ]
    if mobile is not None:
        values.append((mobile_field, mobile.input, _max("mobile_raw"), "Telefonnummer", "phone number"))
    for name_, value, limit, label_de, label_en in values:
        if "\x00" in value:
            row.problems.append(RowIssue(
                record.line, name_,
                f"{label_de} enthält ein Nullzeichen (NUL) – die Datei als CSV UTF-8 neu exportieren",
                f"{label_en} contains a NUL character – export the file again as CSV UTF-8",
            ))  # fmt: skip
        elif limit is not None and len(value) > limit:
            row.problems.append(RowIssue(
                record.line, name_,
                f"{label_de} ist {len(value)} Zeichen lang, höchstens {limit} sind möglich – Wert kürzen",
                f"{label_en} is {len(value)} characters long, at most {limit} are possible – shorten it",
            ))  # fmt: skip
    if mobile is not None:
        row.warnings.extend(_phone_warnings(record, mobile, mobile_field))
    return row


def _max(name: str, model: type[models.Model] = Customer) -> int | None:
    """The column's max_length (None for text without limit)."""
    field_ = model._meta.get_field(name)
    return field_.max_length if isinstance(field_, models.Field) else None


def _phone_warnings(record: CsvRecord, used: PhoneResult, used_field: str) -> list[RowIssue]:
    """Warnings for the number stored for SMS, and for a mobile cell passed over for the Telefon one."""
    out = []
    if used_field == "phone" and record.mobile is not None:
        de, en = _flag_text(record.mobile)
        out.append(RowIssue(
            record.line, "mobile",
            f"„{record.mobile.input}“: {de} Die Nummer aus der Spalte Telefon wird verwendet.",
            f"{record.mobile.input!r}: {en} The number from the phone column is used.",
        ))  # fmt: skip
    flags = [f for f in used.flags if f not in _QUIET_FLAGS and not f.startswith("assumed_country_")]
    if flags or not used.sms_ok:
        de, en = _flag_text(used)
        out.append(RowIssue(record.line, used_field, f"„{used.input}“: {de}", f"{used.input!r}: {en}"))
    return out


def _flag_text(result: PhoneResult) -> tuple[str, str]:
    flags = [f for f in result.flags if f not in _QUIET_FLAGS and not f.startswith("assumed_country_")]
    de = " ".join(FLAG_MESSAGES[f][0] for f in flags if f in FLAG_MESSAGES)
    en = " ".join(FLAG_MESSAGES[f][1] for f in flags if f in FLAG_MESSAGES)
    if not result.sms_ok and "not_mobile" not in flags:
        de, en = f"{de} Keine SMS möglich.".strip(), f"{en} No SMS possible.".strip()
    return de, en


def _short(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _parse_problem(problem: RejectedRow) -> RowIssue:
    def with_value(reason: str) -> str:
        value = _short(problem.value)
        return f"{reason} ({value})" if value and problem.value not in reason else reason

    return RowIssue(problem.line, problem.field, with_value(problem.reason_de), with_value(problem.reason_en))


def _ignored_column(number: int, header: str, columns: dict[str, str]) -> tuple[str, str, str]:
    if not header:
        return (
            f"#{number}",
            f"Spalte {number} hat keine Überschrift und wurde ignoriert – eine Überschrift ergänzen "
            "(z. B. Mobil) oder die Spalte löschen",
            f"column {number} has no header and was ignored – add a header (e.g. Mobile) or delete it",
        )
    guess = guess_field(header)
    if guess is not None and guess not in columns:
        return (
            header,
            f'Spalte „{header}“ wurde ignoriert – mit --map {guess}="{header}" zuordnen',
            f'column {header!r} was ignored – map it with --map {guess}="{header}"',
        )
    return (
        header,
        f'Spalte „{header}“ wurde ignoriert – falls sie gebraucht wird, mit --map FELD="{header}" zuordnen',
        f'column {header!r} was ignored – if it is needed, map it with --map FIELD="{header}"',
    )


# --- customers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Decision:
    """The stored customer a row means (``pk``; None = create one), or why it is rejected (de, en)."""

    pk: int | None = None
    reject: tuple[str, str] | None = None
    warning: tuple[str, str] | None = None


@dataclass(frozen=True)
class _Known:
    number: str
    name_key: str
    mobile_e164: str
    email_key: str


class _CustomerIndex:
    """Every customer's number, normalised name, valid mobile number and e-mail, kept up to date with
    the customers this import creates and changes (a file names the same person on many rows)."""

    FIELDS = ("pk", "customer_number", "given_name", "family_name", "mobile_e164", "email")

    def __init__(self, rows: Iterable[tuple[int, str, str, str, str, str]]) -> None:
        self.known: dict[int, _Known] = {}
        self.by_number: dict[str, int] = {}
        self.by_name: dict[str, set[int]] = defaultdict(set)
        for pk, number, given, family, e164, email in rows:
            self._add(pk, _Known(number, norm(f"{given} {family}"), e164, email.casefold()))

    def put(self, customer: Customer) -> None:
        """Index ``customer`` as it is now stored."""
        old = self.known.pop(customer.pk, None)
        if old is not None:
            self.by_name[old.name_key].discard(customer.pk)
            if self.by_number.get(old.number) == customer.pk:
                del self.by_number[old.number]
        name_key = norm(f"{customer.given_name} {customer.family_name}")
        known = _Known(customer.customer_number, name_key, customer.mobile_e164, customer.email.casefold())
        self._add(customer.pk, known)

    def _add(self, pk: int, known: _Known) -> None:
        self.known[pk] = known
        if known.number:
            self.by_number[known.number] = pk
        if known.name_key:
            self.by_name[known.name_key].add(pk)

    def find(self, row: _Row) -> _Decision:
        """Apply the matching rules of the module docstring to ``row``."""
        number = row.record.customer_number
        if number and number in self.by_number:
            return _Decision(self.by_number[number])
        namesakes = sorted(self.by_name.get(row.name_key, ())) if row.name_key else []
        if number:
            namesakes = [pk for pk in namesakes if not self.known[pk].number]
        if not namesakes:
            return _Decision()
        fitting = [pk for pk in namesakes if not self._conflicts(pk, row)]
        confirmed = [pk for pk in fitting if self._confirms(pk, row)]
        if len(confirmed) == 1:
            return _Decision(confirmed[0])
        if len(namesakes) == 1 and fitting:
            return _Decision(fitting[0])
        name = f"{row.record.given_name} {row.record.family_name}".strip()
        if number:
            return _Decision(warning=(
                f"Gleichnamige Kunden ohne Kundennummer ({_ids(namesakes)}) wurden nicht mit Kundennummer "
                f"{number} zusammengeführt – bitte prüfen, ob es dieselbe Person ist",
                f"customers of the same name without customer number ({_ids(namesakes)}) were not merged "
                f"with customer number {number} – please check whether it is the same person",
            ))  # fmt: skip
        if len(namesakes) > 1:
            return _Decision(reject=(
                f"{len(namesakes)} Kunden heißen „{name}“ ({_ids(namesakes)}) – die Zeile ist keinem "
                "eindeutig zuzuordnen; eine Spalte Kundennummer ergänzen",
                f"{len(namesakes)} customers are called {name!r} ({_ids(namesakes)}) – the row cannot be "
                "assigned to one of them; add a customer number (Kundennummer) column",
            ))  # fmt: skip
        return _Decision(reject=(
            f"Kunde „{name}“ ({_ids(namesakes)}) ist mit anderer Mobilnummer oder E-Mail-Adresse "
            "gespeichert – dieselbe Person mit neuer Nummer oder jemand Gleichnamiges? Eine Spalte "
            "Kundennummer ergänzen oder die Daten in der Verwaltung angleichen",
            f"customer {name!r} ({_ids(namesakes)}) is stored with a different mobile number or e-mail "
            "address – the same person with a new number, or a namesake? Add a customer number "
            "(Kundennummer) column or align the data in the admin",
        ))  # fmt: skip

    def _conflicts(self, pk: int, row: _Row) -> bool:
        known = self.known[pk]
        mobile = bool(known.mobile_e164 and row.mobile_key and known.mobile_e164 != row.mobile_key)
        return mobile or bool(known.email_key and row.email_key and known.email_key != row.email_key)

    def _confirms(self, pk: int, row: _Row) -> bool:
        known = self.known[pk]
        mobile = bool(known.mobile_e164 and known.mobile_e164 == row.mobile_key)
        return mobile or bool(known.email_key and known.email_key == row.email_key)


def _ids(pks: list[int]) -> str:
    return ", ".join(f"#{pk}" for pk in pks)


def _customer_values(customer: Customer | None, row: _Row) -> dict[str, object]:
    """The values ``row`` gives for a customer: empty cells give none, and the name only when it differs
    from the stored one after normalisation (then given and family name together)."""
    record = row.record
    values: dict[str, object] = {}
    if record.customer_number:
        values["customer_number"] = record.customer_number
    stored_name = norm(f"{customer.given_name} {customer.family_name}") if customer else ""
    if (record.family_name or record.given_name) and row.name_key != stored_name:
        values["given_name"], values["family_name"] = record.given_name, record.family_name
    if row.mobile is not None:
        values["mobile_raw"] = row.mobile.input
        values["mobile_e164"] = row.mobile.e164 or ""
        values["mobile_sms_ok"] = row.mobile.sms_ok
        values["mobile_flags"] = list(row.mobile.flags)
    for name, value in (("email", record.email), ("language", record.language), ("notes", record.notes)):
        if value:
            values[name] = value
    return values


def _contradictions(line: int, earlier: dict[str, object], values: dict[str, object]) -> list[RowIssue]:
    """Warn when a later row names the same customer with another mobile number or e-mail address."""
    out = []
    for name, de, en in (
        ("mobile_raw", "Mobilnummer", "mobile number"),
        ("email", "E-Mail-Adresse", "e-mail address"),
    ):
        if _comparable(name, earlier) and _comparable(name, values) != _comparable(name, earlier):
            out.append(RowIssue(
                line, "mobile" if name == "mobile_raw" else name,
                f"andere {de} als eine frühere Zeile für denselben Kunden – die frühere gilt",
                f"another {en} than an earlier row for the same customer – the earlier one applies",
            ))  # fmt: skip
    return out


def _comparable(name: str, values: dict[str, object]) -> object:
    """The value of ``name`` as a person would compare it: a mobile number by E.164 when valid."""
    if name == "mobile_raw":
        return values.get("mobile_e164") or values.get("mobile_raw")
    return values.get(name)


_MOBILE = ("mobile_raw", "mobile_e164", "mobile_sms_ok", "mobile_flags")


def _save_customer(customer: Customer | None, values: dict[str, object]) -> tuple[Customer, str]:
    """Create ``customer`` with ``values`` or write them into it; return it and "created", "updated" or
    "unchanged". Only values that differ are written (``updated_at`` moves only then); a mobile number
    with the stored E.164 is the same number however it is written ("0171 …", "+49171 …")."""
    if customer is None:
        customer = Customer(**values)
        customer.save()
        return customer, "created"
    changed = [name for name, value in values.items() if getattr(customer, name) != value]
    if values.get("mobile_e164") and values["mobile_e164"] == customer.mobile_e164:
        changed = [name for name in changed if name not in _MOBILE]
    if not changed:
        return customer, "unchanged"
    for name in changed:
        setattr(customer, name, values[name])
    customer.save(update_fields=[*changed, "updated_at"])
    return customer, "updated"


def _restricted(line: int, customer: Customer) -> RowIssue:
    return RowIssue(
        line,
        "row",
        f"Kunde #{customer.pk}: Verarbeitung eingeschränkt – Zeile nicht übernommen",
        f"customer #{customer.pk}: processing restricted – row not applied",
    )


def _record_consent(
    customer: Customer, channel: str, wording: str, recorded_by: str, line: int, report: ImportReport
) -> None:
    """Record the practice's consent for ``channel`` unless one holds — or the person withdrew one:
    an old export must not undo a STOP."""
    consents = Consent.objects.filter(customer=customer, channel=channel)
    states = list(consents.values_list("opted_out_at", flat=True))
    if any(opted_out is None for opted_out in states):
        return
    if states:
        de, en = _CHANNEL_NAMES.get(channel, (channel, channel))
        report.warnings.append(RowIssue(
            line, "consent",
            f"Kunde #{customer.pk} hat die {de}-Einwilligung widerrufen – nicht erneut erfasst; eine neue "
            "Einwilligung einzeln in der Verwaltung erfassen",
            f"customer #{customer.pk} withdrew the {en} consent – not recorded again; record a new consent "
            "individually in the admin",
        ))  # fmt: skip
        return
    record_opt_in(
        customer, channel, source=ConsentSource.IMPORT, wording_version=wording, recorded_by=recorded_by
    )
    report.consents_recorded += 1


# --- appointments ----------------------------------------------------------------------------------


def _upsert_appointment(
    record: CsvRecord,
    customer: Customer,
    location: Location,
    source_name: str,
    types: dict[str, AppointmentType],
    report: ImportReport,
) -> None:
    assert record.start_utc is not None
    end_utc = record.end_utc or record.start_utc + dt.timedelta(minutes=30)
    # CSV rows carry no stable id: the occurrence is identified by person and start instant.
    key = hashlib.sha256(f"{customer.pk}|{record.start_utc.isoformat()}".encode()).hexdigest()[:32]
    kind = None
    if record.appointment_type:
        kind = types.get(record.appointment_type)
        if kind is None:
            kind, _ = AppointmentType.objects.get_or_create(name=record.appointment_type)
            types[record.appointment_type] = kind
    summary = f"{customer} {record.appointment_type}".strip()[:500]
    appointment = Appointment.objects.filter(
        location=location, external_uid=f"csv:{key}", recurrence_id=""
    ).first()
    if appointment is None:
        Appointment.objects.create(
            location=location,
            external_uid=f"csv:{key}",
            recurrence_id="",
            customer=customer,
            appointment_type=kind,
            start_at=record.start_utc,
            end_at=end_utc,
            source=AppointmentSource.CSV,
            source_name=source_name[:500],
            summary=summary,
        )
        report.created += 1
        report.note("created", record.start_utc, summary)
        return
    changes: dict[str, object] = {}
    if appointment.end_at != end_utc:
        changes["end_at"] = end_utc
    if appointment.status == AppointmentStatus.CANCELLED:  # listed again: it takes place after all
        changes["status"] = AppointmentStatus.SCHEDULED  # (completed / no-show stay as staff set them)
    if kind is not None and appointment.appointment_type_id != kind.pk:
        changes["appointment_type"] = kind
    if appointment.summary != summary:
        changes["summary"] = summary
    if not changes:
        report.unchanged += 1
        return
    for name, value in changes.items():
        setattr(appointment, name, value)
    appointment.save(update_fields=[*changes, "updated_at"])
    report.updated += 1
    report.note("updated", record.start_utc, summary)


def _past(record: CsvRecord, location: Location) -> RowIssue:
    assert record.start_utc is not None
    local = record.start_utc.astimezone(location.tz)
    return RowIssue(
        record.line,
        "date",
        f"Termin am {local:%d.%m.%Y %H:%M} liegt in der Vergangenheit – keine Erinnerung",
        f"appointment on {local:%Y-%m-%d %H:%M} is in the past – no reminder",
    )
