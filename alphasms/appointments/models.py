"""Locations, customers, appointments, calendar sources and reminder rules.

Instants are stored in UTC (``*_at`` fields, aware datetimes); each location has an IANA time zone in
which all-day and floating calendar entries, sending windows and template dates are read.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from alphasms.appointments.folding import MAX_LENGTH as SEARCH_KEY_LENGTH
from alphasms.appointments.folding import name_key


def validate_time_zone(value: str) -> None:
    """Raise ValidationError unless ``value`` is an IANA time zone name such as "Europe/Berlin"."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(
            _("%(value)s ist keine IANA-Zeitzone (z. B. Europe/Berlin)."), params={"value": value}
        ) from exc


def validate_country(value: str) -> None:
    """Raise ValidationError unless ``value`` is an ISO 3166-1 alpha-2 code (capitals) that phonenumbers
    knows (``phonenumbers.SUPPORTED_REGIONS``: 245 regions, not "XX" or the non-geographic "001")."""
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError(
            _(
                "„%(value)s“ ist kein Ländercode: zwei Großbuchstaben nach ISO 3166-1 (alpha-2), "
                "z. B. DE, AT oder CH."
            ),
            params={"value": value},
            code="invalid_country",
        )


class Channel(models.TextChoices):
    """The two ways a reminder reaches a person."""

    SMS = "sms", _("SMS")
    EMAIL = "email", _("E-Mail")


class Location(models.Model):
    """A practice location: its name, IANA time zone and ISO 3166 country (for national numbers)."""

    name = models.CharField(_("Name"), max_length=200)
    time_zone = models.CharField(
        _("Zeitzone"), max_length=64, default="Europe/Berlin", validators=[validate_time_zone]
    )
    country = models.CharField(
        _("Land"),
        max_length=2,
        default="DE",
        help_text=_("ISO 3166, z. B. DE"),
        validators=[validate_country],
    )
    phone = models.CharField(_("Telefon der Praxis"), max_length=40, blank=True)
    # Millionths of ``budget_currency`` (1 € = 1,000,000): exact, like prices (messaging/money.py).
    monthly_sms_budget_micros = models.PositiveBigIntegerField(
        _("SMS-Budget pro Monat (Millionstel der Währung)"),
        null=True,
        blank=True,
        help_text=_("leer = unbegrenzt; ist es ausgeschöpft, geht die Erinnerung per E-Mail oder wartet"),
    )
    budget_currency = models.CharField(_("Währung des Budgets"), max_length=3, default="EUR")

    class Meta:
        verbose_name = _("Standort")
        verbose_name_plural = _("Standorte")

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        """The location's time zone as a ZoneInfo."""
        return zoneinfo.ZoneInfo(self.time_zone)


#: The fields ``Customer.search_key`` is derived from.
SEARCH_KEY_SOURCES = frozenset({"given_name", "family_name", "email"})


class CustomerQuerySet(models.QuerySet["Customer"]):
    """Customers; the bulk paths keep ``search_key`` in step as ``Customer.save`` does. ``update()``
    of a name or the e-mail cannot (SQL cannot fold): call ``refresh_search_keys`` afterwards."""

    def bulk_create(self, objs, *args, **kwargs):  # type: ignore[no-untyped-def]
        objs = list(objs)
        for customer in objs:
            customer.search_key = customer.compute_search_key()
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):  # type: ignore[no-untyped-def]
        objs, fields = list(objs), list(fields)
        if SEARCH_KEY_SOURCES & set(fields) and "search_key" not in fields:
            for customer in objs:
                customer.search_key = customer.compute_search_key()
            fields.append("search_key")
        return super().bulk_update(objs, fields, *args, **kwargs)

    def refresh_search_keys(self, batch_size: int = 2000) -> int:
        """Recompute ``search_key`` of these customers (after a raw insert or an ``update()`` of names
        or e-mails); returns how many changed. Reads and writes in batches of ``batch_size``."""
        changed = 0
        last = 0
        while True:
            batch = list(
                self.filter(pk__gt=last)
                .order_by("pk")
                .only("pk", "given_name", "family_name", "email", "search_key")[:batch_size]
            )
            if not batch:
                return changed
            last = batch[-1].pk
            stale = [c for c in batch if c.search_key != c.compute_search_key()]
            for customer in stale:
                customer.search_key = customer.compute_search_key()
            models.QuerySet.bulk_update(self.model._default_manager.all(), stale, ["search_key"])
            changed += len(stale)


