"""Retention: personal data is kept only as long as its purpose needs (GDPR Art. 5(1)(e), Art. 25).

Four rules, each a period in days from ``ALPHASMS_RETENTION_*`` (0 switches a rule off), applied once a
day by the worker (:func:`purge_if_due`) and on demand by ``alphasms privacy purge``:

* ``message_texts`` — a message in a final state whose due instant is older than the period keeps
  status, times, channel and gateway for the log; subject and body are blanked and the recipient is
  reduced to its redacted form (``+49•••••••5678``, ``•••@example.org``).
* ``delivery_reports`` — provider reports received before the period are deleted with their raw payload
  and provider details; the message keeps the status they led to.
* ``appointments`` — appointments that ended before the period are deleted with their messages,
  attempts, reports and status history (DSK position paper of 16 June 2025: no unlimited storage of
  appointment data after the appointment).
* ``customers`` — customers created before the period, with no appointment ending inside it and no
  message still open, are erased through ``privacy.subject_rights.erase`` (Art. 17; ledger and audit
  are written there).

A restricted person (``Customer.restricted_at``, Art. 18: storage only) is exempt from every rule but
the first: message texts are copies of a template and age out for everyone. Anonymous counts
(``MonthlyUsage``, ``MonthlyStatistic``) are never touched. Every rule works on sets (UPDATE/DELETE per
rule), except erasure, which runs per person; each rule that runs writes one audit entry with its
period and count (ids and numbers only).
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from django.db import IntegrityError, transaction
from django.db.models import CharField, Exists, IntegerField, OuterRef, Q, QuerySet, Value
from django.db.models.expressions import Case, When
from django.db.models.functions import Concat, Left, Length, Repeat, Right, StrIndex, Substr
from django.utils import timezone
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

from alphasms.appointments.models import Appointment, Channel, Customer
from alphasms.conf import app_settings
from alphasms.messaging.models import PENDING, DeliveryReport, MessageStatus, OutboundMessage
from alphasms.privacy.audit import audit
from alphasms.privacy.models import AuditAction, RetentionRun

log = logging.getLogger("alphasms.retention")

ACTOR = "system:retention"
REDACTION_MARK = "•"
# Messages that may still be sent, or whose outcome is not settled: their text is still needed.
OPEN = (*PENDING, MessageStatus.SENDING, MessageStatus.UNKNOWN)
FINAL = tuple(status for status in MessageStatus if status not in OPEN)
# Country calling codes shorter than three digits (ITU-T E.164 codes are prefix-free, so "+1…" is
# never the start of a two-digit code): the redacted form keeps "+" and the code, as phone.redact does.
_SHORT_CODES = sorted((code for code in COUNTRY_CODE_TO_REGION_CODE if code < 100), key=str)


class Rule(enum.StrEnum):
    """The retention rules, in the order they run."""

    MESSAGE_TEXTS = "message_texts"  # blank texts, redact recipients (ALPHASMS_RETENTION_MESSAGE_TEXT_DAYS)
    DELIVERY_REPORTS = "delivery_reports"  # delete DLRs (ALPHASMS_RETENTION_DELIVERY_REPORTS_DAYS)
    APPOINTMENTS = "appointments"  # delete past appointments (ALPHASMS_RETENTION_APPOINTMENTS_DAYS)
    CUSTOMERS = "customers"  # erase inactive customers (ALPHASMS_RETENTION_INACTIVE_CUSTOMERS_DAYS)

    @property
    def days(self) -> int:
        """The rule's current period in days (0 = off), read from the settings at call time."""
        return {
            Rule.MESSAGE_TEXTS: app_settings.RETENTION_MESSAGE_TEXT_DAYS,
            Rule.DELIVERY_REPORTS: app_settings.RETENTION_DELIVERY_REPORTS_DAYS,
            Rule.APPOINTMENTS: app_settings.RETENTION_APPOINTMENTS_DAYS,
            Rule.CUSTOMERS: app_settings.RETENTION_INACTIVE_CUSTOMERS_DAYS,
        }[self]


class RuleResultDict(TypedDict):
    rule: str
    days: int
    cutoff_utc: str | None
    count: int


class PurgeReportDict(TypedDict):
    now_utc: str
    dry_run: bool
    rules: list[RuleResultDict]


