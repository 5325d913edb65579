"""CLI texts for people: German reasons, number kinds and counts, a readable access export."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command

from alphasms.cli import translate
from alphasms.cli_text import tn, use_language
from alphasms.messaging.models import MessageStatus, OutboundMessage
from tests.conftest import make_appointment, make_customer, make_rule


def run(language: str, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    with use_language(language):
        try:
            call_command(*translate(list(args)), stdout=out)
        except SystemExit as exc:
            return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


@pytest.mark.django_db
def test_sms_info_smart_gives_the_reasons_in_german_and_keeps_json_english():
    _, german = run("de", "sms", "info", "Termin – bitte „pünktlich“", "--smart")
    assert "(typografischer Gedanken- oder Bindestrich oder Minuszeichen)" in german
    assert "(typografisches doppeltes Anführungszeichen, Guillemet oder Sekundenzeichen)" in german
    assert "typographic" not in german
    _, english = run("en", "sms", "info", "Termin – bitte", "--smart")
    assert "(typographic dash or minus sign)" in english
    _, raw = run("de", "sms", "info", "Termin – bitte", "--smart", "--json")
    assert json.loads(raw)["replacements"][0]["reason"] == "typographic dash or minus sign"


def test_phone_normalize_names_the_kind_of_number_for_people():
    _, landline = run("de", "phone", "normalize", "030 1234567")
    assert landline.splitlines()[0] == "+49301234567  Festnetznummer  keine SMS"
    assert "Keine Mobilnummer – an diese Nummer wird keine SMS geschickt." in landline
    code, garbage = run("de", "phone", "normalize", "keine Nummer")
    assert code == 1 and garbage.splitlines()[0] == "–  keine gültige Nummer  keine SMS"
    _, mobile = run("en", "phone", "normalize", "0151 12345678")
    assert mobile.splitlines()[0] == "+4915112345678  mobile number  SMS possible"
    _, raw = run("de", "phone", "normalize", "030 1234567", "--json")
    assert json.loads(raw)["type"] == "FIXED_LINE"


def test_counts_take_the_singular_for_one():
    with use_language("de"):
        assert tn(
            1, ("{count} Nachricht", "{count} Nachrichten"), ("{count} message", "{count} messages")
        ) == ("1 Nachricht")
        assert tn(0, ("{count} Nachricht", "{count} Nachrichten"), ("x", "y")) == "0 Nachrichten"
    with use_language("en"):
        assert tn(2, ("a", "b"), ("{count} message", "{count} messages")) == "2 messages"


@pytest.mark.django_db
def test_the_text_export_shows_local_times_and_status_names(alphasms_settings, location):
    customer = make_customer("1001")
    start = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    appointment = make_appointment(location, customer, start)
    rule = make_rule()
    OutboundMessage.objects.create(
        appointment=appointment,
        rule=rule,
        channel="sms",
        customer=customer,
        recipient=customer.mobile_e164,
        body="Hallo",
        occurrence_start_at=start,
        due_at=start - dt.timedelta(days=1),
        next_attempt_at=start - dt.timedelta(days=1),
        status=MessageStatus.PLANNED,
        status_changed_at=start - dt.timedelta(days=1),
    )
    _, german = run("de", "privacy", "export", "--customer", "1001")
    assert "Status: geplant" in german and "Status: planned" not in german
    assert "30.11.2026, 10:00:00" in german  # the appointment, 09:00 UTC, in Berlin time
    assert "2026-11-30T09:00:00Z" not in german
    assert "Zeiten in Ortszeit (Europe/Berlin)" in german
    _, english = run("en", "privacy", "export", "--customer", "1001")
    assert "Nov 30, 2026, 10:00:00" in english and "status: planned" in english
    _, raw = run("de", "privacy", "export", "--customer", "1001", "--json")
    data = json.loads(raw)
    assert data["records"]["messaging.outboundmessage"][0]["status"] == "planned"
    assert data["records"]["appointments.appointment"][0]["start_at"] == "2026-11-30T09:00:00Z"
