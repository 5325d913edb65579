"""Benchmark data for PostgreSQL: customers, appointments and their reminders, written set-based.

``ensure_data(customers=100_000, appointments=1_000_000)`` fills an (empty or earlier benchmark) database
in a few minutes with ``INSERT … SELECT … FROM generate_series``: no Python loop per row. Proportions
follow a busy practice group (four locations, 240 days of appointments: 180 past, 60 ahead — the
retention and planning horizons):

* customers: 93 % with an SMS-capable mobile, 3 % a landline, 4 % no number; 60 % with an e-mail
  address; 5 % English; SMS consent for nearly all with a mobile, e-mail consent for two thirds of those
  with an address;
* appointments: 1 % without a customer (listed as unmatched); past ones mostly completed, some
  cancelled, no-show or left scheduled; 6 % of future ones cancelled;
* reminders: an SMS 24 h before for every customer with a usable mobile, an e-mail 48 h before for two
  thirds of those with an address; past ones delivered (90 %), sent, undeliverable, failed, expired,
  unknown or held; future ones planned; texts older than 90 days blanked (retention);
* one provider attempt per message that went out, delivery reports for the last 30 days (retention),
  a status event per change, replies to 5 % of delivered SMS (confirmations, STOP, questions — the
  recent questions unhandled: the inbox).

Values are derived from the row number with a multiplicative hash, so two runs produce the same data.
The benchmark marks its data with locations named ``Benchmark …``; ``ensure_data`` refuses to wipe a
database that holds other locations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, models, transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from alphasms.appointments.folding import SEPARATOR, name_part
from alphasms.appointments.models import (
    Appointment,
    AppointmentType,
    CalendarSubscription,
    Channel,
    Customer,
    Location,
    ReminderRule,
    UnmatchedEvent,
)
from alphasms.messaging.models import (
    DeliveryAttempt,
    DeliveryReport,
    InboundMessage,
    MonthlyUsage,
    OutboundMessage,
    SmsPrice,
    StatusEvent,
)
from alphasms.privacy.models import Consent
from alphasms.web.roles import Role

MARKER = "Benchmark"
OWNER = "bench-owner"
PAST_DAYS, FUTURE_DAYS = 180, 60
LOCATIONS = [
    ("Benchmark Praxis Mitte", "Europe/Berlin", "DE"),
    ("Benchmark Praxis Nord", "Europe/Berlin", "DE"),
    ("Benchmark Praxis Süd", "Europe/Berlin", "DE"),
    ("Benchmark Praxis Wien", "Europe/Vienna", "AT"),
]
TYPES = ["Physiotherapie", "Lymphdrainage", "Manuelle Therapie", "Krankengymnastik", "Erstgespräch"]
GIVEN = (
    "Anna Ben Clara David Emma Felix Greta Hannah Jonas Lena Lukas Mia Noah Paul Sophie Tim Ayşe Mehmet "
    "Zofia Jörg Emily Ole Frieda Karl"
).split()
FAMILY = (
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch Richter Klein Wolf "
    "Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange Öztürk Nowak Bäcker Clarke "
    "Yılmaz Kowalski Fuchs"
).split()

NAME_KEYS = [name_part(given, family) for given in GIVEN for family in FAMILY]


class NotBenchmarkData(Exception):
    """The database holds locations that the benchmark did not create: it refuses to wipe them."""


@dataclass(frozen=True)
class DataSummary:
    """What the benchmark database holds (row counts) and whether this run generated it."""

    generated: bool
    seconds: float
    counts: dict[str, int]


def _array(values: list[str]) -> str:
    return "ARRAY[" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _ts(value: dt.datetime) -> str:
    return f"'{value.isoformat()}'::timestamptz"


def insert_select(model: type[models.Model], values: dict[str, str], source: str) -> int:
    """``INSERT INTO <model's table> (…) SELECT … <source>``; returns the rows written.

    ``values`` maps column names to SQL expressions over ``source`` (a FROM clause with joins and WHERE).
    Every other concrete column gets NULL when nullable, ``now()`` for auto_now fields, else the field's
    Python default ("" for text) — so a column added later with a default keeps this working. A column
    with neither raises RuntimeError naming it (add it to ``values``)."""
    columns, expressions, params = [], [], []
    for field in model._meta.concrete_fields:
        column = field.column
        if column in values:
            columns.append(str(column))
            expressions.append(values[column].replace("%", "%%"))  # SQL modulo, not a placeholder
        elif field.primary_key and isinstance(field, models.AutoField | models.BigAutoField):
            continue
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            columns.append(str(column))
            expressions.append("now()")
        elif field.has_default() or (not field.null and field.empty_strings_allowed):
            columns.append(str(column))
            expressions.append("%s")
            params.append(field.get_db_prep_save(field.get_default(), connection))  # "" for text fields
        elif not field.null:
            raise RuntimeError(f"bench data: {model.__name__}.{field.name} needs a value in insert_select")
    table = model._meta.db_table
    source = source.replace("%", "%%")
    sql = f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(expressions)} {source}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def counts() -> dict[str, int]:
    """Row counts of the benchmark's main tables (exact ``count(*)``)."""
    tables: dict[str, type[models.Model]] = {
        "customers": Customer,
        "appointments": Appointment,
        "messages": OutboundMessage,
        "attempts": DeliveryAttempt,
        "reports": DeliveryReport,
        "events": StatusEvent,
        "replies": InboundMessage,
        "consents": Consent,
    }
    return {name: model._default_manager.count() for name, model in tables.items()}


