"""Framework-free reader for customer and appointment CSV files as German software and Excel write them.

No Django here: :func:`read_csv` turns the uploaded bytes into validated :class:`CsvRecord` values plus a
list of :class:`RejectedRow` problems; the Django service decides whether to apply them (all-or-report).

Format (RFC 4180 with the usual deviations):

* Encoding: UTF-8 BOM -> ``"utf-8-sig"`` (Excel "CSV UTF-8"; docling#4097, mailmerge#93: a kept BOM hides
  the first header), UTF-16 BOM -> ``"utf-16"`` (Excel "Unicode text"), valid UTF-8 -> ``"utf-8"``,
  anything else -> ``"cp1252"`` (German Excel "CSV (Trennzeichen-getrennt)").
* Delimiter ``;``, ``,`` or tab, or an Excel ``sep=X`` first line: every line is parsed with :mod:`csv`
  (quoted fields and quoted newlines count right); the delimiter for which all non-blank records have the
  same field count > 1 wins; on a tie ``;`` when the header contains ``;``, then the most known headers.
  ``csv.Sniffer`` picks ``,`` for unquoted ``Name, Vorname`` fields (cpython#119123) and is not used.
  If no delimiter is consistent, the one that fits most records wins and the other records are rejected;
  a delimiter that fits most records and yields more known headers beats a consistent one (one unquoted
  ``;`` in a note must not turn a ``Name, Vorname;...`` file into two comma-separated garbage columns).
* A lone "Name" column is kept whole in ``family_name``; "Name, Vorname" is split on the first comma.
  A date without time is rejected ("Uhrzeit fehlt") unless the file has no time column at all; then the
  row is a customer-only row (``start_utc`` None), as is a row without date and time.
* Dates ``dd.mm.yyyy``, ``d.m.yy`` (two-digit year -> 20yy) or ISO ``yyyy-mm-dd``, never month-first
  (dbeaver#23212, buckets#573). Times ``HH:MM``, ``H:MM``, ``HH:MM:SS``, ``HH.MM`` (only two parts, so it
  never collides with a date), ``8 Uhr``, ``2:30 PM``; an optional ``Uhr``/``h`` suffix. A date field may
  carry the time ("02.11.2026 14:30", "2026-11-02T14:30"); a non-empty time column wins over it.
* Local wall-clock times are interpreted in the IANA zone ``tz``: a time inside the spring-forward gap
  does not exist and rejects the row; an ambiguous time in the autumn fold means its first occurrence
  (``fold=0``, the earlier UTC instant). All datetimes returned are aware and in UTC.
* Line numbers are physical lines, 1-based, header = line 1 (if the file has no leading blank lines);
  a record with a quoted newline reports the line on which it starts.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alphasms.messaging.phone import FLAG_MESSAGES, PhoneResult, to_e164

__all__ = ["CANONICAL_FIELDS", "CsvFormatError", "CsvRecord", "CsvResult", "RejectedRow", "read_csv"]

CANONICAL_FIELDS = (
    "customer_number", "family_name", "given_name", "mobile", "phone", "email", "language",
    "date", "time", "duration_min", "end_time", "appointment_type", "notes",
)  # fmt: skip

# Normalised header spellings (see _norm) per canonical field; earlier aliases win over later ones.
_ALIASES: dict[str, tuple[str, ...]] = {
    "customer_number": ("kundennummer", "kundennr", "kdnr", "kundenid", "patientennummer", "patientennr",
                        "customernumber", "customerno", "customerid", "clientnumber", "clientid"),
    "family_name": ("nachname", "familienname", "zuname", "familyname", "lastname", "surname", "name"),
    "given_name": ("vorname", "firstname", "givenname"),
    "mobile": ("mobil", "mobiltelefon", "mobilnummer", "handy", "handynummer", "mobile", "mobilephone",
               "mobilenumber", "cell", "cellphone"),
    "phone": ("telefon", "telefonnummer", "tel", "festnetz", "phone", "phonenumber", "telephone"),
    "email": ("email", "emailadresse", "mail", "emailaddress"),
    "language": ("sprache", "language", "lang"),
    "date": ("datum", "termin", "termindatum", "date", "appointment", "appointmentdate"),
    "time": ("uhrzeit", "zeit", "beginn", "startzeit", "start", "time", "starttime"),
    "duration_min": ("dauer", "dauermin", "dauerinmin", "dauerinminuten", "duration", "durationmin",
                     "durationminutes", "minuten", "minutes"),
    "end_time": ("ende", "endzeit", "bis", "end", "endtime"),
    "appointment_type": ("terminart", "art", "typ", "type", "appointmenttype", "leistung"),
    "notes": ("notiz", "notizen", "bemerkung", "bemerkungen", "kommentar", "hinweis", "notes", "note",
              "comment", "comments"),
}  # fmt: skip
# One column "Family, Given": mapped to family_name and given_name at once and split on the first comma.
_COMBINED_NAME = ("namevorname", "nachnamevorname", "lastnamefirstname", "familynamegivenname")
_KNOWN = frozenset(_COMBINED_NAME).union(*_ALIASES.values())

_DELIMITERS = (";", ",", "\t")
_DATE_DE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})")
_DATE_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DATE_PREFIX = re.compile(r"(\d{1,2}\.\d{1,2}\.(?:\d{4}|\d{2})|\d{4}-\d{2}-\d{2})(?=$|[T\s,])[T\s,]*(.*)")
_TIME = re.compile(r"(\d{1,2})(?::(\d{2})(?::(\d{2}))?|\.(\d{2}))?\s*(uhr|h|[ap]\.?\s?m\.?)?", re.IGNORECASE)
_DURATION = re.compile(r"(\d{1,4})\s*(?:m|min\.?|minuten|minutes|mins)?", re.IGNORECASE)
_EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>.]{2,}")
_EXCEL_TEXT = re.compile(r'="(.*)"', re.DOTALL)  # ="0171..." keeps leading zeros in Excel


class CsvFormatError(ValueError):
    """The file as a whole cannot be read: empty, undecodable, no delimiter or no recognisable header.

    ``reason_de`` / ``reason_en`` are for staff; ``str(exc)`` is the English reason.
    """

    def __init__(self, reason_de: str, reason_en: str) -> None:
        super().__init__(reason_en)
        self.reason_de = reason_de
        self.reason_en = reason_en


@dataclass(frozen=True)
class CsvRecord:
    """One valid row. Strings are stripped, "" when the column is absent or empty.

    ``line``: physical 1-based line where the record starts. ``mobile``: :func:`to_e164` result for
    ``mobile_raw`` (None if empty); an unusable number is kept, its ``flags`` are for staff.
    ``start_utc``/``end_utc``: aware UTC datetimes, None for customer-only rows; ``end_utc`` comes from
    the end column, else start + duration (minutes, elapsed time), else start + ``default_duration_min``.
    """

    line: int
    customer_number: str
    family_name: str
    given_name: str
    mobile_raw: str
    mobile: PhoneResult | None
    phone_raw: str
    email: str | None
    language: str | None
    start_utc: datetime | None
    end_utc: datetime | None
    appointment_type: str
    notes: str


@dataclass(frozen=True)
class RejectedRow:
    """One problem in one row (a row with several problems appears several times).

    ``field`` is a canonical field name, or ``"row"`` for a record whose field count is wrong;
    ``value`` is the offending raw value ("" if missing).
    """

    line: int
    field: str
    value: str
    reason_de: str
    reason_en: str


@dataclass(frozen=True)
class CsvResult:
    """``delimiter``/``encoding`` as detected (encoding as a Python codec name); ``columns`` maps each
    recognised canonical field to the header as found in the file (BOM and outer spaces removed).
    ``ignored_columns``: (1-based column number, header) of every column that no field reads but that
    holds a value in at least one row."""

    delimiter: str
    encoding: str
    columns: dict[str, str]
    records: tuple[CsvRecord, ...]
    rejected: tuple[RejectedRow, ...]
    ignored_columns: tuple[tuple[int, str], ...] = ()


# Substrings of a normalised header that suggest which field an unrecognised column is meant for
# (only where a wrong guess is harmless: it is a hint in a message, never applied).
_GUESSES = (
    (("mobil", "handy", "cell", "sms"), "mobile"),
    (("mail",), "email"),
    (("tel", "phone", "fon"), "phone"),
    (("vorname", "first", "given"), "given_name"),
    (("nachname", "last", "family", "surname"), "family_name"),
    (("kunde", "kdnr", "patient", "customer", "client"), "customer_number"),
)


def guess_field(header: str) -> str | None:
    """The canonical field an unrecognised header probably means ("Tel. mobil" → "mobile"), or None."""
    key = _norm(header)
    for needles, field in _GUESSES:
        if any(needle in key for needle in needles):
            return field
    return None


def read_csv(
    data: bytes,
    tz: str = "Europe/Berlin",
    default_country: str = "DE",
    mapping: dict[str, str] | None = None,
    default_duration_min: int = 30,
) -> CsvResult:
    """Parse a customer/appointment CSV export.

    ``data``: the file's bytes, untouched. ``tz``: IANA zone of the location (local times are read in it).
    ``default_country``: ISO 3166 alpha-2 for national phone numbers. ``mapping``: canonical field ->
    header name, overriding auto-detection (case/space/umlaut tolerant; map ``family_name`` and
    ``given_name`` to the same header for a "Family, Given" column). ``default_duration_min``: minutes.

    Raises :class:`CsvFormatError` for whole-file problems and :class:`ValueError` for bad arguments
    (unknown zone, unknown canonical field, duration <= 0; from ``to_e164``: unknown ``default_country``).
    Row problems never raise; they are returned in ``rejected`` and the row is left out of ``records``.
    """
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {tz!r}") from exc
    if default_duration_min <= 0:
        raise ValueError("default_duration_min must be > 0")
    text, encoding = _decode(data)
    delimiter, records = _split_records(text)
    (_, header), body = records[0], records[1:]
    cols = _map_columns(header, mapping)
    good: list[CsvRecord] = []
    rejected: list[RejectedRow] = []
    for line, cells in body:
        if len(cells) != len(header):
            rejected.append(RejectedRow(
                line, "row", delimiter.join(cells),
                f"{len(cells)} Spalten statt {len(header)} („{delimiter}“ im Feld ohne Anführungszeichen?)",
                f"{len(cells)} fields instead of {len(header)} (unquoted {delimiter!r} inside a field?)",
            ))  # fmt: skip
            continue
        record, problems = _parse_row(line, cells, cols, zone, default_country, default_duration_min)
        rejected.extend(problems)
        if record is not None:
            good.append(record)
    columns = {f: _clean_header(header[i]) for f, i in cols.items()}
    used = set(cols.values())
    ignored = tuple(
        (i + 1, _clean_header(h))
        for i, h in enumerate(header)
        if i not in used and any(i < len(cells) and _cell(cells[i]) for _, cells in body)
    )
    return CsvResult(delimiter, encoding, columns, tuple(good), tuple(rejected), ignored)


def _decode(data: bytes) -> tuple[str, str]:
    """bytes -> (text without BOM, codec name); BOM decides, else valid UTF-8 is UTF-8, else cp1252."""
    if data.startswith(codecs.BOM_UTF8):
        codecs_to_try: tuple[str, ...] = ("utf-8-sig",)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        codecs_to_try = ("utf-16",)
    else:
        codecs_to_try = ("utf-8", "cp1252")
    for codec in codecs_to_try:
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError as exc:
            position = exc.start
    raise CsvFormatError(
        f"Zeichenkodierung nicht erkannt ({'/'.join(codecs_to_try)} ungültig ab Byte {position})",
        f"unknown character encoding ({'/'.join(codecs_to_try)} invalid at byte {position})",
    )


def _parse(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """(start line, fields) of every record that is not blank; quoted newlines stay inside fields."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')
    out: list[tuple[int, list[str]]] = []
    start = 1
    for row in reader:
        if any(cell.strip() for cell in row):
            out.append((start, row))
        start = reader.line_num + 1
    return out