def _utc(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class RuleResult:
    """One rule's run: its period (``days``, 0 = off), ``cutoff_at`` (UTC; data older than this
    instant is in scope; None when off) and ``count`` of rows changed (or that would change in a dry
    run): messages blanked, reports deleted, appointments deleted or customers erased."""

    rule: Rule
    days: int
    cutoff_at: dt.datetime | None
    count: int

    def as_dict(self) -> RuleResultDict:
        cutoff = None if self.cutoff_at is None else _utc(self.cutoff_at)
        return {"rule": self.rule.value, "days": self.days, "cutoff_utc": cutoff, "count": self.count}


@dataclass(frozen=True)
class PurgeReport:
    """What one purge did (or, with ``dry_run``, would do): one result per rule, in ``Rule`` order;
    ``file_compacted`` when the SQLite file was rewritten afterwards (False on PostgreSQL, in a dry
    run, inside an outer transaction and when nothing changed)."""

    now: dt.datetime
    dry_run: bool
    results: tuple[RuleResult, ...]
    file_compacted: bool = False

    def count(self, rule: Rule) -> int:
        """Rows changed by ``rule`` (0 when it is off)."""
        return next(result.count for result in self.results if result.rule == rule)

    @property
    def total(self) -> int:
        """Rows changed by all rules together."""
        return sum(result.count for result in self.results)

    def as_dict(self) -> PurgeReportDict:
        """The report as JSON-ready data (``alphasms privacy purge --json``)."""
        return {
            "now_utc": _utc(self.now),
            "dry_run": self.dry_run,
            "rules": [result.as_dict() for result in self.results],
        }


def purge(now: dt.datetime, dry_run: bool = False) -> PurgeReport:
    """Apply every enabled rule to data older than its period before ``now`` (aware, UTC).

    Data exactly one period old stays; one second older is in scope. With ``dry_run`` nothing changes
    (no audit entry either) and the counts are what a real run at ``now`` would report.

    Side effects (not in a dry run): UPDATE of old messages, DELETE of old reports, appointments and
    their messages, erasure of inactive customers (``subject_rights.erase``), one audit entry per
    enabled rule. Each rule commits on its own; erasures commit per person. When anything changed, the
    SQLite file and its WAL are rewritten once (``subject_rights.remove_deleted_bytes``), so blanked
    texts and deleted rows are gone from the disk too, not only unreachable.
    """
    results = tuple(_run(rule, now, dry_run) for rule in Rule)
    compacted = False
    if not dry_run and any(result.count for result in results):
        from alphasms.privacy.subject_rights import remove_deleted_bytes

        compacted, _ = remove_deleted_bytes()
    return PurgeReport(now, dry_run, results, compacted)


def _run(rule: Rule, now: dt.datetime, dry_run: bool) -> RuleResult:
    days = rule.days
    if days <= 0:
        return RuleResult(rule, 0, None, 0)
    cutoff = now - dt.timedelta(days=days)
    if dry_run:
        return RuleResult(rule, days, cutoff, _CANDIDATES[rule](cutoff).count())
    if rule == Rule.CUSTOMERS:
        count, detail = _erase_customers(cutoff)
        _audit_rule(rule, days, cutoff, count, detail)
    else:
        with transaction.atomic():  # the change and its audit entry commit together
            count, detail = _APPLY[rule](cutoff)
            _audit_rule(rule, days, cutoff, count, detail)
    return RuleResult(rule, days, cutoff, count)


def _audit_rule(rule: Rule, days: int, cutoff: dt.datetime, count: int, detail: str) -> None:
    text = f"days={days} cutoff={_utc(cutoff)} count={count}{detail}"
    audit(ACTOR, AuditAction.PURGE, "retention_rule", rule.value, text)


# --- which rows each rule reaches -------------------------------------------------------------------


def message_texts_in_scope(cutoff: dt.datetime) -> QuerySet[OutboundMessage]:
    """Final messages due before ``cutoff`` that still hold a text or an unredacted recipient."""
    return OutboundMessage.objects.filter(due_at__lt=cutoff, status__in=FINAL).exclude(
        body="", subject="", recipient__contains=REDACTION_MARK
    )


def delivery_reports_in_scope(cutoff: dt.datetime) -> QuerySet[DeliveryReport]:
    """Reports received before ``cutoff``, except those about restricted persons."""
    return DeliveryReport.objects.filter(
        received_at__lt=cutoff, attempt__message__customer__restricted_at__isnull=True
    )


def appointments_in_scope(cutoff: dt.datetime) -> QuerySet[Appointment]:
    """Appointments that ended before ``cutoff``, with no person or a person not restricted."""
    return Appointment.objects.filter(end_at__lt=cutoff).filter(
        Q(customer__isnull=True) | Q(customer__restricted_at__isnull=True)
    )


def customers_in_scope(cutoff: dt.datetime) -> QuerySet[Customer]:
    """Unrestricted customers created before ``cutoff`` with no appointment ending at or after it and
    no open message (one may still go out)."""
    recent = Appointment.objects.filter(customer=OuterRef("pk"), end_at__gte=cutoff)
    open_messages = OutboundMessage.objects.filter(customer=OuterRef("pk"), status__in=OPEN)
    return Customer.objects.filter(restricted_at__isnull=True, created_at__lt=cutoff).filter(
        ~Exists(recent), ~Exists(open_messages)
    )


_CANDIDATES = {
    Rule.MESSAGE_TEXTS: message_texts_in_scope,
    Rule.DELIVERY_REPORTS: delivery_reports_in_scope,
    Rule.APPOINTMENTS: appointments_in_scope,
    Rule.CUSTOMERS: customers_in_scope,
}


# --- what each rule does ----------------------------------------------------------------------------


def _redacted_phone() -> Concat:
    """``messaging.phone.redact`` in SQL for E.164 recipients: "+", the country code, one "•" per
    further digit but the last four, the last four ("+4915112345678" → "+49•••••••5678")."""
    kept = Case(
        *[When(recipient__startswith=f"+{code}", then=Value(len(str(code)) + 1)) for code in _SHORT_CODES],
        default=Value(4),  # "+" and a three-digit country code
        output_field=IntegerField(),
    )
    hidden = Length("recipient") - kept - Value(4)
    return Concat(
        Left("recipient", kept),
        Repeat(Value(REDACTION_MARK), hidden),
        Right("recipient", 4),
        output_field=CharField(),
    )


def _redacted_recipient() -> Case:
    """The recipient's redacted form: numbers as ``phone.redact`` shows them, e-mail addresses as
    "•••@domain" (the local part names the person; the domain tells staff which provider bounced)."""
    email = Concat(Value(REDACTION_MARK * 3), Substr("recipient", StrIndex("recipient", Value("@"))))
    return Case(
        When(channel=Channel.SMS, then=_redacted_phone()),
        When(recipient__contains="@", then=email),
        default=Value(REDACTION_MARK * 3),
        output_field=CharField(),
    )


def _blank_message_texts(cutoff: dt.datetime) -> tuple[int, str]:
    count = message_texts_in_scope(cutoff).update(subject="", body="", recipient=_redacted_recipient())
    files = delete_old_message_files(cutoff)
    return count, f" files={files}" if files else ""


def delete_old_message_files(cutoff: dt.datetime) -> int:
    """Delete the copies of messages kept as files — the ``outbox`` gateway's JSON files and the local
    mail sink's Maildir — last written before ``cutoff``. Returns how many files were deleted."""
    folders = [Path(app_settings.OUTBOX_DIR)]
    folders += [Path(app_settings.MAIL_SINK_DIR) / sub for sub in ("new", "cur")]
    deleted = 0
    for folder in folders:
        if not folder.is_dir():
            continue
        for item in folder.iterdir():
            if item.is_file() and dt.datetime.fromtimestamp(item.stat().st_mtime, dt.UTC) < cutoff:
                item.unlink(missing_ok=True)
                deleted += 1
    return deleted


def _delete_delivery_reports(cutoff: dt.datetime) -> tuple[int, str]:
    _, deleted = delivery_reports_in_scope(cutoff).delete()
    return deleted.get(DeliveryReport._meta.label, 0), ""


def _delete_appointments(cutoff: dt.datetime) -> tuple[int, str]:
    _, deleted = appointments_in_scope(cutoff).delete()
    messages = deleted.get(OutboundMessage._meta.label, 0)
    return deleted.get(Appointment._meta.label, 0), f" messages={messages}"


def _erase_customers(cutoff: dt.datetime) -> tuple[int, str]:
    from alphasms.privacy.subject_rights import ErasureDeferred, erase

    count = deferred = 0
    # Erasure is the one per-person step: it writes the ledger and its own audit entry for each person.
    # The file is compacted once at the end of the purge, not after every person (compact=False).
    for customer in customers_in_scope(cutoff).order_by("pk"):
        try:
            erase(customer, ACTOR, compact=False)
        except ErasureDeferred:
            deferred += 1  # a message went out since the query; tomorrow's run tries again
            continue
        except Customer.DoesNotExist:
            continue  # erased meanwhile by staff or another worker
        count += 1
    return count, f" deferred={deferred}" if deferred else ""


_APPLY = {
    Rule.MESSAGE_TEXTS: _blank_message_texts,
    Rule.DELIVERY_REPORTS: _delete_delivery_reports,
    Rule.APPOINTMENTS: _delete_appointments,
}


# --- the daily run ----------------------------------------------------------------------------------


def purge_if_due(now: dt.datetime | None = None) -> PurgeReport | None:
    """Run :func:`purge` once per local calendar day (``TIME_ZONE``); called by every worker cycle.

    The day is claimed by inserting its ``RetentionRun`` row (``day`` is unique), so of several workers
    exactly one runs it, and further cycles that day return None at the cost of one SELECT. A run that
    fails is not repeated that day (the exception reaches the worker; the next day runs again).

    Side effects: one ``RetentionRun`` row per day with the counts, and those of :func:`purge`.
    """
    now = now or timezone.now()
    day = timezone.localdate(now)
    if RetentionRun.objects.filter(day=day).exists():
        return None
    try:
        with transaction.atomic():
            run = RetentionRun.objects.create(day=day, started_at=now)
    except IntegrityError:
        return None  # another worker claimed this day between our SELECT and INSERT
    report = purge(now)
    RetentionRun.objects.filter(pk=run.pk).update(
        finished_at=timezone.now(),
        message_texts_count=report.count(Rule.MESSAGE_TEXTS),
        delivery_reports_count=report.count(Rule.DELIVERY_REPORTS),
        appointments_count=report.count(Rule.APPOINTMENTS),
        customers_count=report.count(Rule.CUSTOMERS),
    )
    log.info(
        "retention purge %s: %s",
        day.isoformat(),
        " ".join(f"{result.rule}={result.count}" for result in report.results),
    )
    return report