class Customer(models.Model):
    """A data subject who may receive reminders.

    ``mobile_e164`` is normalised once at input by ``alphasms.messaging.phone.to_e164``; ``mobile_raw``
    keeps what was typed and ``mobile_flags`` the reasons staff should look at it. A restricted customer
    (GDPR Art. 18) is kept but never processed or messaged.
    """

    customer_number = models.CharField(_("Kundennummer"), max_length=64, blank=True, db_index=True)
    given_name = models.CharField(_("Vorname"), max_length=200, blank=True)
    family_name = models.CharField(_("Nachname"), max_length=200, blank=True)
    mobile_e164 = models.CharField(_("Mobilnummer (E.164)"), max_length=16, blank=True, db_index=True)
    mobile_raw = models.CharField(_("Mobilnummer (wie eingegeben)"), max_length=100, blank=True)
    mobile_sms_ok = models.BooleanField(_("SMS möglich"), default=False)
    mobile_flags = models.JSONField(_("Hinweise zur Nummer"), default=list, blank=True)
    email = models.CharField(_("E-Mail"), max_length=254, blank=True)
    language = models.CharField(_("Sprache"), max_length=8, default="de")
    country = models.CharField(_("Land"), max_length=2, blank=True)
    notes = models.TextField(_("Notizen"), blank=True)
    restricted_at = models.DateTimeField(_("Verarbeitung eingeschränkt seit"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)  # the planner's change marker
    # Names and e-mail folded for search (``folding.name_key``): case, accents and umlaut spelling do
    # not matter on SQLite or PostgreSQL. Derived on every save; PostgreSQL has a trigram index on it.
    search_key = models.CharField(max_length=SEARCH_KEY_LENGTH, blank=True, default="", editable=False)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("Kunde")
        verbose_name_plural = _("Kunden")
        constraints = [
            models.UniqueConstraint(
                fields=["customer_number"],
                condition=~models.Q(customer_number=""),
                name="customer_number_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name}".strip() or f"#{self.pk}"

    def save(self, *args: object, **kwargs: object) -> None:
        """Save with ``search_key`` derived from the names and e-mail; a save limited by
        ``update_fields`` to one of those writes the key too."""
        self.search_key = self.compute_search_key()
        fields = kwargs.get("update_fields")
        if fields is not None and SEARCH_KEY_SOURCES & set(fields):  # type: ignore[call-overload]
            kwargs["update_fields"] = {*fields, "search_key"}  # type: ignore[misc]
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def compute_search_key(self) -> str:
        """The ``search_key`` for the current names and e-mail (``folding.name_key``)."""
        return name_key(self.given_name, self.family_name, self.email)


class AppointmentType(models.Model):
    """A kind of appointment (e.g. "Lymphdrainage"); reminder rules select by it."""

    name = models.CharField(_("Name"), max_length=200, unique=True)

    class Meta:
        verbose_name = _("Terminart")
        verbose_name_plural = _("Terminarten")

    def __str__(self) -> str:
        return self.name


class AppointmentStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("geplant")
    CANCELLED = "cancelled", _("abgesagt")
    COMPLETED = "completed", _("erledigt")
    NO_SHOW = "no_show", _("nicht erschienen")


class AppointmentSource(models.TextChoices):
    MANUAL = "manual", _("von Hand")
    ICS = "ics", _("iCalendar")
    CSV = "csv", _("CSV")
    API = "api", _("API")


class Appointment(models.Model):
    """One appointment occurrence.

    Timed appointments have ``start_at``/``end_at`` (UTC). All-day entries have ``start_date``/``end_date``
    (``end_date`` exclusive, RFC 5545 §3.6.1) and ``start_at`` at local midnight in the location's zone so
    lists sort. Imported occurrences are identified by (``external_uid``, ``recurrence_id``): the same pair
    updates in place on re-import (RFC 5545 §3.8.4.4). ``confirmed_at`` (UTC) is set when the person
    confirmed by SMS reply (``alphasms.messaging.services.replies``).
    """

    location = models.ForeignKey(Location, on_delete=models.PROTECT, verbose_name=_("Standort"))
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, null=True, blank=True, verbose_name=_("Kunde")
    )
    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("Terminart")
    )
    summary = models.CharField(_("Titel"), max_length=500, blank=True)
    start_at = models.DateTimeField(_("Beginn (UTC)"), db_index=True)
    end_at = models.DateTimeField(_("Ende (UTC)"))
    all_day = models.BooleanField(_("ganztägig"), default=False)
    start_date = models.DateField(_("Datum"), null=True, blank=True)
    end_date = models.DateField(_("Enddatum (exklusiv)"), null=True, blank=True)
    status = models.CharField(
        _("Status"), max_length=16, choices=AppointmentStatus.choices, default=AppointmentStatus.SCHEDULED
    )
    confirmed_at = models.DateTimeField(
        _("bestätigt am (UTC)"),
        null=True,
        blank=True,
        help_text=_("gesetzt, wenn der Kunde die Erinnerung mit JA beantwortet hat"),
    )
    source = models.CharField(
        _("Quelle"), max_length=8, choices=AppointmentSource.choices, default=AppointmentSource.MANUAL
    )
    source_name = models.CharField(_("Quelldatei/URL"), max_length=500, blank=True)
    external_uid = models.CharField(_("UID"), max_length=500, blank=True)
    recurrence_id = models.CharField(_("RECURRENCE-ID"), max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)  # the planner's change marker

    class Meta:
        verbose_name = _("Termin")
        verbose_name_plural = _("Termine")
        ordering = ["start_at"]
        # A location's appointments in a date range (the day and week calendars, their counts per day).
        indexes = [models.Index(fields=["location", "start_at"], name="appointment_location_start_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["location", "external_uid", "recurrence_id"],
                condition=~models.Q(external_uid=""),
                name="appointment_occurrence_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.summary} {self.start_at:%Y-%m-%d %H:%M}Z"


class UnmatchedEvent(models.Model):
    """A calendar event or CSV row whose person could not be found; listed for staff, never guessed."""

    appointment = models.OneToOneField(Appointment, on_delete=models.CASCADE, related_name="unmatched")
    reason = models.CharField(_("Grund"), max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("Termin ohne Kunde")
        verbose_name_plural = _("Termine ohne Kunde")

    def __str__(self) -> str:
        return f"{self.appointment_id}: {self.reason}"


#: Shortest refresh interval of a calendar subscription, in seconds.
MIN_REFRESH_INTERVAL_S = 60


class CalendarSubscription(models.Model):
    """An iCalendar URL refreshed by the worker with conditional GET (RFC 9110 §13: ETag, Last-Modified).

    Validation (``full_clean``, as the admin runs it): the interval is at least
    ``MIN_REFRESH_INTERVAL_S``; the URL passes the private-address guard (DESIGN.md invariant 8) when it
    is saved, not only when it is first fetched. After failed refreshes the worker backs off
    (``services.subscriptions``); ``last_result`` and ``next_refresh_at`` show staff what happened.
    """

    name = models.CharField(_("Name"), max_length=200)
    url = models.URLField(_("URL"), max_length=1000)
    location = models.ForeignKey(Location, on_delete=models.CASCADE, verbose_name=_("Standort"))
    refresh_interval_s = models.PositiveIntegerField(
        _("Abrufintervall (Sekunden)"),
        default=900,
        validators=[
            MinValueValidator(
                MIN_REFRESH_INTERVAL_S,
                message=_("Das Abrufintervall muss mindestens %(limit_value)s Sekunden betragen."),
            )
        ],
    )
    etag = models.CharField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    next_refresh_at = models.DateTimeField(null=True, blank=True)
    last_sync_at = models.DateTimeField(_("Letzter Abruf"), null=True, blank=True)
    last_result = models.TextField(_("Ergebnis des letzten Abrufs"), blank=True)
    active = models.BooleanField(_("aktiv"), default=True)

    class Meta:
        verbose_name = _("Kalender-Abonnement")
        verbose_name_plural = _("Kalender-Abonnements")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Refuse a URL whose host is private, loopback or cannot be resolved (unless an admin allowed
        it with ALPHASMS_ALLOWED_PRIVATE_HOSTS): it would fail every refresh. The worker checks again
        at each fetch, because DNS answers change."""
        from alphasms.conf import app_settings
        from alphasms.messaging.gateways.http import BlockedAddress, check_public_url

        super().clean()
        if self.url:
            try:
                check_public_url(self.url, app_settings.ALLOWED_PRIVATE_HOSTS)
            except BlockedAddress as exc:
                raise ValidationError({"url": exc.user_message}) from exc


class UnknownOutcomePolicy(models.TextChoices):
    RESEND = "resend", _("erneut senden (markiert)")
    HOLD = "hold", _("für das Team zurückhalten")


# Longest template texts a rule accepts (characters of the template as typed, placeholders included).
# SMS 1,600: ten concatenated GSM-7 parts hold 10 × 153 = 1,530 septets (3GPP TS 23.040), and 1,600 is
# the longest body the large gateways take at all (Twilio's documented limit); a reminder above that is
# a mistake that costs ten or more parts per customer. E-mail 20,000: a long letter, far beyond any
# reminder. Subject 200: RFC 5322 recommends lines of at most 78 characters; mail clients show ~60.
# The caps also bound the work of the editor's live preview and lint (security review: ReDoS).
SMS_BODY_MAX_CHARS = 1_600
EMAIL_BODY_MAX_CHARS = 20_000
SUBJECT_MAX_CHARS = 200
#: The error of a template above its cap. An English msgid (unlike this module's German model labels):
#: the web app's catalog (``alphasms.web.i18n``, which reads ``alphasms/web`` only) holds it because
#: ``web/services/rules.py`` marks the same text (``TEMPLATE_TOO_LONG_MSGID``; a test keeps them equal),
#: so the admin, the rule editor and its preview show it in German and in English.
TEMPLATE_TOO_LONG = "%(field)s: %(length)s characters – at most %(cap)s allowed. Please shorten the text."


def template_length_errors(
    channel: str, templates: dict[str, str], labels: Mapping[str, object] | None = None
) -> dict[str, str]:
    """Field name → error for each template in ``templates`` (field name → text) longer than its cap:
    ``subject_template*`` ``SUBJECT_MAX_CHARS``, ``body_template*`` ``SMS_BODY_MAX_CHARS`` for
    ``channel`` "sms" else ``EMAIL_BODY_MAX_CHARS``. ``labels`` names the fields in the message
    (default: the model's verbose names). Empty when every text fits."""
    errors: dict[str, str] = {}
    for name, text in templates.items():
        if name.startswith("subject"):
            cap = SUBJECT_MAX_CHARS
        else:
            cap = SMS_BODY_MAX_CHARS if channel == Channel.SMS else EMAIL_BODY_MAX_CHARS
        if len(text) > cap:
            label = str(
                (labels or {}).get(name) or getattr(ReminderRule._meta.get_field(name), "verbose_name", name)
            )
            errors[name] = gettext(TEMPLATE_TOO_LONG) % {"field": label, "length": len(text), "cap": cap}
    return errors


class ReminderRule(models.Model):
    """When and how to remind: ``offset_s`` seconds before the start, on one channel, with a template.

    The sending window (``window_start``–``window_end``) is local time of the appointment's location; a
    due instant outside it moves to the nearest earlier time inside it. An empty set of appointment types
    means every type.
    """

    name = models.CharField(_("Name"), max_length=200)
    active = models.BooleanField(_("aktiv"), default=True)
    appointment_types = models.ManyToManyField(AppointmentType, blank=True, verbose_name=_("Terminarten"))
    offset_s = models.PositiveIntegerField(_("Vorlauf (Sekunden)"), default=24 * 3600)
    channel = models.CharField(_("Kanal"), max_length=8, choices=Channel.choices, default=Channel.SMS)
    subject_template = models.CharField(_("Betreff-Vorlage (E-Mail)"), max_length=300, blank=True)
    body_template = models.TextField(_("Text-Vorlage"))
    subject_template_en = models.CharField(_("Betreff-Vorlage Englisch (E-Mail)"), max_length=300, blank=True)
    body_template_en = models.TextField(
        _("Text-Vorlage Englisch"),
        blank=True,
        help_text=_("für Kunden mit Sprache Englisch; leer = alle bekommen den deutschen Text"),
    )
    window_start = models.TimeField(_("Versand frühestens"), default=dt.time(8, 0))
    window_end = models.TimeField(_("Versand spätestens"), default=dt.time(20, 0))
    attach_ics = models.BooleanField(_(".ics anhängen (E-Mail)"), default=False)
    smart_encoding = models.BooleanField(
        _("Typografische Zeichen ersetzen (SMS)"),
        default=False,
        help_text=_("„…“ – … und geschützte Leerzeichen werden zu GSM-Zeichen; Namen bleiben, wie sie sind"),
    )
    unknown_outcome_policy = models.CharField(
        _("Bei unklarem Versandergebnis"),
        max_length=8,
        choices=UnknownOutcomePolicy.choices,
        default=UnknownOutcomePolicy.RESEND,
    )

    class Meta:
        verbose_name = _("Erinnerungsregel")
        verbose_name_plural = _("Erinnerungsregeln")

    def __str__(self) -> str:
        return self.name

    def templates_for(self, language: str) -> tuple[str, str, str]:
        """(language, subject template, body template) for a customer's ``language``: English where the
        customer speaks it and the rule has an English text, else German — never a mixed text."""
        if language.lower().startswith("en") and self.body_template_en.strip():
            return "en", self.subject_template_en or self.subject_template, self.body_template_en
        return "de", self.subject_template, self.body_template

    def clean(self) -> None:
        """Reject templates longer than their cap (``template_length_errors``) and unknown placeholders
        at save time (see ``alphasms.messaging.templates``)."""
        from alphasms.messaging.templates import TemplateError, validate_template

        names = ("body_template", "subject_template", "body_template_en", "subject_template_en")
        too_long = template_length_errors(self.channel, {n: getattr(self, n) for n in names})
        if too_long:
            raise ValidationError(too_long)
        for name in names:
            try:
                validate_template(getattr(self, name))
            except TemplateError as exc:
                raise ValidationError({name: str(exc)}) from exc
        if self.window_start >= self.window_end:
            raise ValidationError(
                {"window_end": _("Das Ende des Versandfensters muss nach dem Beginn liegen.")}
            )


class PlanningState(models.Model):
    """The reminder planner's bookmark (one row, pk 1), so a worker cycle with nothing changed plans
    only what changed since the last run (``services.planning.plan``) instead of every appointment
    in the horizon.

    ``started_at`` is the wall-clock start (UTC) of the last completed run: appointments and customers
    whose ``updated_at`` is later (less a safety margin) are re-checked. ``planned_now`` and
    ``horizon_end`` are that run's ``now`` and ``now`` + horizon (UTC): appointments starting after
    ``horizon_end`` are new to the horizon. ``full_at`` is the start of the last full sweep;
    ``rules_key`` a fingerprint of the active rules (a change forces a full sweep).
    """

    started_at = models.DateTimeField()
    planned_now = models.DateTimeField()
    horizon_end = models.DateTimeField()
    full_at = models.DateTimeField()
    rules_key = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("Planungsstand")
        verbose_name_plural = _("Planungsstand")

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%dT%H:%M:%SZ}"