def _split_records(text: str) -> tuple[str, list[tuple[int, list[str]]]]:
    """Choose the delimiter (see module docstring) and return it with the parsed records; header first."""
    first, newline, rest = text.partition("\n")
    forced = re.fullmatch(r'"?sep=(.)"?\r?', first, re.IGNORECASE)
    if forced:  # Excel's "sep=;" line: keep it as a blank line so line numbers stay physical
        text = newline + rest
    candidates: dict[str, list[tuple[int, list[str]]]] = {}
    for d in (forced.group(1),) if forced else _DELIMITERS:
        try:
            candidates[d] = _parse(text, d)
        except csv.Error:
            continue
    if not any(c.isalnum() for c in text) or not any(candidates.values()):
        raise CsvFormatError("Die Datei ist leer", "the file is empty")
    header_line = next((line for line in text.splitlines() if line.strip()), "")
    usable = {d: recs for d, recs in candidates.items() if recs and len(recs[0][1]) > 1}
    if not usable:
        raise CsvFormatError(
            "Trennzeichen nicht erkannt: die Kopfzeile hat nur eine Spalte (erwartet ; , oder Tab)",
            "delimiter not recognised: the header has only one column (expected ';', ',' or tab)",
        )

    def fit(d: str) -> float:  # share of records with the header's field count; 1.0 = consistent
        return sum(len(r) == len(usable[d][0][1]) for _, r in usable[d]) / len(usable[d])

    def known(d: str) -> int:  # header cells that name a known column
        return sum(_norm(h) in _KNOWN for h in usable[d][0][1])

    ranked = sorted(usable, key=lambda d: (fit(d), d == ";" and ";" in header_line, known(d)), reverse=True)
    best = ranked[0]
    # Safety net: one unquoted ";" in a note makes a ";" file inconsistent while "," may still cut every
    # line of a "Name, Vorname" file into 2 consistent but meaningless fields.
    rival = max(ranked, key=known)
    if known(rival) > known(best) and fit(rival) > 0.5:
        best = rival
    return best, usable[best]


