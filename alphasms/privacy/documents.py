"""Records of processing (GDPR Art. 30) and the privacy notice for the business's customers (Art. 13/14),
generated from the running configuration, in German and English.

What the documents say about recipients comes from the settings in force when they are generated, so
they change when the configuration changes (DESIGN.md invariant 6 lists what leaves the machine):

* the SMS gateway by its ``display_name`` (``ALPHASMS_SMS_GATEWAY``): recipient number and text, plus the
  sender ID when one is configured (``ALPHASMS_SMS_SENDER_ID`` / ``_SENDER_NUMBER``);
* the mail server by its host (``ALPHASMS_SMTP_HOST``): sender, recipient (name and address), subject,
  text, plus the .ics attachment when an active e-mail rule attaches one;
* the vendor for the update check (version, OS, registration name, licence number), the support backup
  and remote maintenance — each only on a user's action;
* retention periods (``ALPHASMS_RETENTION_*_DAYS``; missing or 0 is "not set") and whether anonymised
  statistics are on (``ALPHASMS_STATISTICS``).

The wording lives in Django templates ``privacy/documents/<kind>.<language>.md`` (Markdown, rewritten from
the original policy: "Sperrung"/§ 3 BDSG (old) became restriction under Art. 18 GDPR and § 35 BDSG).
HTML is the same Markdown converted by :func:`markdown_to_html`, so both formats always say the same.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any, Literal

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from alphasms.conf import app_settings

Language = Literal["de", "en"]
Kind = Literal["records", "notice"]
Format = Literal["md", "html"]
LANGUAGES: tuple[Language, ...] = ("de", "en")
KINDS: tuple[Kind, ...] = ("records", "notice")
FORMATS: tuple[Format, ...] = ("md", "html")

VENDOR = "Genster GmbH"  # publisher of AlphaSMS, receiver of update checks and support data

# Every field a recipient can get: key → (German, English).
FIELD_LABELS: dict[str, tuple[str, str]] = {
    "recipient_number": ("Rufnummer des Empfängers", "recipient's phone number"),
    "sms_text": ("SMS-Text", "SMS text"),
    "sender_id": ("Absenderkennung", "sender ID"),
    "mail_sender": ("Absenderadresse", "sender address"),
    "mail_recipient": ("Name und E-Mail-Adresse des Empfängers", "recipient's name and e-mail address"),
    "mail_subject": ("Betreff", "subject"),
    "mail_text": ("Nachrichtentext", "message text"),
    "ics": (
        "Kalenderanhang (.ics: Zeit des Termins und Name der Praxis)",
        "calendar attachment (.ics: time of the appointment and name of the practice)",
    ),
    "version": ("Programmversion", "program version"),
    "os": ("Betriebssystem", "operating system"),
    "registration_name": ("Registrierungsname", "registration name"),
    "licence_number": ("Lizenznummer", "licence number"),
    "backup": (
        "Sicherung der Termindaten (Kunden, Termine, Nachrichten, Einwilligungen)",
        "backup of the appointment data (customers, appointments, messages, consents)",
    ),
    "screen": (
        "Bildschirminhalt und Eingaben während der Sitzung",
        "screen content and input during the session",
    ),
}

# ALPHASMS settings key → what the rule does (de, en) and from when its period counts (de, en).
RETENTION_RULES: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "RETENTION_MESSAGE_TEXT_DAYS",
        "Betreff, Text und Empfänger versandter Nachrichten unkenntlich machen",
        "blank subject, text and recipient of messages sent",
        "nach dem Versand",
        "after sending",
    ),
    (
        "RETENTION_DELIVERY_REPORTS_DAYS",
        "Zustellberichte der Anbieter löschen",
        "delete the providers' delivery reports",
        "nach Eingang",
        "after receipt",
    ),
    (
        "RETENTION_APPOINTMENTS_DAYS",
        "Termine samt ihren Nachrichten löschen",
        "delete appointments with their messages",
        "nach dem Termin",
        "after the appointment",
    ),
    (
        "RETENTION_INACTIVE_CUSTOMERS_DAYS",
        "Kunden ohne weiteren Termin vollständig löschen",
        "erase customers without a further appointment",
        "nach dem letzten Termin",
        "after their last appointment",
    ),
)


@dataclass(frozen=True)
class Recipient:
    """One receiver of data: ``key`` ("sms", "mail", "update", "support_backup", "remote"), its ``name``
    (display name, host or vendor), ``fields`` (keys of FIELD_LABELS, exactly what it gets),
    ``about_customers`` (False when no customer data is involved), and localised texts."""

    key: str
    name: str
    role: str
    fields: tuple[str, ...]
    labels: tuple[str, ...]
    when: str
    note: str
    about_customers: bool


@dataclass(frozen=True)
class RetentionItem:
    """One retention rule: its setting key, ``days`` (None when not set or 0 = off) and text."""

    key: str
    days: int | None
    text: str
    value: str


def _pick(language: Language, de: str, en: str) -> str:
    return en if language == "en" else de


def _labels(fields: tuple[str, ...], language: Language) -> tuple[str, ...]:
    index = 1 if language == "en" else 0
    return tuple(FIELD_LABELS[field][index] for field in fields)


def _sms_recipient(language: Language) -> Recipient:
    from alphasms.messaging.gateways.registry import active_sms_gateway

    gateway = active_sms_gateway()
    sender = app_settings.SMS_SENDER_ID or app_settings.SMS_SENDER_NUMBER
    fields = ("recipient_number", "sms_text", *(("sender_id",) if sender else ()))
    return Recipient(
        key="sms",
        name=md_cell(gateway.display_name),
        role=_pick(language, "SMS-Gateway", "SMS gateway"),
        fields=fields,
        labels=_labels(fields, language),
        when=_pick(
            language,
            "bei jeder SMS-Erinnerung an eine Person mit Einwilligung für SMS",
            "with every SMS reminder to a person who consented to SMS",
        ),
        note=_pick(
            language,
            "dazu eine zufällige Nachrichtennummer für Zustellberichte (ohne Personenbezug)",
            "plus a random message reference for delivery reports (no personal data)",
        ),
        about_customers=True,
    )


def _ics_in_use() -> bool:
    from alphasms.appointments.models import Channel, ReminderRule

    return ReminderRule.objects.filter(active=True, channel=Channel.EMAIL, attach_ics=True).exists()


def _mail_recipient(language: Language) -> Recipient:
    fields = (
        "mail_sender",
        "mail_recipient",
        "mail_subject",
        "mail_text",
        *(("ics",) if _ics_in_use() else ()),
    )
    note = ""
    if app_settings.MAIL_SINK:
        note = _pick(
            language,
            "derzeit lokaler Test-Empfänger: E-Mails verlassen diesen Rechner nicht",
            "currently a local test sink: e-mails do not leave this computer",
        )
    return Recipient(
        key="mail",
        name=md_cell(str(settings.EMAIL_HOST)),
        role=_pick(language, "E-Mail-Server (SMTP)", "mail server (SMTP)"),
        fields=fields,
        labels=_labels(fields, language),
        when=_pick(
            language,
            "bei jeder E-Mail-Erinnerung an eine Person mit Einwilligung für E-Mail",
            "with every e-mail reminder to a person who consented to e-mail",
        ),
        note=note,
        about_customers=True,
    )


def _vendor_recipients(language: Language) -> list[Recipient]:
    update = ("version", "os", "registration_name", "licence_number")
    return [
        Recipient(
            key="update",
            name=VENDOR,
            role=_pick(language, "Update-Prüfung", "update check"),
            fields=update,
            labels=_labels(update, language),
            when=_pick(
                language,
                "nur wenn ein Benutzer die Update-Prüfung aufruft; es gibt keine automatische Prüfung",
                "only when a user starts the update check; there is no automatic check",
            ),
            note=_pick(
                language,
                "technisch bedingt sieht der Server die IP-Adresse; Zweck: Abrechnung der Lizenz",
                "the server technically sees the IP address; purpose: licence billing",
            ),
            about_customers=False,
        ),
        Recipient(
            key="support_backup",
            name=VENDOR,
            role=_pick(language, "Support-Sicherung", "support backup"),
            fields=("backup",),
            labels=_labels(("backup",), language),
            when=_pick(
                language,
                "nur wenn ein Benutzer sie nach Absprache selbst erstellt und übermittelt",
                "only when a user creates and sends it after agreeing with support",
            ),
            note=_pick(
                language,
                "nur zur Lösung des gemeldeten Problems; mit Abschluss des Falls gelöscht",
                "used only to solve the reported problem; deleted when the case is closed",
            ),
            about_customers=True,
        ),
        Recipient(
            key="remote",
            name=VENDOR,
            role=_pick(language, "Fernwartung", "remote maintenance"),
            fields=("screen",),
            labels=_labels(("screen",), language),
            when=_pick(
                language,
                "nur wenn ein Benutzer die Sitzung nach telefonischer Absprache selbst startet",
                "only when a user starts the session after agreeing by phone",
            ),
            note=_pick(
                language,
                "der Benutzer sieht alles mit und kann die Sitzung jederzeit beenden",
                "the user watches everything and can end the session at any time",
            ),
            about_customers=True,
        ),
    ]


def recipients(language: Language = "de") -> list[Recipient]:
    """Every receiver of data under the current configuration, in document order.

    Errors: ``GatewayMisconfigured`` when ALPHASMS_SMS_GATEWAY names no registered gateway. Side effects:
    one SELECT (whether an active e-mail rule attaches an .ics).
    """
    return [_sms_recipient(language), _mail_recipient(language), *_vendor_recipients(language)]


def retention(language: Language = "de") -> list[RetentionItem]:
    """The retention rules as configured (``settings.ALPHASMS["RETENTION_…_DAYS"]``); a missing key, an
    empty value or 0 (rule switched off) is "not set"."""
    items = []
    for key, what_de, what_en, after_de, after_en in RETENTION_RULES:
        raw = str(settings.ALPHASMS.get(key) or "0").strip() or "0"
        days = int(raw) if int(raw) > 0 else None
        if days is None:
            value = _pick(language, "nicht festgelegt", "not set")
        else:
            value = _pick(language, f"{days} Tage {after_de}", f"{days} days {after_en}")
        items.append(RetentionItem(key=key, days=days, text=_pick(language, what_de, what_en), value=value))
    return items


def _controllers() -> list[dict[str, str]]:
    from alphasms.appointments.models import Location

    return [
        {"name": md_cell(loc.name), "phone": md_cell(loc.phone)} for loc in Location.objects.order_by("name")
    ]


def context(language: Language = "de") -> dict[str, Any]:
    """The template context of both documents (shape: see the keys); reads settings and the database."""
    from alphasms.messaging.gateways.registry import active_sms_gateway
    from alphasms.privacy.links import DEFAULT_MAX_AGE_DAYS

    all_recipients = recipients(language)
    return {
        "language": language,
        "generated_on": timezone.localdate().isoformat(),
        "controllers": _controllers(),
        "recipients": all_recipients,
        "customer_recipients": [r for r in all_recipients if r.about_customers],
        "sms": all_recipients[0],
        "mail": all_recipients[1],
        "retention": retention(language),
        "statistics": app_settings.STATISTICS,
        "stop_replies": active_sms_gateway().supports_mo,  # a "STOP" reply reaches us only then
        "link_days": DEFAULT_MAX_AGE_DAYS,
        "vendor": VENDOR,
    }


def render_document(kind: Kind, language: Language = "de", fmt: Format = "md") -> str:
    """The document ``kind`` ("records" or "notice") in ``language`` as Markdown or a whole HTML page.

    Raises ValueError for an unknown kind, language or format; errors of ``recipients``.
    """
    if kind not in KINDS or language not in LANGUAGES or fmt not in FORMATS:
        raise ValueError(f"unknown document {kind!r}/{language!r}/{fmt!r}")
    rendered = str(render_to_string(f"privacy/documents/{kind}.{language}.md", context(language)))
    text = re.sub(r"\n{3,}", "\n\n", re.sub(r"[ \t]+\n", "\n", rendered)).strip() + "\n"
    if fmt == "md":
        return text
    title = text.splitlines()[0].lstrip("# ").strip()
    return render_to_string(
        "privacy/documents/page.html",
        {"language": language, "title": title, "body": markdown_to_html(text)},
    )


# --- the Markdown subset the templates use -----------------------------------------------------------

_INLINE = (
    (re.compile(r"\*\*(.+?)\*\*"), r"<strong>\1</strong>"),
    (re.compile(r"`(.+?)`"), r"<code>\1</code>"),
)


def _inline(text: str) -> str:
    escaped = html.escape(text, quote=False)
    for pattern, replacement in _INLINE:
        escaped = pattern.sub(replacement, escaped)
    return escaped


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _table(lines: list[str]) -> str:
    head, *rows = [_cells(line) for line in lines if not re.fullmatch(r"\|?[\s:|-]+\|?", line.strip())]
    out = ["<table>", "<thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr></thead>"]
    out.append("<tbody>")
    out += ["<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in rows]
    out += ["</tbody>", "</table>"]
    return "\n".join(out)


def _block(lines: list[str]) -> str:
    first = lines[0]
    if heading := re.match(r"(#{1,4}) (.*)", first):
        level = len(heading.group(1))
        return f"<h{level}>{_inline(heading.group(2))}</h{level}>"
    if first.startswith("|"):
        return _table(lines)
    if first.startswith("- "):
        items: list[str] = []
        for line in lines:
            if line.startswith("- "):
                items.append(line[2:])
            else:
                items[-1] += " " + line.strip()
        return "<ul>\n" + "\n".join(f"<li>{_inline(item)}</li>" for item in items) + "\n</ul>"
    if first.startswith("> "):
        return f"<blockquote><p>{_inline(' '.join(line[2:] for line in lines))}</p></blockquote>"
    return f"<p>{_inline(' '.join(line.strip() for line in lines))}</p>"


def markdown_to_html(text: str) -> str:
    """HTML for the Markdown subset of the document templates: ``#`` headings, paragraphs, ``- `` lists,
    ``> `` quotes, pipe tables, ``**bold**`` and ```code```. All text is HTML-escaped first."""
    blocks: list[list[str]] = []
    for line in text.splitlines():
        if not line.strip():
            blocks.append([])
        elif line.startswith("#"):
            blocks += [[line], []]
        elif blocks and blocks[-1]:
            blocks[-1].append(line)
        else:
            blocks.append([line])
    return "\n".join(_block(block) for block in blocks if block)


def md_cell(text: str) -> str:
    """``text`` safe inside a Markdown table cell (no pipe, no line break)."""
    return text.replace("|", "/").replace("\n", " ")
