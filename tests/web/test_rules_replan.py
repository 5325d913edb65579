"""Saving a rule in the editor re-plans its reminders not yet handed to a provider, says so on screen,
and a rule switched off there cancels them; sent ones stay as they are."""

from __future__ import annotations

import datetime as dt

import pytest

from alphasms.appointments.models import ReminderRule
from alphasms.appointments.services.planning import plan
from alphasms.messaging.models import MessageStatus, OutboundMessage, StatusEvent
from alphasms.web.roles import Role
from tests.conftest import make_appointment, make_customer, make_rule
from tests.web.test_rules import _form

UTC = dt.UTC
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
START = dt.datetime(2026, 12, 4, 13, 30, tzinfo=UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture
def two(alphasms_settings, location, time_machine):
    """A rule with a planned and a sent message, the clock at NOW."""
    time_machine.move_to(NOW, tick=False)
    rule = make_rule(name="SMS am Vortag")
    make_appointment(location, make_customer(number="a"), START)
    make_appointment(location, make_customer(number="b", given="Ute"), START + dt.timedelta(hours=1))
    plan(NOW)
    planned, sent = OutboundMessage.objects.order_by("occurrence_start_at")
    OutboundMessage.objects.filter(pk=sent.pk).update(status=MessageStatus.SENT)
    return rule, planned, sent


def test_the_editor_says_that_saving_applies_to_reminders_not_yet_sent(two, web_client):
    rule, *_ = two
    english = web_client(Role.OWNER, headers={"accept-language": "en"}).get(f"/rules/{rule.pk}/")
    assert (
        "Saving applies the rule to every reminder not yet handed to a provider" in english.content.decode()
    )
    german = web_client(Role.OWNER, headers={"accept-language": "de"}).get(f"/rules/{rule.pk}/")
    text = german.content.decode()
    assert "Beim Speichern gilt die Regel für jede Erinnerung, die noch keinem Anbieter übergeben ist" in text
    assert "keep their text" not in text and "behalten ihren Text" not in text


def test_saving_a_new_text_and_lead_time_replans_pending_reminders(two, web_client):
    rule, planned, sent = two
    owner = web_client(Role.OWNER, headers={"accept-language": "de"})
    response = owner.post(
        f"/rules/{rule.pk}/", _form(body_template="Neu: {given_name}, {date} {time}.", offset_hours="48")
    )
    assert response.status_code == 302
    planned.refresh_from_db()
    assert planned.body == "Neu: Jörg, Fr., 4. Dez. 2026 14:30 Uhr."
    assert planned.due_at == START - dt.timedelta(hours=48)
    assert planned.status == MessageStatus.PLANNED
    sent_body = sent.body
    sent.refresh_from_db()
    assert (sent.status, sent.body) == (MessageStatus.SENT, sent_body)
    page = owner.get("/rules/").content.decode()
    assert "Noch nicht gesendete Erinnerungen folgen jetzt der Regel: 1 geändert, 0 storniert" in page


def test_switching_a_rule_off_in_the_editor_cancels_its_pending_reminders(two, web_client):
    rule, planned, sent = two
    owner = web_client(Role.OWNER, headers={"accept-language": "en"})
    assert owner.post(f"/rules/{rule.pk}/", _form(active="")).status_code == 302
    planned.refresh_from_db()
    assert planned.status == MessageStatus.CANCELLED
    event = StatusEvent.objects.filter(message=planned).last()
    assert (event.status, event.note) == ("cancelled", "rule change: switched off (was planned)")
    sent.refresh_from_db()
    assert sent.status == MessageStatus.SENT
    assert "1 cancelled" in owner.get("/rules/").content.decode()
    assert ReminderRule.objects.get().active is False


def test_an_invalid_form_changes_no_reminder(two, web_client):
    rule, planned, _ = two
    owner = web_client(Role.OWNER)
    response = owner.post(f"/rules/{rule.pk}/", _form(body_template="Hallo {vorname}", active=""))
    assert response.status_code == 400
    planned.refresh_from_db()
    assert planned.status == MessageStatus.PLANNED and planned.body.startswith("Hallo Jörg")