def ensure_data(
    customers: int,
    appointments: int,
    now: dt.datetime,
    regenerate: bool = False,
    log: Callable[[str], None] = print,
) -> DataSummary:
    """Make the database hold exactly ``customers`` and ``appointments`` of benchmark data around
    ``now`` (aware UTC); keep existing data of that size unless ``regenerate``. Then ANALYZE (VACUUM
    ANALYZE outside a transaction). Raises NotBenchmarkData when locations other than the benchmark's
    exist. Side effects: TRUNCATE … CASCADE of the appointment, customer and messaging tables; the
    owner user ``bench-owner`` with a TOTP device."""
    foreign = Location.objects.exclude(name__startswith=MARKER)
    if foreign.exists():
        raise NotBenchmarkData(f"{foreign.count()} locations not created by the benchmark")
    start = dt.datetime.now(dt.UTC)
    have = (Customer.objects.count(), Appointment.objects.count())
    generated = regenerate or have != (customers, appointments) or not Location.objects.exists()
    if generated:
        with transaction.atomic():
            _wipe()
            _generate(customers, appointments, now, log)
        _analyze()
    owner()
    seconds = (dt.datetime.now(dt.UTC) - start).total_seconds()
    return DataSummary(generated, seconds, counts())


def owner() -> Any:
    """The benchmark's owner user (group owner, confirmed TOTP device), created once."""
    user, created = get_user_model().objects.get_or_create(username=OWNER)
    if created:
        user.set_unusable_password()
        user.save()
        user.groups.add(Group.objects.get_or_create(name=Role.OWNER.value)[0])
    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        TOTPDevice.objects.create(user=user, name="Benchmark", confirmed=True)
    return user


def _wipe() -> None:
    roots = [Location, Customer, AppointmentType, ReminderRule, SmsPrice, MonthlyUsage, CalendarSubscription]
    tables = ", ".join(model._meta.db_table for model in roots)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


def _analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)")


