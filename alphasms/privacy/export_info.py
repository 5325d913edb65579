"""The readable layer of the access export (GDPR Art. 15): the Art. 15(1) information block, provider
names, and what the HTML page and the plain-text output show.

Recipients and retention periods come from ``privacy.documents`` (the same wording as the privacy
notice and the records of processing, read from the settings in force), plus every provider that
actually received one of the person's messages. Texts are German and English; the copy itself
(``records``) is the same in both.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zoneinfo
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from babel.dates import format_datetime
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.utils import translation
from django.utils.module_loading import import_string

from alphasms.privacy.registry import REGISTRY, Row

if TYPE_CHECKING:
    from alphasms.privacy.subject_rights import ExportDict

# Appointment.source → where the data came from (Art. 15(1)(g)), German and English.
SOURCES: dict[str, tuple[str, str]] = {
    "manual": ("von der Praxis von Hand erfasst", "entered by hand by the practice"),
    "ics": (
        "aus dem Kalender der Praxis importiert (iCalendar)",
        "imported from the practice's calendar (iCalendar)",
    ),
    "csv": ("aus einer Datei der Praxis importiert (CSV)", "imported from a file of the practice (CSV)"),
    "api": (
        "vom Praxisprogramm über die Schnittstelle (API) übermittelt",
        "sent by the practice software (API)",
    ),
}
PURPOSES = (
    (
        "Erinnerung an Ihre Termine per SMS bzw. E-Mail, soweit Sie eingewilligt haben "
        "(Art. 6 Abs. 1 lit. a DSGVO)",
        "reminding you of your appointments by SMS or e-mail, as far as you consented (GDPR Art. 6(1)(a))",
    ),
    (
        "Verwaltung Ihrer Termine (Art. 6 Abs. 1 lit. b, Art. 9 Abs. 2 lit. h DSGVO)",
        "managing your appointments (GDPR Art. 6(1)(b), Art. 9(2)(h))",
    ),
    ("Nachweis Ihrer Einwilligungen (Art. 7 Abs. 1 DSGVO)", "proof of your consents (GDPR Art. 7(1))"),
    (
        "Protokoll, wer wann Ihre Daten angesehen oder geändert hat (Art. 5 Abs. 2 DSGVO)",
        "a log of who viewed or changed your data and when (GDPR Art. 5(2))",
    ),
)
RIGHTS = (
    ("Auskunft und Kopie Ihrer Daten (Art. 15 DSGVO)", "access and a copy of your data (GDPR Art. 15)"),
    ("Berichtigung unrichtiger Daten (Art. 16 DSGVO)", "rectification of inaccurate data (GDPR Art. 16)"),
    ("Löschung (Art. 17 DSGVO)", "erasure (GDPR Art. 17)"),
    ("Einschränkung der Verarbeitung (Art. 18 DSGVO)", "restriction of processing (GDPR Art. 18)"),
    ("Datenübertragbarkeit (Art. 20 DSGVO)", "data portability (GDPR Art. 20)"),
    (
        "Widerspruch, z. B. gegen die Statistik (Art. 21 DSGVO)",
        "objection, e.g. to statistics (GDPR Art. 21)",
    ),
    (
        "Widerruf einer Einwilligung jederzeit mit Wirkung für die Zukunft (Art. 7 Abs. 3 DSGVO)",
        "withdrawing a consent at any time, for the future (GDPR Art. 7(3))",
    ),
)
COMPLAINT = (
    "Sie können sich bei einer Datenschutz-Aufsichtsbehörde beschweren, insbesondere in dem Land Ihres "
    "Aufenthalts, Ihres Arbeitsplatzes oder des Orts des mutmaßlichen Verstoßes (Art. 77 DSGVO).",
    "You may lodge a complaint with a data protection supervisory authority, in particular in the member "
    "state of your residence, place of work or of the alleged infringement (GDPR Art. 77).",
)
AUTOMATED = (
    "Es gibt keine automatisierte Entscheidungsfindung und kein Profiling (Art. 22 DSGVO).",
    "There is no automated decision-making and no profiling (GDPR Art. 22).",
)
UNTIL_ERASED = ("bis zur Löschung", "until erased")


def _pick(language: str, pair: tuple[str, str]) -> str:
    return pair[1] if language == "en" else pair[0]


def provider_name(slug: str) -> str:
    """The name of the provider behind a gateway slug stored on a message or attempt: the gateway's
    ``display_name``, "SMTP <host>" for e-mail, or the slug itself for a gateway no longer installed."""
    from alphasms.messaging.gateways.registry import GATEWAYS

    if slug == "smtp":
        return f"SMTP {settings.EMAIL_HOST}"
    if slug in GATEWAYS:
        return str(import_string(GATEWAYS[slug]).display_name)
    return slug


def gateway_names(records: Mapping[str, list[Row]]) -> dict[str, str]:
    """Gateway slug → provider name, for every gateway that handled one of the person's messages."""
    slugs = {
        str(row["gateway"])
        for label in ("messaging.outboundmessage", "messaging.deliveryattempt")
        for row in records.get(label, [])
        if row.get("gateway")
    }
    return {slug: provider_name(slug) for slug in sorted(slugs)}