def _norm(header: str) -> str:
    """Header -> comparable key: casefold, umlauts as ae/oe/ue/ss, accents and non-alphanumerics dropped."""
    s = unicodedata.normalize("NFC", header).casefold()
    for umlaut, plain in (("ä", "ae"), ("ö", "oe"), ("ü", "ue")):
        s = s.replace(umlaut, plain)
    s = unicodedata.normalize("NFKD", s)
    return "".join(c for c in s if c.isascii() and c.isalnum())


def _clean_header(header: str) -> str:
    return header.replace("\ufeff", "").strip()


def _map_columns(header: list[str], mapping: dict[str, str] | None) -> dict[str, int]:
    """canonical field -> column index; explicit mapping first, then the alias tables."""
    keys = [_norm(h) for h in header]
    cols: dict[str, int] = {}
    for field, wanted in (mapping or {}).items():
        if field not in CANONICAL_FIELDS:
            raise ValueError(f"unknown canonical field {field!r}; expected one of {CANONICAL_FIELDS}")
        if _norm(wanted) not in keys:
            found = ", ".join(_clean_header(h) for h in header)
            raise CsvFormatError(
                f"Spalte „{wanted}“ (für {field}) nicht gefunden; vorhanden: {found}",
                f"column {wanted!r} (for {field}) not found; headers found: {found}",
            )
        cols[field] = keys.index(_norm(wanted))
    taken = set(cols.values())
    for i, key in enumerate(keys):
        if key in _COMBINED_NAME and i not in taken and not {"family_name", "given_name"} & cols.keys():
            cols["family_name"] = cols["given_name"] = i
            taken.add(i)
    for field, aliases in _ALIASES.items():
        hits = [(aliases.index(k), i) for i, k in enumerate(keys) if k in aliases and i not in taken]
        if field not in cols and hits:
            cols[field] = min(hits)[1]
            taken.add(cols[field])
    if "family_name" not in cols and "customer_number" not in cols:
        found = ", ".join(repr(_clean_header(h)) for h in header)
        raise CsvFormatError(
            f"Keine erkennbare Kopfzeile. Gefunden: {found}. Erwartet u. a. Nachname, Vorname, "
            "„Name, Vorname“, Kundennummer, Mobil, E-Mail, Datum, Uhrzeit, Dauer",
            f"no recognisable header. Found: {found}. Expected e.g. Nachname/last name, Vorname/first "
            "name, 'Name, Vorname', Kundennummer/customer number, Mobil/mobile, E-Mail, Datum/date, "
            "Uhrzeit/time, Dauer/duration",
        )
    return cols


