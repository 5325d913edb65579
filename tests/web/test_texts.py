"""German and English texts of the web app: history notes, dates per language, the gateway test's
sentences, the update preview, the admin's app names and counted messages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template import Context, Template
from django.test import Client
from django.utils import timezone, translation

from alphasms.appointments.models import Channel
from alphasms.messaging.models import MessageStatus, OutboundMessage
from alphasms.messaging.services.lifecycle import cancel_pending
from alphasms.privacy.services import withdraw
from alphasms.testing.web import make_web_user, sign_in
from alphasms.web import dates
from alphasms.web.notes import note_label
from alphasms.web.roles import Role
from tests.conftest import make_appointment, make_customer, make_rule

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2026, 11, 30, 10, 5, 7)


def _planned(location, start_at: dt.datetime) -> OutboundMessage:
    customer = make_customer()
    appointment = make_appointment(location, customer, start_at)
    rule = make_rule(Channel.SMS)
    due = start_at - dt.timedelta(days=1)
    return OutboundMessage.objects.create(
        appointment=appointment,
        rule=rule,
        channel=Channel.SMS,
        customer=customer,
        recipient=customer.mobile_e164,
        body="Hallo",
        occurrence_start_at=start_at,
        due_at=due,
        next_attempt_at=due,
        status=MessageStatus.PLANNED,
        status_changed_at=due,
    )


@pytest.mark.parametrize(
    ("note", "german", "english"),
    [
        ("appointment cancelled by staff", "Termin vom Team abgesagt", "appointment cancelled by staff"),
        ("consent withdrawn (staff)", "Einwilligung widerrufen (vom Team)", "consent withdrawn (by staff)"),
        (
            "consent withdrawn (reply)",
            "Einwilligung widerrufen (per SMS-Antwort)",
            "consent withdrawn (by SMS reply)",
        ),
        ("held by staff (user 7)", "vom Team angehalten (Benutzer 7)", "held by staff (user 7)"),
        (
            "permanent error: invalid_recipient",
            "dauerhafter Fehler: invalid_recipient",
            "permanent error: invalid_recipient",
        ),
        (
            "rule change: switched off (was planned)",
            "Regel geändert: ausgeschaltet (vorher: geplant)",
            "rule changed: switched off (was: planned)",
        ),
        (
            "rule change: the rule now sends by email (was queued)",
            "Regel geändert: jetzt per E-Mail (vorher: in Warteschlange)",
            "rule changed: now sent by e-mail (was: queued)",
        ),
        (
            "rule change: re-planned (text, due 2026-12-01T09:00Z)",
            "Regel geändert: neu geplant (neuer Text, jetzt fällig Di., 1. Dez., 10:00)",
            "rule changed: planned again (new text, now due Tue, Dec 1, 10:00)",
        ),
        ("abgesagt per SMS-Antwort", "abgesagt per SMS-Antwort", "cancelled by SMS reply"),
        ("worker-4711", "worker-4711", "worker-4711"),  # not a reason: shown as stored
    ],
)
def test_stored_history_notes_are_shown_in_the_active_language(note, german, english):
    with translation.override("de"):
        assert note_label(note) == german
    with translation.override("en"):
        assert note_label(note) == english


def test_the_appointment_and_message_pages_show_the_notes_translated_and_the_store_keeps_them(location):
    message = _planned(location, timezone.now() + dt.timedelta(days=3))
    cancel_pending(OutboundMessage.objects.filter(pk=message.pk), note="appointment cancelled by staff")
    owner = sign_in(Client(headers={"accept-language": "de"}), make_web_user(Role.OWNER))
    page = owner.get(f"/appointments/{message.appointment_id}/").content.decode()
    assert "storniert – Termin vom Team abgesagt" in page and "by staff" not in page
    detail = owner.get(f"/messages/{message.pk}/").content.decode()
    assert "Termin vom Team abgesagt" in detail
    assert message.events.get(status=MessageStatus.CANCELLED).note == "appointment cancelled by staff"


def test_a_withdrawn_consent_reads_german_in_the_message_history(location):
    message = _planned(location, timezone.now() + dt.timedelta(days=3))
    withdraw(message.customer, Channel.SMS, source="staff")
    owner = sign_in(Client(headers={"accept-language": "de"}), make_web_user(Role.OWNER))
    detail = owner.get(f"/messages/{message.pk}/").content.decode()
    assert "Einwilligung widerrufen (vom Team)" in detail and "consent withdrawn" not in detail


def test_dates_follow_the_language_not_the_german_order():
    assert dates.when(MONDAY, "full_date", "de") == "Montag, 30. November 2026"
    assert dates.when(MONDAY, "full_date", "en") == "Monday, November 30, 2026"
    assert dates.when(MONDAY, "weekday_day_month", "en") == "Mon, Nov 30"
    assert dates.when(MONDAY, "weekday_date_time", "de") == "Mo., 30. Nov. 2026, 10:05"
    assert dates.when(MONDAY, "weekday_date_time", "en") == "Mon, Nov 30, 2026, 10:05"
    assert dates.when(MONDAY, "date_time_seconds", "en") == "Nov 30, 2026, 10:05:07"
    assert dates.when(MONDAY.date(), "date_time", "de") == "30. Nov. 2026"  # a date has no time
    assert dates.when(None, "date", "de") == ""


def test_the_when_filter_shows_aware_times_in_the_current_zone():
    instant = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)  # 10:00 in Berlin
    template = Template('{% load web %}{{ at|when:"weekday_day_month_time" }}')
    with translation.override("en"), timezone.override("Europe/Berlin"):
        assert template.render(Context({"at": instant})) == "Tue, Dec 1, 10:00"
    with translation.override("de"), timezone.override("Europe/Berlin"):
        assert template.render(Context({"at": instant})) == "Di., 1. Dez., 10:00"


def test_the_english_appointment_page_writes_the_date_in_english_order(location):
    start = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    message = _planned(location, start)
    owner = sign_in(Client(headers={"accept-language": "en"}), make_web_user(Role.OWNER))
    page = owner.get(f"/appointments/{message.appointment_id}/").content.decode()
    assert "Monday, November 30, 2026" in page and "30. November" not in page


def test_the_update_preview_names_empty_fields(web_client):
    for language, expected in (("de", "(leer – Testversion)"), ("en", "(empty – evaluation version)")):
        owner = sign_in(Client(headers={"accept-language": language}), make_web_user(Role.OWNER))
        page = owner.get("/settings/licence/update/").content.decode()
        assert expected in page and "“”" not in page


def test_the_admin_names_third_party_apps_in_german():
    web_user = make_web_user(Role.OWNER)
    web_user.user.is_staff = web_user.user.is_superuser = True
    web_user.user.save()
    owner = sign_in(Client(headers={"accept-language": "de"}), web_user)
    page = owner.get("/admin/").content.decode()
    for name in ("Anmeldeschutz", "Zwei-Faktor-Anmeldung", "Authenticator-Apps", "Hintergrundaufgaben"):
        assert name in page
    for raw in ("Axes", "Otp_Totp", "TOTP devices", "Tasks Database Backend"):
        assert raw not in page


def test_counted_messages_use_the_singular_for_one(location):
    message = _planned(location, timezone.now() + dt.timedelta(days=3))
    owner = sign_in(Client(headers={"accept-language": "de"}), make_web_user(Role.OWNER))
    page = owner.post(f"/appointments/{message.appointment_id}/cancel/", follow=True).content.decode()
    assert "Termin abgesagt; 1 Erinnerung storniert." in page
    customer = make_customer("2002", mobile="+4915199999999")
    page = owner.post(f"/customers/{customer.pk}/withdraw/", {"channel": "sms"}, follow=True).content.decode()
    assert "Einwilligung widerrufen; 0 ausstehende Nachrichten storniert." in page