def information(records: Mapping[str, list[Row]], language: str) -> dict[str, Any]:
    """The Art. 15(1) block in ``language`` ("de"/"en"): controller, purposes (a), categories (b),
    recipients by name (c; CJEU C-154/21), retention (d; "until erased" where no period is set),
    rights (e), complaint (f), sources per appointment (g), automated decisions (h)."""
    from alphasms.appointments.models import Location
    from alphasms.privacy.documents import Language, recipients, retention

    lang: Language = "en" if language == "en" else "de"
    appointments = records.get("appointments.appointment", [])
    location_ids = {row["location_id"] for row in appointments}
    configured = [
        {"name": r.name, "role": r.role, "data": list(r.labels), "when": r.when, "note": r.note}
        for r in recipients(lang)
        if r.about_customers
    ]
    periods = [
        {"data": item.text, "period": item.value if item.days else _pick(lang, UNTIL_ERASED)}
        for item in retention(lang)
    ]
    periods.append(
        {"data": _pick(lang, ("alle übrigen Daten", "all other data")), "period": _pick(lang, UNTIL_ERASED)}
    )
    return {
        "controller": [
            {"name": name, "phone": phone}
            for name, phone in Location.objects.filter(pk__in=location_ids).values_list("name", "phone")
        ],
        "purposes": [_pick(lang, pair) for pair in PURPOSES],
        "categories": [_pick(lang, REGISTRY[label].category) for label, rows in records.items() if rows],
        "recipients": configured,
        "providers_used": [{"gateway": slug, "name": name} for slug, name in gateway_names(records).items()],
        "retention": periods,
        "sources": [
            {
                "appointment_id": row["id"],
                "source": row["source"],
                "text": _pick(lang, SOURCES.get(row["source"], (row["source"], row["source"]))),
                "source_name": row["source_name"],
            }
            for row in appointments
        ],
        "rights": [_pick(lang, pair) for pair in RIGHTS],
        "complaint": _pick(lang, COMPLAINT),
        "automated_decisions": _pick(lang, AUTOMATED),
    }


# --- rendering ----------------------------------------------------------------------------------------