def _cell(value: str) -> str:
    value = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    excel = _EXCEL_TEXT.fullmatch(value)
    return excel.group(1).strip() if excel else value


def _parse_date(text: str) -> date:
    """``d.m.yy``/``dd.mm.yyyy`` (yy -> 20yy) or ``yyyy-mm-dd``, years 1900-2199; ValueError otherwise
    (year 1 or 9999 would overflow when converted to UTC)."""
    if m := _DATE_DE.fullmatch(text):
        day, month, year = int(m[1]), int(m[2]), int(m[3])
        parsed = date(2000 + year if len(m[3]) == 2 else year, month, day)
    elif m := _DATE_ISO.fullmatch(text):
        parsed = date(int(m[1]), int(m[2]), int(m[3]))
    else:
        raise ValueError(text)
    if not 1900 <= parsed.year <= 2199:
        raise ValueError(text)
    return parsed


def _parse_time(text: str) -> time:
    """``H:MM[:SS]``, ``H.MM``, ``8 Uhr``/``8h``, ``2:30 PM``; a bare number needs a suffix."""
    m = _TIME.fullmatch(text.strip())
    if not m or (m[2] is None and m[4] is None and not m[5]):
        raise ValueError(text)
    hour, minute, second = int(m[1]), int(m[2] or m[4] or 0), int(m[3] or 0)
    suffix = (m[5] or "").lower()
    if suffix[:1] in ("a", "p"):
        if not 1 <= hour <= 12:
            raise ValueError(text)
        hour = hour % 12 + (12 if suffix[0] == "p" else 0)
    return time(hour, minute, second)  # ValueError for 24:00, 14:60 ...