def _generate(customers: int, appointments: int, now: dt.datetime, log: Callable[[str], None]) -> None:
    locations = [Location.objects.create(name=n, time_zone=z, country=c) for n, z, c in LOCATIONS]
    for location in locations:
        location.monthly_sms_budget_micros = 1_500_000_000  # 1,500 € (micros: millionths of the currency)
        location.save()
    types = [AppointmentType.objects.create(name=name) for name in TYPES]
    sms_rule = ReminderRule.objects.create(
        name="SMS am Vortag",
        channel=Channel.SMS,
        offset_s=24 * 3600,
        body_template="{salutation}, Ihr Termin in der {practice_name}: {date}, {time}. {confirm_hint}",
    )
    email_rule = ReminderRule.objects.create(
        name="E-Mail zwei Tage vorher",
        channel=Channel.EMAIL,
        offset_s=48 * 3600,
        subject_template="Ihr Termin am {date}",
        body_template="{salutation},\n\nwir erinnern an Ihren Termin am {date} um {time}.",
    )
    SmsPrice.objects.create(country="DE", price_per_part_micros=75_000)  # 0.075 € per part
    SmsPrice.objects.create(country="*", price_per_part_micros=90_000)
    _small_tables(locations, now)
    steps: list[tuple[str, Callable[[], int]]] = [
        ("customers", lambda: _customers(customers, now)),
        ("consents", lambda: _consents(now)),
        ("appointments", lambda: _appointments(appointments, customers, locations, types, now)),
        ("unmatched", _unmatched),
        ("sms", lambda: _messages(sms_rule, now)),
        ("email", lambda: _messages(email_rule, now)),
        ("attempts", _attempts),
        ("reports", lambda: _reports(now)),
        ("events", _events),
        ("replies", lambda: _replies(now)),
    ]
    for name, step in steps:
        began = dt.datetime.now(dt.UTC)
        rows = step()
        log(f"  {name}: {rows} ({(dt.datetime.now(dt.UTC) - began).total_seconds():.1f} s)")


def _small_tables(locations: list[Location], now: dt.datetime) -> None:
    for location in locations:
        CalendarSubscription.objects.create(
            name=f"Kalender {location.name}",
            url=f"https://kalender.example/{location.pk}.ics",
            location=location,
            last_sync_at=now - dt.timedelta(minutes=7),
            next_refresh_at=now + dt.timedelta(minutes=8),
            last_result="12 neu, 3 geändert, 1 abgesagt",
        )
        month = now.date().replace(day=1)
        for back in range(8):
            MonthlyUsage.objects.create(
                location_id=location.pk,
                month=month,
                channel="sms",
                currency="EUR",
                messages=3100,
                parts=3300,
                cost_micros=247_500_000,  # 3300 parts × 0.075 €
            )
            month = (month - dt.timedelta(days=1)).replace(day=1) if back < 7 else month


def _customers(count: int, now: dt.datetime) -> int:
    kind = "n % 100"  # < 93 mobile, < 96 landline, else no number
    return insert_select(
        Customer,
        {
            "customer_number": "(100000 + n)::text",
            "given_name": f"({_array(GIVEN)})[1 + n % {len(GIVEN)}]",
            "family_name": f"({_array(FAMILY)})[1 + (n / {len(GIVEN)}) % {len(FAMILY)}]",
            "mobile_e164": f"CASE WHEN {kind} < 93 THEN '+4915550' || lpad(n::text, 7, '0') "
            f"WHEN {kind} < 96 THEN '+4930' || lpad(n::text, 8, '0') ELSE '' END",
            "mobile_raw": f"CASE WHEN {kind} < 93 THEN '015550 ' || lpad(n::text, 7, '0') "
            f"WHEN {kind} < 96 THEN '030 ' || lpad(n::text, 8, '0') ELSE '' END",
            "mobile_sms_ok": f"{kind} < 93",
            "email": "CASE WHEN n % 10 < 6 THEN 'kunde' || n || '@example.org' ELSE '' END",
            # Customer.search_key (folding.name_key) of the same name pair and e-mail.
            "search_key": f"({_array(NAME_KEYS)})[1 + (n % {len(GIVEN)}) * {len(FAMILY)} "
            f"+ (n / {len(GIVEN)}) % {len(FAMILY)}] || '{SEPARATOR}' "
            "|| CASE WHEN n % 10 < 6 THEN 'kunde' || n || '@example.org' ELSE '' END",
            "language": "CASE WHEN n % 20 = 0 THEN 'en' ELSE 'de' END",
            "country": "'DE'",
            "created_at": f"{_ts(now)} - (n % 1000) * interval '1 day'",
            "updated_at": f"{_ts(now)} - (n % 300) * interval '1 day'",
        },
        f"FROM generate_series(1::bigint, {int(count)}) AS g(n)",
    )


