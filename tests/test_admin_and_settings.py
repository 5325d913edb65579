"""The admin (German, every model's pages render) and the database engine selected by DATABASE_URL."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import reverse

from alphasms.appointments.services.planning import plan
from alphasms.appointments.services.sample import ensure_sample_data
from alphasms.messaging.models import OutboundMessage

pytestmark = pytest.mark.django_db


def test_the_engine_is_the_one_database_url_names():
    expected = "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    assert connection.vendor == expected


def test_sample_data_is_created_once_and_plans_reminders(alphasms_settings):
    now = dt.datetime(2026, 12, 1, 7, 0, tzinfo=dt.UTC)
    assert ensure_sample_data(now) == "praxis"
    assert ensure_sample_data(now) is None
    plan(now)
    assert OutboundMessage.objects.filter(channel="sms").count() == 3
    assert OutboundMessage.objects.filter(channel="email").count() == 2  # one customer has no address


@pytest.fixture
def admin_client_de(alphasms_settings):
    ensure_sample_data()
    plan()
    client = Client(headers={"Accept-Language": "de"})
    client.force_login(get_user_model().objects.get(username="praxis"))
    return client


@pytest.mark.parametrize(
    "model",
    [
        "appointments/customer",
        "appointments/appointment",
        "appointments/location",
        "appointments/reminderrule",
        "appointments/calendarsubscription",
        "appointments/unmatchedevent",
        "appointments/appointmenttype",
        "messaging/outboundmessage",
        "messaging/deliveryreport",
        "privacy/consent",
    ],
)
def test_every_admin_list_renders_in_german(admin_client_de, model):
    response = admin_client_de.get(f"/admin/{model}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "AlphaSMS" in page and "Abmelden" in page  # our title, Django's German catalogue
    assert "Created at" not in page and "Updated at" not in page


def test_a_message_page_shows_its_history_and_cannot_be_edited(admin_client_de):
    message = OutboundMessage.objects.first()
    assert message is not None
    url = reverse("admin:messaging_outboundmessage_change", args=[message.pk])
    response = admin_client_de.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "geplant" in page and "Verlauf" in page
    assert 'name="status"' not in page  # read-only: statuses change only through the lifecycle
    admin_client_de.post(url, {"status": "sent"})
    message.refresh_from_db()
    assert message.status == "planned"
    assert admin_client_de.get(reverse("admin:messaging_outboundmessage_add")).status_code == 403


def test_the_start_page_leads_to_the_staff_web_app_sign_in(client):
    response = client.get("/")
    assert (response.status_code, response["Location"]) == (302, "/login/?next=%2F")


def test_the_rule_page_shows_the_template_check(admin_client_de):
    from alphasms.appointments.models import ReminderRule

    rule = ReminderRule.objects.get(channel="sms")
    rule.body_template = "Ihre Physiotherapie am {date} um {time} – bis dann!"
    rule.smart_encoding = False
    rule.save()
    page = admin_client_de.get(
        reverse("admin:appointments_reminderrule_change", args=[rule.pk])
    ).content.decode()
    assert "Längste realistische Fassung: UCS-2" in page
    assert "Physiotherapie" in page