def _split_when(value: str) -> tuple[str | None, str | None]:
    """ "02.11.2026 14:30" -> ("02.11.2026", "14:30"); "14:30" -> (None, "14:30")."""
    m = _DATE_PREFIX.fullmatch(value)
    return (m[1], m[2] or None) if m else (None, value)


def _localize(day: date, clock: time, zone: ZoneInfo) -> datetime | None:
    """Local wall time -> aware UTC; None if it does not exist (DST gap); fold=0 in the autumn fold."""
    naive = datetime.combine(day, clock)
    utc = naive.replace(tzinfo=zone).astimezone(UTC)
    return utc if utc.astimezone(zone).replace(tzinfo=None) == naive else None


def _parse_row(
    line: int, cells: list[str], cols: dict[str, int], zone: ZoneInfo, country: str, default_min: int
) -> tuple[CsvRecord | None, list[RejectedRow]]:
    problems: list[RejectedRow] = []

    def get(field: str) -> str:
        return _cell(cells[cols[field]]) if field in cols else ""

    def bad(field: str, value: str, de: str, en: str) -> None:
        problems.append(RejectedRow(line, field, value, de, en))

    family, given = get("family_name"), get("given_name")
    if cols.get("family_name") is not None and cols.get("family_name") == cols.get("given_name"):
        family, _, given = (part.strip() for part in family.partition(","))
    customer_number = get("customer_number")
    if not family and not customer_number:
        bad("family_name", "", "Name fehlt", "name missing")
    email = get("email") or None
    if email is not None and not _EMAIL.fullmatch(email):
        bad("email", email, f"E-Mail-Adresse „{email}“ ungültig", f"invalid e-mail address {email!r}")

    day: date | None = None
    clock: time | None = None
    problems_before = len(problems)
    for field in ("date", "time"):  # the date column must hold a date, the time column a time
        raw = get(field)
        if not raw:
            continue
        date_part, time_part = _split_when(raw)
        if field == "date" and date_part is None:
            date_part, time_part = raw, None
        try:
            if date_part is not None:
                parsed_day = _parse_date(date_part)
                day = day or parsed_day
        except ValueError:
            bad(field, raw, f"Datum „{raw}“ ungültig, erwartet TT.MM.JJJJ",
                f"invalid date {raw!r}, expected dd.mm.yyyy")  # fmt: skip
        try:
            if time_part is not None or field == "time":
                clock = _parse_time(time_part or "")
        except ValueError:
            bad(field, raw, f"Uhrzeit „{raw}“ ungültig, erwartet HH:MM",
                f"invalid time {raw!r}, expected HH:MM")  # fmt: skip
    start_utc = end_utc = None
    when_ok = len(problems) == problems_before
    if when_ok and day is not None and clock is None and "time" in cols:
        bad("time", "", "Uhrzeit fehlt", "time missing")
    elif when_ok and day is None and clock is not None:
        bad("date", "", "Datum fehlt", "date missing")
    elif when_ok and day is not None and clock is not None:
        start_utc = _localize(day, clock, zone)
        if start_utc is None:
            value = f"{day:%d.%m.%Y} {clock:%H:%M}"
            bad("time", value, f"{value} gibt es in {zone.key} nicht (Zeitumstellung)",
                f"{value} does not exist in {zone.key} (daylight saving time change)")  # fmt: skip
    # End and duration are checked whenever the row means an appointment, also when its date or time
    # is wrong, so a row with several problems reports all of them at once.
    end_raw, duration_raw = get("end_time"), get("duration_min")
    means_appointment = bool(get("date") or get("time"))
    if start_utc is not None and day is not None:
        end_utc = start_utc + timedelta(minutes=default_min)
    if means_appointment and end_raw:
        end_date, end_time = _split_when(end_raw)
        end_local: datetime | None = None
        try:
            end_day = _parse_date(end_date) if end_date else day
            end_clock = _parse_time(end_time or "")
            if end_day is not None and start_utc is not None:
                end_local = _localize(end_day, end_clock, zone)
            well_formed = True
        except ValueError:
            well_formed = False
        if not well_formed or (start_utc is not None and (end_local is None or end_local <= start_utc)):
            bad("end_time", end_raw, f"Ende „{end_raw}“ ungültig oder nicht nach dem Beginn",
                f"end {end_raw!r} is invalid or not after the start")  # fmt: skip
        end_utc = end_local
    elif means_appointment and duration_raw:
        m = _DURATION.fullmatch(duration_raw)
        if m is None or not 1 <= int(m[1]) <= 24 * 60:
            bad("duration_min", duration_raw, f"Dauer „{duration_raw}“ ungültig, erwartet Minuten",
                f"invalid duration {duration_raw!r}, expected minutes (1-1440)")  # fmt: skip
        elif start_utc is not None:
            end_utc = start_utc + timedelta(minutes=int(m[1]))
    if problems:
        mobile_problem = _mobile_problem(line, get("mobile"), get("phone"), country)
        return None, problems + ([mobile_problem] if mobile_problem else [])
    mobile_raw = get("mobile")
    mobile = to_e164(mobile_raw, country=None, default_country=country) if mobile_raw else None
    record = CsvRecord(
        line=line, customer_number=customer_number, family_name=family, given_name=given,
        mobile_raw=mobile_raw, mobile=mobile, phone_raw=get("phone"), email=email,
        language=get("language") or None, start_utc=start_utc, end_utc=end_utc,
        appointment_type=get("appointment_type"), notes=get("notes"),
    )  # fmt: skip
    return record, []


