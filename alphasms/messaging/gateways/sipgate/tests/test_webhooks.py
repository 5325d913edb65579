"""sipgate sends no SMS webhooks: the real view refuses every report for it and stores nothing."""

from __future__ import annotations

import json

import pytest
from django.test import Client, RequestFactory

from alphasms.messaging.gateways import errors
from alphasms.messaging.gateways.sipgate.gateway import SipgateGateway
from alphasms.messaging.models import DeliveryReport, InboundMessage

REPORT = json.dumps({"status": "delivered", "reference": "0b7c5d2e-8a41-4c1e-9f3b-2a6d1e4f5a60"})


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/hooks/sipgate/dlr/", "/hooks/sipgate/mo/"])
def test_the_view_refuses_any_report_and_stores_nothing(path):
    response = Client(enforce_csrf_checks=True).post(path, REPORT, content_type="application/json")

    assert response.status_code == 404
    assert DeliveryReport.objects.count() == 0 and InboundMessage.objects.count() == 0


def test_no_request_can_be_verified():
    request = RequestFactory().post("/hooks/sipgate/dlr/", REPORT, content_type="application/json")

    with pytest.raises(errors.WebhookForged):
        SipgateGateway().verify_webhook(request)