def _consents(now: dt.datetime) -> int:
    table = Customer._meta.db_table
    common = {
        "customer_id": "c.id",
        "opted_in_at": "c.created_at",
        "source": "'form'",
        "wording_version": "'2025-01'",
        "recorded_by": "'empfang'",
        "opted_out_at": f"CASE WHEN c.id % 97 = 0 THEN {_ts(now)} - interval '20 days' END",
    }
    sms = insert_select(
        Consent, {**common, "channel": "'sms'"}, f"FROM {table} c WHERE c.mobile_sms_ok AND c.id % 50 <> 0"
    )
    email = insert_select(
        Consent, {**common, "channel": "'email'"}, f"FROM {table} c WHERE c.email <> '' AND c.id % 3 <> 0"
    )
    return sms + email


def _appointments(
    count: int, customers: int, locations: list[Location], types: list[AppointmentType], now: dt.datetime
) -> int:
    first_customer = Customer.objects.order_by("pk").values_list("pk", flat=True).first() or 0
    days = PAST_DAYS + FUTURE_DAYS
    start = (
        f"date_trunc('day', {_ts(now)}) - interval '{PAST_DAYS} days' + ((n - 1) * {days} / {int(count)}) "
        "* interval '1 day' + (7 + n % 10) * interval '1 hour' + ((n / 10) % 4) * interval '15 minutes'"
    )
    past = f"s < {_ts(now)}"
    return insert_select(
        Appointment,
        {
            "location_id": f"{locations[0].pk} + n % {len(locations)}",
            "customer_id": f"CASE WHEN n % 100 = 0 THEN NULL "
            f"ELSE {first_customer} + (n * 7919) % {customers} END",
            "appointment_type_id": f"{types[0].pk} + n % {len(types)}",
            "summary": f"({_array(TYPES)})[1 + n % {len(TYPES)}]",
            "start_at": "s",
            "end_at": "s + interval '30 minutes'",
            "all_day": "false",
            "status": f"CASE WHEN {past} THEN (CASE WHEN h < 80 THEN 'completed' "
            "WHEN h < 88 THEN 'cancelled' WHEN h < 92 THEN 'no_show' ELSE 'scheduled' END) "
            "ELSE (CASE WHEN h < 6 THEN 'cancelled' ELSE 'scheduled' END) END",
            "confirmed_at": f"CASE WHEN h % 10 < 3 AND s - interval '23 hours' < {_ts(now)} "
            "THEN s - interval '23 hours' END",
            "source": "CASE WHEN n % 10 < 6 THEN 'ics' WHEN n % 10 < 9 THEN 'csv' ELSE 'manual' END",
            "source_name": "CASE WHEN n % 10 < 6 THEN 'praxis.ics' WHEN n % 10 < 9 THEN 'export.csv' "
            "ELSE '' END",
            "external_uid": "CASE WHEN n % 10 < 6 THEN 'bench-' || n || '@kalender.example' ELSE '' END",
            # Entered 30 days ahead, but never in the future: the planner re-checks rows changed since
            # its last run (appointments.services.planning_scope).
            "created_at": f"LEAST(s - interval '30 days', {_ts(now)} - interval '1 hour')",
            "updated_at": f"LEAST(s - interval '30 days', {_ts(now)} - interval '1 hour')",
        },
        f"FROM (SELECT n, {start} AS s, (n * 2654435761) % 100 AS h "
        f"FROM generate_series(1::bigint, {int(count)}) AS g(n)) AS x",
    )


def _unmatched() -> int:
    table = Appointment._meta.db_table
    return insert_select(
        UnmatchedEvent,
        {"appointment_id": "a.id", "reason": "'kein Kunde mit diesem Namen'", "created_at": "a.created_at"},
        f"FROM {table} a WHERE a.customer_id IS NULL",
    )