def _mobile_problem(line: int, raw: str, phone_raw: str, country: str) -> RejectedRow | None:
    """For a row rejected for other reasons: its mobile number's problem too (no SMS possible), so the
    row can be fixed in one go. None when the number is fine or the Telefon column holds a mobile number
    the import would use instead. (In a valid row the same problem is a warning: the row is applied.)"""
    if not raw:
        return None
    try:
        result = to_e164(raw, country=None, default_country=country)
        if result.sms_ok or (phone_raw and to_e164(phone_raw, default_country=country).sms_ok):
            return None
    except ValueError:
        return None
    quiet = ("trunk_zero_removed",)  # as the import's warnings: no note on a removed 0 or assumed country
    flags = [
        f
        for f in result.flags
        if f in FLAG_MESSAGES and f not in quiet and not f.startswith("assumed_country_")
    ]
    de = " ".join(FLAG_MESSAGES[f][0] for f in flags)
    en = " ".join(FLAG_MESSAGES[f][1] for f in flags)
    if "not_mobile" not in flags:
        de, en = f"{de} Keine SMS möglich.".strip(), f"{en} No SMS possible.".strip()
    return RejectedRow(line, "mobile", raw, f"Mobilnummer „{raw}“: {de}", f"mobile number {raw!r}: {en}")
