"""The rules page counts each rule's pending messages from a partial index alone (PostgreSQL: an
index-only scan of the pending rows, not of every message ever sent)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alphasms.appointments.models import Channel
from alphasms.appointments.services.planning import plan
from alphasms.messaging.models import MessageStatus, OutboundMessage
from alphasms.web.services.rules import rule_rows
from tests.conftest import make_appointment, make_customer, make_rule

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def test_pending_counts_per_rule(alphasms_settings, location):
    sms, email = make_rule(Channel.SMS), make_rule(Channel.EMAIL, offset_s=48 * 3600)
    for hour in range(3):
        make_appointment(location, make_customer(number=f"p{hour}"), NOW + dt.timedelta(days=3, hours=hour))
    plan(NOW)
    OutboundMessage.objects.filter(rule=email).update(status=MessageStatus.SENT)
    OutboundMessage.objects.filter(rule=sms).order_by("pk").filter(
        pk=OutboundMessage.objects.filter(rule=sms).order_by("pk").values("pk")[:1]
    ).update(status=MessageStatus.HELD)
    with CaptureQueriesContext(connection) as captured:
        counts = {row.rule.pk: row.pending for row in rule_rows()}
    assert counts == {sms.pk: 3, email.pk: 0}
    if connection.vendor == "postgresql":
        sql = next(q["sql"] for q in captured.captured_queries if "GROUP BY" in q["sql"])
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table: make the planner show its choice
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute("EXPLAIN " + sql)
            explained = "\n".join(row[0] for row in cursor.fetchall())
        assert "Index Only Scan using message_pending_rule_idx" in explained