def _messages(rule: ReminderRule, now: dt.datetime) -> int:
    sms = rule.channel == Channel.SMS
    appointment, customer = Appointment._meta.db_table, Customer._meta.db_table
    old = f"d < {_ts(now)} - interval '90 days'"  # retention blanked text and recipient
    past = f"d <= {_ts(now)}"
    if sms:
        recipient = f"CASE WHEN {old} THEN '+49•••••••' || right(c.mobile_e164, 4) ELSE c.mobile_e164 END"
        where = "c.mobile_sms_ok AND c.id % 50 <> 0"  # the customers with SMS consent
        outcome = (
            "CASE WHEN h < 900 THEN 'delivered' WHEN h < 940 THEN 'sent' WHEN h < 960 THEN 'undelivered' "
            "WHEN h < 970 THEN 'failed' WHEN h < 975 THEN 'expired' "
            "WHEN a.status <> 'scheduled' THEN 'failed' "  # the planner cancels those held for a past one
            "WHEN h < 978 THEN 'unknown' WHEN h < 980 THEN 'held' ELSE 'delivered' END"
        )
    else:
        recipient = f"CASE WHEN {old} THEN '•••@example.org' ELSE c.email END"
        where = "c.email <> '' AND c.id % 3 <> 0"
        outcome = "CASE WHEN h < 10 THEN 'failed' ELSE 'sent' END"
    body = (
        f"CASE WHEN {old} THEN '' ELSE 'Guten Tag ' || c.given_name || ' ' || c.family_name || "
        "', Ihr Termin in der Praxis: ' || to_char(a.start_at AT TIME ZONE 'Europe/Berlin', "
        "'DD.MM.YYYY, HH24:MI') || ' Uhr. Bitte mit JA bestätigen oder NEIN absagen.' END"
    )
    went_out = f"a.status <> 'cancelled' AND {past}"
    withdrawn = f"c.id % 97 = 0 AND NOT {past}"  # consent withdrawn (see _consents): pending cancelled
    status = (
        f"CASE WHEN a.status = 'cancelled' OR {withdrawn} THEN 'cancelled' WHEN NOT {past} THEN 'planned' "
        f"ELSE {outcome} END"
    )
    failed = "h >= 940 AND h < 980"
    return insert_select(
        OutboundMessage,
        {
            "appointment_id": "a.id",
            "rule_id": str(rule.pk),
            "channel": f"'{rule.channel}'",
            "customer_id": "c.id",
            "recipient": recipient,
            "sender_id": "'Praxis'" if sms else "''",
            "subject": "''" if sms else "'Ihr Termin am ' || to_char(a.start_at, 'DD.MM.YYYY')",
            "body": body,
            "segments": "1" if sms else "0",
            "encoding": "'GSM-7'" if sms else "''",
            "occurrence_start_at": "a.start_at",
            "due_at": "d",
            "next_attempt_at": "d",
            "status": status,
            "status_changed_at": f"CASE WHEN {past} THEN d + interval '30 seconds' ELSE a.created_at END",
            "attempt_count": f"CASE WHEN {went_out} THEN 1 ELSE 0 END",
            "gateway": f"CASE WHEN {went_out} THEN '{'sevenio' if sms else 'smtp'}' ELSE '' END",
            "error_code": f"CASE WHEN {went_out} AND {failed} THEN 'invalid_recipient' ELSE '' END",
            "user_message": f"CASE WHEN {went_out} AND {failed} THEN 'Die Nummer ist nicht erreichbar.' "
            "ELSE '' END",
            "created_at": "a.created_at",
        },
        f"FROM (SELECT a.*, a.start_at - interval '{rule.offset_s} seconds' AS d, "
        f"(a.id * 2654435761) % 1000 AS h FROM {appointment} a) a "
        f"JOIN {customer} c ON c.id = a.customer_id WHERE {where}",
    )