LABELS: dict[str, dict[str, str]] = {
    "de": {
        "title": "Auskunft über Ihre gespeicherten Daten (Art. 15 DSGVO)",
        "generated": "Erstellt (UTC)",
        "information": "Informationen nach Art. 15 Abs. 1 DSGVO",
        "controller": "Verantwortlich",
        "purposes": "Zwecke",
        "categories": "Kategorien Ihrer Daten",
        "recipients": "Empfänger",
        "providers_used": "Anbieter, die Ihre Nachrichten erhalten haben",
        "retention": "Speicherdauer",
        "sources": "Herkunft der Daten",
        "master_source": "Ihre Stammdaten hat die Praxis erfasst oder mit Ihren Terminen importiert.",
        "rights": "Ihre Rechte",
        "complaint": "Beschwerderecht",
        "automated": "Automatisierte Entscheidungen",
        "person": "Ihre Stammdaten",
        "restriction": "Einschränkung und Widerspruch",
        "restricted": "Verarbeitung eingeschränkt",
        "basis": "Grund (Art. 18 Abs. 1)",
        "objected": "Widerspruch gegen Statistik",
        "appointments": "Termine",
        "messages": "Nachrichten",
        "attempts": "Zustellversuche",
        "reports": "Zustellberichte",
        "history": "Verlauf",
        "consents": "Einwilligungen",
        "audit": "Protokoll (wer hat wann was getan)",
        "records": "Vollständige Kopie aller gespeicherten Zeilen",
        "none": "keine",
        "yes": "ja",
        "no": "nein",
        "provider": "Anbieter",
        "when": "wann",
        "data": "welche Daten",
    },
    "en": {
        "title": "Access to the data stored about you (GDPR Art. 15)",
        "generated": "Generated (UTC)",
        "information": "Information under GDPR Art. 15(1)",
        "controller": "Controller",
        "purposes": "Purposes",
        "categories": "Categories of your data",
        "recipients": "Recipients",
        "providers_used": "Providers that received your messages",
        "retention": "Storage period",
        "sources": "Source of the data",
        "master_source": "The practice entered your master data or imported it with your appointments.",
        "rights": "Your rights",
        "complaint": "Right to complain",
        "automated": "Automated decisions",
        "person": "Your master data",
        "restriction": "Restriction and objection",
        "restricted": "Processing restricted",
        "basis": "Ground (Art. 18(1))",
        "objected": "Objection to statistics",
        "appointments": "Appointments",
        "messages": "Messages",
        "attempts": "Delivery attempts",
        "reports": "Delivery reports",
        "history": "History",
        "consents": "Consents",
        "audit": "Log (who did what when)",
        "records": "Complete copy of every stored row",
        "none": "none",
        "yes": "yes",
        "no": "no",
        "provider": "provider",
        "when": "when",
        "data": "which data",
    },
}


def shown(value: Any, language: str, compact: bool = False) -> str:
    """A value as the page shows it: "–" for None/"", yes/no, JSON for dicts and lists (on one line
    when ``compact``)."""
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return LABELS[language]["yes" if value else "no"]
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, indent=None if compact else 2)
    return str(value)


def _field_label(label: str, attname: str, language: str) -> str:
    if language == "en":
        return attname
    try:
        field = REGISTRY[label].model._meta.get_field(attname)
    except FieldDoesNotExist:
        return attname
    return str(getattr(field, "verbose_name", attname))


def fields(label: str, row: Row, language: str, compact: bool = False) -> list[tuple[str, str]]:
    """(label, shown value) of every field of ``row`` of registry model ``label``."""
    return [
        (_field_label(label, key, language), shown(value, language, compact)) for key, value in row.items()
    ]


def _messages(
    records: Mapping[str, list[Row]], gateways: Mapping[str, str], language: str
) -> list[dict[str, Any]]:
    attempts, reports, events = (
        records.get(f"messaging.{name}", []) for name in ("deliveryattempt", "deliveryreport", "statusevent")
    )
    out = []
    for message in records.get("messaging.outboundmessage", []):
        mine = [a for a in attempts if a["message_id"] == message["id"]]
        out.append(
            {
                "row": message,
                "provider": gateways.get(message["gateway"], ""),
                "history": [e for e in events if e["message_id"] == message["id"]],
                "attempts": [
                    {
                        "row": attempt,
                        "provider": gateways.get(attempt["gateway"], attempt["gateway"]),
                        "reports": [
                            {"row": r, "raw": shown(r["raw"], language)}
                            for r in reports
                            if r["attempt_id"] == attempt["id"]
                        ],
                    }
                    for attempt in mine
                ],
            }
        )
    return out


def page_context(data: ExportDict, language: str) -> dict[str, Any]:
    """The template context of ``privacy/export.html`` (shape: see the keys)."""
    records = data["records"]
    return {
        "language": language,
        "L": LABELS[language],
        "data": data,
        "info": data["information"][language],
        "person": fields("appointments.customer", data["person"], language),
        "appointments": records.get("appointments.appointment", []),
        "messages": _messages(records, data["gateways"], language),
        "consents": records.get("privacy.consent", []),
        "records": [
            {
                "label": label,
                "category": _pick(language, REGISTRY[label].category) if label in REGISTRY else label,
                "rows": [fields(label, row, language) for row in rows],
            }
            for label, rows in records.items()
            if rows
        ],
    }


