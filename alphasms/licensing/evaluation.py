"""Evaluation mode: without a valid licence, real gateways send at most N messages a calendar month.

Everything else works unchanged. *Metered* sends are SMS through any gateway except ``outbox`` (which
only writes files) and e-mail through any provider except the local mail sink (``ALPHASMS_MAIL_SINK``
with the SMTP backend). ``fake`` counts as real: it stands in for a provider in tests. The limit is
``ALPHASMS_EVALUATION_MONTHLY_LIMIT`` (default 50); the month is the calendar month in the installation's
time zone (``ALPHASMS_TIME_ZONE``).

The dispatch worker asks :func:`reserve_send` before each provider call: a slot is taken atomically
(one conditional UPDATE, so any number of workers never exceed the limit) and given back by
:func:`release_send` when the call surely did not send. A message over the limit is never dropped:
:func:`defer_over_limit` moves it to the first instant of next month with a staff sentence, and
entering a licence (:func:`alphasms.licensing.licence.set_licence`) makes it due at once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from alphasms.appointments.models import Channel
from alphasms.cli_text import t
from alphasms.conf import app_settings
from alphasms.licensing.licence import LicenceInfo, current_licence
from alphasms.licensing.models import EvaluationUsage

log = logging.getLogger("alphasms.licensing")

UNMETERED_SMS_GATEWAYS = frozenset({"outbox"})
ERROR_CODE = "evaluation_limit"


def is_metered(channel: str, gateway_slug: str) -> bool:
    """Whether a send through ``gateway_slug`` on ``channel`` counts against the evaluation limit."""
    if channel == Channel.SMS:
        return gateway_slug not in UNMETERED_SMS_GATEWAYS
    return not (gateway_slug == "smtp" and app_settings.MAIL_SINK)


def month_of(now: dt.datetime) -> dt.date:
    """The first day of ``now``'s calendar month in the installation's time zone."""
    return timezone.localtime(now).date().replace(day=1)


def next_month_start(now: dt.datetime) -> dt.datetime:
    """The first instant (UTC) of the calendar month after ``now``'s, in the installation's time zone."""
    first = month_of(now)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    zone = timezone.get_current_timezone()
    return dt.datetime(following.year, following.month, 1, tzinfo=zone).astimezone(dt.UTC)


def sent_in_month(now: dt.datetime) -> int:
    """Metered sends counted in ``now``'s month (0 when none)."""
    row = EvaluationUsage.objects.filter(month=month_of(now)).first()
    return row.sent if row else 0


@dataclasses.dataclass(frozen=True)
class Slot:
    """A permission to send once. ``counted`` is True when it took one of the month's evaluation
    messages (``month``); a licensed or unmetered send takes none."""

    counted: bool
    month: dt.date | None = None


def reserve_send(channel: str, gateway_slug: str, now: dt.datetime) -> Slot | None:
    """Take a slot for one provider call, or None when the evaluation limit of ``now``'s month is
    reached (the caller must then :func:`defer_over_limit`). Licensed installations and unmetered
    gateways always get an uncounted slot."""
    if not is_metered(channel, gateway_slug) or current_licence(timezone.localtime(now).date()).licensed:
        return Slot(counted=False)
    month = month_of(now)
    with transaction.atomic():
        EvaluationUsage.objects.get_or_create(month=month)
        taken = EvaluationUsage.objects.filter(
            month=month, sent__lt=app_settings.EVALUATION_MONTHLY_LIMIT
        ).update(sent=F("sent") + 1)
    return Slot(counted=True, month=month) if taken else None


def release_send(slot: Slot) -> None:
    """Give back a counted slot whose provider call surely did not send (refused, misconfigured)."""
    if slot.counted and slot.month is not None:
        EvaluationUsage.objects.filter(month=slot.month, sent__gt=0).update(sent=F("sent") - 1)


def staff_sentence(limit: int | None = None) -> str:
    """What staff read on a message the limit deferred (German: the staff language of messages)."""
    limit = app_settings.EVALUATION_MONTHLY_LIMIT if limit is None else limit
    return (
        f"Testmodus ohne Lizenz: die {limit} Nachrichten dieses Monats über echte Gateways sind "
        "verbraucht. Die Nachricht wartet bis zum Monatsanfang oder bis eine Lizenz eingegeben ist "
        "(Einstellungen oder „alphasms licence set“)."
    )


def defer_over_limit(message: Any, now: dt.datetime) -> str:
    """Defer a claimed message the evaluation limit stopped: ``retry_wait`` until the next month
    starts, with :func:`staff_sentence`; no attempt is recorded (nothing left the machine). Returns the
    outcome key ``evaluation_limit`` for the worker's stats."""
    from alphasms.messaging.models import MessageStatus
    from alphasms.messaging.services.lifecycle import set_status

    set_status(
        message,
        MessageStatus.RETRY_WAIT,
        note="evaluation mode: monthly limit of real-gateway messages reached",
        at=now,
        next_attempt_at=next_month_start(now),
        lease_until=None,
        error_code=ERROR_CODE,
        user_message=staff_sentence(),
    )
    log.warning("evaluation limit reached: message=%s deferred to next month", message.pk)
    return ERROR_CODE


