"""Staff handling personal data in the admin is audited; deleting a customer is the full erasure;
consent is withdrawn by an action that cancels pending messages; owners read the audit log."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from alphasms.appointments.models import Customer
from alphasms.appointments.services.planning import plan
from alphasms.messaging.models import MessageStatus, OutboundMessage
from alphasms.privacy.audit import verify_chain
from alphasms.privacy.models import AuditEntry, Consent, PrivacyLedger
from tests.conftest import make_appointment, make_customer, make_rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(alphasms_settings):
    user = get_user_model().objects.create_superuser("owner", "", "pw")
    client = Client(enforce_csrf_checks=False)
    client.force_login(user)
    client.user_pk = user.pk  # type: ignore[attr-defined]
    return client


@pytest.fixture
def planned_customer(location):
    customer = make_customer()
    make_rule()
    make_appointment(location, customer, dt.datetime.now(dt.UTC) + dt.timedelta(days=3))
    plan()
    return customer


def test_opening_a_customer_is_audited_with_ids_only(owner_client, planned_customer):
    owner_client.get(reverse("admin:appointments_customer_change", args=[planned_customer.pk]))
    entry = AuditEntry.objects.get(action="view")
    assert (entry.actor, entry.object_type, entry.object_id) == (
        f"staff:{owner_client.user_pk}",
        "customer",
        str(planned_customer.pk),
    )
    assert "Bäcker" not in entry.detail and "owner" not in entry.actor


def test_deleting_a_customer_in_the_admin_erases_them(owner_client, planned_customer):
    url = reverse("admin:appointments_customer_delete", args=[planned_customer.pk])
    owner_client.post(url, {"post": "yes"})
    assert not Customer.objects.filter(pk=planned_customer.pk).exists()
    assert OutboundMessage.objects.count() == 0
    assert PrivacyLedger.objects.get().kind == "erase"
    assert AuditEntry.objects.filter(action="erase").count() == 1
    assert verify_chain() is None


def test_withdrawing_consent_in_the_admin_cancels_pending_messages(owner_client, planned_customer):
    consent = Consent.objects.get(customer=planned_customer, channel="sms")
    owner_client.post(
        reverse("admin:privacy_consent_changelist"),
        {"action": "withdraw_consent", "_selected_action": [consent.pk]},
    )
    consent.refresh_from_db()
    assert consent.opted_out_at is not None and consent.opted_out_source == "staff"
    assert OutboundMessage.objects.get().status == MessageStatus.CANCELLED
    assert AuditEntry.objects.filter(action="withdraw", object_id=str(consent.pk)).exists()


def test_restricting_in_the_admin_is_visible_and_cancels(owner_client, planned_customer):
    owner_client.post(
        reverse("admin:appointments_customer_changelist"),
        {"action": "restrict_processing", "_selected_action": [planned_customer.pk]},
    )
    planned_customer.refresh_from_db()
    assert planned_customer.restricted_at is not None
    assert OutboundMessage.objects.get().status == MessageStatus.CANCELLED
    page = owner_client.get(reverse("admin:appointments_customer_changelist")).content.decode()
    assert "Eingeschränkt (Art. 18)" in page


def test_only_owners_read_the_audit_log_and_can_export_it(owner_client, planned_customer):
    owner_client.get(reverse("admin:appointments_customer_change", args=[planned_customer.pk]))
    response = owner_client.post(
        reverse("admin:privacy_auditentry_changelist"),
        {"action": "export_csv", "_selected_action": list(AuditEntry.objects.values_list("pk", flat=True))},
    )
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("id,at_utc,actor,action")
    assert any(",view,customer," in line for line in lines[1:])
    staff = get_user_model().objects.create_user("staff", "", "pw", is_staff=True)
    client = Client()
    client.force_login(staff)
    assert client.get(reverse("admin:privacy_auditentry_changelist")).status_code == 403