_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)")
_LOCAL_TIME = {"de": "Zeiten in Ortszeit ({zone})", "en": "times in local time ({zone})"}


def local_time(value: Any, language: str) -> Any:
    """An ISO 8601 instant ("2026-11-30T06:13:00Z", as the export stores them) written for people in the
    installation's time zone (``TIME_ZONE``): "30.11.2026, 07:13:00" / "Nov 30, 2026, 7:13:00 AM";
    anything else unchanged."""
    if not isinstance(value, str) or not _INSTANT.fullmatch(value):
        return value
    instant = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    return format_datetime(instant, "medium", tzinfo=zone, locale="en" if language == "en" else "de")


def readable(label: str, attname: str, value: Any, language: str) -> Any:
    """A stored value of field ``attname`` of registry model ``label`` for people: instants in local
    time (:func:`local_time`); a choice's German label in German ("planned" → "geplant"), its value
    with spaces in English ("retry_wait" → "retry wait"). Anything else unchanged."""
    if isinstance(value, str) and _INSTANT.fullmatch(value):
        return local_time(value, language)
    try:
        field = REGISTRY[label].model._meta.get_field(attname) if label in REGISTRY else None
    except FieldDoesNotExist:
        field = None
    choices = dict(getattr(field, "flatchoices", None) or ())
    if isinstance(value, str) and value in choices:
        if language == "en":
            return value.replace("_", " ")
        with translation.override("de"):
            return str(choices[value])
    return value


def text_lines(data: ExportDict, language: str) -> Iterator[str]:
    """The export as lines of plain text for a person reading it: the information block, the state,
    then every record, times in local time and choices by their names (the JSON keeps the raw values)."""
    L, info = LABELS[language], data["information"][language]
    zone = _LOCAL_TIME["en" if language == "en" else "de"].format(zone=settings.TIME_ZONE)
    yield L["title"]
    yield f"{L['generated'].split(' (')[0]}: {local_time(data['generated_at'], language)} ({zone})"
    yield ""
    yield f"== {L['information']} =="
    yield f"{L['controller']}: " + ", ".join(c["name"] for c in info["controller"])
    for key in ("purposes", "categories", "rights"):
        yield f"{L[key]}:"
        yield from (f"  - {item}" for item in info[key])
    yield f"{L['recipients']}:"
    yield from (
        f"  - {r['name']} ({r['role']}): {', '.join(r['data'])}; {r['when']}" for r in info["recipients"]
    )
    yield f"{L['providers_used']}: " + (", ".join(p["name"] for p in info["providers_used"]) or L["none"])
    yield f"{L['retention']}:"
    yield from (f"  - {item['data']}: {item['period']}" for item in info["retention"])
    yield f"{L['sources']}: {L['master_source']}"
    yield from (
        f"  - #{s['appointment_id']}: {s['text']} {s['source_name']}".rstrip() for s in info["sources"]
    )
    yield f"{L['complaint']}: {info['complaint']}"
    yield f"{L['automated']}: {info['automated_decisions']}"
    state = data["restriction"]
    since = shown(local_time(state["restricted_at"], language), language)
    yield f"{L['restricted']}: {shown(state['restricted'], language)} {since}"
    yield f"{L['objected']}: {shown(data['statistics_objection']['objected'], language)}"
    for label, rows in data["records"].items():
        if not rows:
            continue
        yield ""
        yield f"== {_pick(language, REGISTRY[label].category)} ({label}) =="
        for row in rows:
            yield "-"
            readable_row = {key: readable(label, key, value, language) for key, value in row.items()}
            yield from (
                f"  {name}: {value}" for name, value in fields(label, readable_row, language, compact=True)
            )
    yield ""
    yield f"== {L['audit']} =="
    yield from (
        f"  {local_time(e['at'], language)} {e['actor']} {e['action']} {e['object_type']} #{e['object_id']} "
        f"{e['detail']}".rstrip()
        for e in data["audit"]
    )