def release_deferred(now: dt.datetime) -> int:
    """Make every message the evaluation limit deferred due at ``now`` (a licence was entered).
    Returns the count; each message's history records why."""
    from alphasms.messaging.models import MessageStatus, OutboundMessage
    from alphasms.messaging.services.lifecycle import set_status

    count = 0
    for message in OutboundMessage.objects.filter(status=MessageStatus.RETRY_WAIT, error_code=ERROR_CODE):
        set_status(
            message,
            MessageStatus.RETRY_WAIT,
            note="licence entered: evaluation limit lifted",
            at=now,
            next_attempt_at=now,
            error_code="",
            user_message="",
        )
        count += 1
    return count


@dataclasses.dataclass(frozen=True)
class LicenceStatus:
    """What the settings page and ``alphasms licence show`` say.

    ``mode`` is ``licensed`` or ``evaluation``; ``reason`` is ``licensed``, ``none`` (no licence entered),
    ``expired`` or ``invalid``. In evaluation mode ``monthly_limit``/``sent_this_month``/``remaining``
    count metered messages of the current month (``month``: its first day, local time zone).
    """

    mode: str
    reason: str
    licence: LicenceInfo | None
    monthly_limit: int
    sent_this_month: int
    remaining: int
    month: dt.date
    locations_in_use: int

    @property
    def sentence_de(self) -> str:
        return self._sentence()[0]

    @property
    def sentence_en(self) -> str:
        return self._sentence()[1]

    @property
    def sentence(self) -> str:
        """The plain sentence in the CLI language."""
        return t(*self._sentence())

    def _sentence(self) -> tuple[str, str]:
        if self.mode == "licensed" and self.licence is not None:
            lic = self.licence
            return (
                f"Lizenziert für „{lic.registration_name}“ (Edition {lic.edition}, {lic.locations} "
                f"Standort(e), gültig bis {lic.expires.isoformat()}).",
                f"Licensed to '{lic.registration_name}' (edition {lic.edition}, {lic.locations} "
                f"location(s), valid until {lic.expires.isoformat()}).",
            )
        why_de, why_en = {
            "none": ("Keine Lizenz eingegeben", "No licence entered"),
            "expired": (
                f"Die Lizenz ist am {self.licence.expires.isoformat() if self.licence else '?'} abgelaufen",
                f"The licence expired on {self.licence.expires.isoformat() if self.licence else '?'}",
            ),
            "invalid": (
                "Die gespeicherte Lizenz ist nicht (mehr) gültig",
                "The stored licence is not valid (any more)",
            ),
        }[self.reason]
        return (
            f"TESTMODUS: {why_de}. Alles funktioniert, aber echte Gateways senden höchstens "
            f"{self.monthly_limit} Nachrichten im Monat; diesen Monat noch {self.remaining} "
            f"({self.sent_this_month} gesendet). Das Outbox-Gateway ist unbegrenzt. Lizenz eingeben: "
            "Einstellungen oder „alphasms licence set --name NAME --number NUMMER“.",
            f"EVALUATION MODE: {why_en}. Everything works, but real gateways send at most "
            f"{self.monthly_limit} messages a month; {self.remaining} left this month "
            f"({self.sent_this_month} sent). The outbox gateway is unlimited. Enter a licence: settings or "
            "'alphasms licence set --name NAME --number NUMBER'.",
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (``alphasms licence show --json``); the licence number is not included."""
        lic = self.licence
        return {
            "mode": self.mode,
            "reason": self.reason,
            "registration_name": lic.registration_name if lic else "",
            "edition": lic.edition if lic else "",
            "locations": lic.locations if lic else None,
            "locations_in_use": self.locations_in_use,
            "expires": lic.expires.isoformat() if lic else None,
            "serial": lic.serial if lic else None,
            "month": self.month.isoformat(),
            "monthly_limit": None if self.mode == "licensed" else self.monthly_limit,
            "sent_this_month": None if self.mode == "licensed" else self.sent_this_month,
            "remaining_this_month": None if self.mode == "licensed" else self.remaining,
        }


def licence_status(now: dt.datetime | None = None) -> LicenceStatus:
    """The licence in force and, without one, this month's evaluation allowance (settings page, CLI)."""
    from alphasms.appointments.models import Location

    now = now or timezone.now()
    state = current_licence(timezone.localtime(now).date())
    limit = app_settings.EVALUATION_MONTHLY_LIMIT
    sent = sent_in_month(now)
    return LicenceStatus(
        mode="licensed" if state.licensed else "evaluation",
        reason="licensed" if state.licensed else state.state,
        licence=state.info,
        monthly_limit=limit,
        sent_this_month=sent,
        remaining=max(0, limit - sent),
        month=month_of(now),
        locations_in_use=Location.objects.count(),
    )
