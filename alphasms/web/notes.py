"""Labels of the notes stored with a message's status changes (``StatusEvent.note``), for the history
shown in the web app.

The services record a note as a fixed English reason code ("appointment cancelled by staff", "consent
withdrawn (staff)", "rule change: switched off (was planned)"); the stored history is never rewritten.
Here each known note is mapped to an English msgid at display time, so the German UI shows German.
Notes that are not reasons (a worker id, a gateway slug, a provider's error code, an exception text) and
unknown ones are shown as stored.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from alphasms.web.dates import when

#: Notes stored verbatim → label. The sources: messaging.services.dispatch, .reports, .replies,
#: appointments.services.editing, .ics_import, .rule_changes, privacy.subject_rights,
#: licensing.evaluation.
EXACT: dict[str, Promise] = {
    "appointment cancelled by staff": _("appointment cancelled by staff"),
    "appointment marked as no-show by staff": _("appointment marked as no-show by staff"),
    "appointment cancelled": _("appointment cancelled"),
    "stale: the appointment has started": _("too late: the appointment has started"),
    "processing restricted (GDPR Art. 18)": _("processing restricted (GDPR Art. 18)"),
    "restriction lifted (GDPR Art. 18)": _("restriction lifted (GDPR Art. 18)"),
    "no consent for this channel": _("no consent for this channel"),
    "no usable recipient": _("no usable number or address"),
    "sending window closed until the start": _("sending window closed until the appointment starts"),
    "outside the sending window": _("outside the sending window"),
    "monthly SMS budget spent": _("monthly SMS budget spent"),
    "gateway failing (circuit breaker open)": _("gateway failing (sending paused)"),
    "held for staff (unknown outcome)": _("held for staff (outcome unknown)"),
    "attempts exhausted after unknown outcome": _("no attempts left after an unknown outcome"),
    "resend after unknown outcome (possible duplicate)": _(
        "sent again after an unknown outcome (possibly twice)"
    ),
    "gateway misconfigured": _("gateway set up wrongly"),
    "released on shutdown": _("released when the worker stopped"),
    "lease expired before sending": _("claim expired before sending"),
    "DLR resolved unknown outcome": _("delivery report cleared up the unknown outcome"),
    "evaluation mode: monthly limit of real-gateway messages reached": _(
        "evaluation version: monthly limit of real messages reached"
    ),
    "licence entered: evaluation limit lifted": _("licence entered: evaluation limit lifted"),
    "occurrence no longer in the calendar": _("no longer in the calendar"),
    "cancelled in the calendar (STATUS:CANCELLED)": _("cancelled in the calendar"),
    "abgesagt per SMS-Antwort": _("cancelled by SMS reply"),
    "bestätigt per SMS-Antwort": _("confirmed by SMS reply"),
    "rule change: switched off": _("rule changed: switched off"),
    "rule change: covered again": _("rule changed: covered again"),
    "rule change: the rule no longer covers this appointment type": _(
        "rule changed: the rule no longer covers this appointment type"
    ),
}
#: ``consent withdrawn (<source>)``: who or what withdrew the consent.
WITHDRAWN_BY: dict[str, Promise] = {
    "staff": _("by staff"),
    "link": _("by the customer's link"),
    "reply": _("by SMS reply"),
    "form": _("by form"),
    "phone": _("by phone"),
    "booking": _("by booking"),
    "import": _("by import"),
}
_STATUS_WORDS: dict[str, Promise] = {
    "planned": _("planned"),
    "queued": _("queued"),
    "retry_wait": _("waiting to retry"),
    "held": _("held for staff"),
}
_CHANNELS: dict[str, Promise] = {"sms": _("SMS"), "email": _("e-mail")}


def _withdrawn(m: re.Match[str]) -> str:
    source = m["source"]
    return gettext("consent withdrawn (%(source)s)") % {"source": str(WITHDRAWN_BY.get(source, source))}


def _by_staff(m: re.Match[str]) -> str:
    texts = {
        "held": gettext("held by staff (user %(id)s)"),
        "released": gettext("released by staff (user %(id)s)"),
        "resend": gettext("sent again by staff (user %(id)s)"),
    }
    return texts[m["what"]] % {"id": m["id"]}


def _failed(m: re.Match[str]) -> str:
    if m["what"] == "permanent error":
        return gettext("permanent error: %(code)s") % {"code": m["code"]}
    return gettext("no attempts left: %(code)s") % {"code": m["code"]}


def _dlr(m: re.Match[str]) -> str:
    return gettext("delivery report: %(status)s") % {"status": m["status"]}


def _was(m: re.Match[str]) -> str:
    reason = m["reason"]
    if sent_by := re.fullmatch(r"the rule now sends by (\w+)", reason):
        channel = sent_by[1]
        label = gettext("rule changed: now sent by %(channel)s") % {
            "channel": str(_CHANNELS.get(channel, channel))
        }
    else:
        label = str(EXACT.get(f"rule change: {reason}", reason))
    status = m["status"]
    return gettext("%(label)s (was: %(status)s)") % {
        "label": label,
        "status": str(_STATUS_WORDS.get(status, status)),
    }


def _replanned(m: re.Match[str]) -> str:
    parts = []
    for part in m["parts"].split(", "):
        if part == "text":
            parts.append(gettext("new text"))
        elif due := re.fullmatch(r"due (\d{4}-\d\d-\d\dT\d\d:\d\d)Z", part):
            at = dt.datetime.fromisoformat(due[1]).replace(tzinfo=dt.UTC)
            at = timezone.localtime(at)
            parts.append(gettext("now due %(at)s") % {"at": when(at, "weekday_day_month_time")})
        else:
            parts.append(part)
    return gettext("rule changed: planned again (%(changes)s)") % {"changes": ", ".join(parts)}


PATTERNS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (re.compile(r"consent withdrawn \((?P<source>\w+)\)"), _withdrawn),
    (re.compile(r"(?P<what>held|released|resend) by staff \(user (?P<id>\d+)\)"), _by_staff),
    (re.compile(r"(?P<what>permanent error|attempts exhausted): (?P<code>\S+)"), _failed),
    (re.compile(r"DLR (?P<status>.+)"), _dlr),
    (re.compile(r"rule change: (?P<reason>.+) \(was (?P<status>\w+)\)"), _was),
    (re.compile(r"rule change: re-planned \((?P<parts>.*)\)"), _replanned),
)


def note_label(note: str) -> str:
    """The stored ``note`` of a status change in the active language ("consent withdrawn (staff)" →
    "Einwilligung widerrufen (vom Team)"); unknown notes unchanged."""
    if label := EXACT.get(note):
        return str(label)
    for pattern, label_of in PATTERNS:
        if match := pattern.fullmatch(note):
            return label_of(match)
    return note