def _attempts() -> int:
    message = OutboundMessage._meta.db_table
    return insert_select(
        DeliveryAttempt,
        {
            "id": "gen_random_uuid()",
            "message_id": "m.id",
            "gateway": "m.gateway",
            "started_at": "m.due_at",
            "finished_at": "m.due_at + interval '1 second'",
            "outcome": "CASE WHEN m.status = 'failed' THEN 'failed' "
            "WHEN m.status IN ('unknown', 'held') THEN 'unknown' ELSE 'sent' END",
            "gateway_message_id": "CASE WHEN m.status IN ('failed', 'unknown', 'held') THEN '' "
            "ELSE 'gw-' || m.id END",
            "error_code": "m.error_code",
            "user_message": "m.user_message",
            "http_status": "CASE WHEN m.status = 'failed' THEN 400 ELSE 200 END",
            "segments": "m.segments",
            "cost_micros": "CASE WHEN m.channel = 'sms' THEN m.segments * 75000 END",
            "currency": "CASE WHEN m.channel = 'sms' THEN 'EUR' ELSE '' END",
            "duration_ms": "180",
        },
        f"FROM {message} m WHERE m.attempt_count > 0",
    )


def _reports(now: dt.datetime) -> int:
    attempt, message = DeliveryAttempt._meta.db_table, OutboundMessage._meta.db_table
    return insert_select(
        DeliveryReport,
        {
            "attempt_id": "t.id",
            "status": "m.status",
            "provider_status": "upper(m.status)",
            "provider_error_code": "CASE WHEN m.status = 'delivered' THEN '' ELSE '30' END",
            "occurred_at": "t.started_at + interval '15 seconds'",
            "received_at": "t.started_at + interval '20 seconds'",
            "raw": "jsonb_build_object('msg_id', t.gateway_message_id, 'status', upper(m.status))",
            "dedupe_key": "'bench-' || t.id",
        },
        f"FROM {attempt} t JOIN {message} m ON m.id = t.message_id WHERE m.channel = 'sms' "
        f"AND m.status IN ('delivered', 'undelivered', 'expired') "
        f"AND t.started_at > {_ts(now)} - interval '30 days'",
    )


def _events() -> int:
    message = OutboundMessage._meta.db_table
    sent = insert_select(
        StatusEvent,
        {"message_id": "m.id", "at": "m.due_at + interval '1 second'", "status": "'sent'", "note": "''"},
        f"FROM {message} m WHERE m.status IN ('delivered', 'undelivered', 'expired')",
    )
    final = insert_select(
        StatusEvent,
        {"message_id": "m.id", "at": "m.status_changed_at", "status": "m.status", "note": "m.user_message"},
        f"FROM {message} m WHERE m.status <> 'planned'",
    )
    return sent + final


def _replies(now: dt.datetime) -> int:
    message, customer = OutboundMessage._meta.db_table, Customer._meta.db_table
    kind = "(m.id / 100) % 20"  # 0: STOP, 1–2: a question, else JA
    received = "m.due_at + interval '2 hours'"
    question = f"{kind} IN (1, 2)"
    return insert_select(
        InboundMessage,
        {
            "gateway": "'sevenio'",
            "from_e164": "c.mobile_e164",
            "text": f"CASE WHEN {kind} = 0 THEN 'STOP' "
            f"WHEN {question} THEN 'Kann ich auf 10 Uhr verschieben?' ELSE 'JA' END",
            "received_at": received,
            "gateway_message_id": "'mo-' || m.id",
            "raw": "'{}'::jsonb",
            "customer_id": "c.id",
            "appointment_id": "m.appointment_id",
            "message_id": "m.id",
            "outcome": f"CASE WHEN {kind} = 0 THEN 'stop' WHEN {question} THEN 'unknown' ELSE 'confirm' END",
            "note": f"CASE WHEN {question} THEN 'nicht erkannt' ELSE '' END",
            "handled_at": f"CASE WHEN NOT {question} THEN {received} "
            f"WHEN {received} < {_ts(now)} - interval '14 days' THEN {received} + interval '1 day' END",
            "handled_by": f"CASE WHEN NOT {question} THEN 'automatisch' "
            f"WHEN {received} < {_ts(now)} - interval '14 days' THEN 'empfang' ELSE '' END",
            "dedupe_key": "'bench-mo-' || m.id",
            "created_at": received,
        },
        f"FROM {message} m JOIN {customer} c ON c.id = m.customer_id "
        f"WHERE m.channel = 'sms' AND m.status = 'delivered' AND m.id % 100 < 5",
    )
