"""A person's rights over their data: access and portability, restriction, erasure (GDPR Art. 15–20).

Every model that holds personal data is reached through ``privacy.registry`` (DESIGN.md invariant 9),
so the export and the erasure cover the same rows. Audit entries and the privacy ledger hold ids only.

* :func:`export_person` — Art. 15 copy and Art. 20 portability, with the Art. 15(1) information block;
  :func:`render_export_html` / :func:`render_export_text` make it readable (German or English).
* :func:`restrict` / :func:`unrestrict` — Art. 18: planning and dispatch skip a restricted person
  (``Customer.restricted_at``, DESIGN.md invariant 2); pending messages are cancelled at once.
* :func:`erase` — Art. 17: deletes or anonymises every row about the person, then (SQLite) rewrites the
  database file and empties its WAL, so the bytes are gone, not only unreachable.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re
from collections.abc import Mapping
from typing import Any, TypedDict

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from alphasms.appointments.models import AppointmentStatus, Customer
from alphasms.messaging.models import MessageStatus, OutboundMessage
from alphasms.privacy.audit import audit
from alphasms.privacy.export_info import gateway_names, information
from alphasms.privacy.models import AuditAction, AuditEntry, LedgerKind, PrivacyLedger
from alphasms.privacy.registry import REGISTRY, Row, plain, to_row

EXPORT_FORMAT = "alphasms.access-export/1"
RESTRICTED_NOTE = "processing restricted (GDPR Art. 18)"
UNRESTRICTED_NOTE = "restriction lifted (GDPR Art. 18)"


class RestrictionBasis(enum.StrEnum):
    """The ground of a restriction, GDPR Art. 18(1)."""

    ACCURACY = "accuracy"  # (a) the person contests the data's accuracy, while it is verified
    UNLAWFUL = "unlawful"  # (b) processing is unlawful and the person wants restriction, not erasure
    LEGAL_CLAIMS = "legal_claims"  # (c) no longer needed by the practice, but by the person for claims
    OBJECTION = "objection"  # (d) the person objected (Art. 21(1)) pending the verification


class ExportDict(TypedDict):
    """The access export (JSON). ``records`` is the complete copy: registry label → rows (every field
    value, instants as ISO 8601 UTC "…Z"); the other keys are the readable layer over it."""

    format: str
    generated_at: str
    customer_id: int
    person: Row
    restriction: dict[str, Any]
    statistics_objection: dict[str, Any]
    gateways: dict[str, str]
    audit: list[Row]
    information: dict[str, dict[str, Any]]
    records: dict[str, list[Row]]


# --- Art. 15 / 20: access and portability ---------------------------------------------------------------


def export_person(customer: Customer, actor: str) -> ExportDict:
    """Everything stored about ``customer`` as JSON-ready data (shape: :class:`ExportDict`).

    ``records`` holds every row of every registered model about the person (master data, appointments
    and unassigned calendar entries naming them, messages with attempts, delivery reports and status
    history, consents, objection, requests, admin-log entries); ``audit`` the audit entries about any
    of those rows (ids only, who did what when); ``information`` the Art. 15(1)(a)–(h) block in German
    and English (purposes, categories, named recipients, retention, sources, rights, complaint,
    automated decisions). Other people's data is not included (Art. 15(4)).

    Side effects: one audit entry (EXPORT, recorded before the copy is made, so the copy lists it).
    Sources: GDPR Art. 15(1), 15(3), 20(1); EDPB Guidelines 01/2022 on the right of access.
    """
    with transaction.atomic():
        audit(actor, AuditAction.EXPORT, "customer", customer.pk)
        customer.refresh_from_db()
        records = {label: registration.exporter(customer) for label, registration in REGISTRY.items()}
        objection = records.get("privacy.statisticsobjection", [])
        return {
            "format": EXPORT_FORMAT,
            "generated_at": plain(timezone.now()),
            "customer_id": customer.pk,
            "person": to_row(customer),
            "restriction": _restriction_state(customer),
            "statistics_objection": {
                "objected": bool(objection),
                "at": objection[0]["at"] if objection else None,
            },
            "gateways": gateway_names(records),
            "audit": [_audit_row(entry) for entry in _audit_entries(records)],
            "information": {lang: information(records, lang) for lang in ("de", "en")},
            "records": records,
        }


def _object_types(label: str) -> set[str]:
    """The names an audit entry may use for a model: "messaging.outboundmessage", "outboundmessage",
    "outbound_message" (and "message" for messages)."""
    model_name = label.split(".")[1]
    object_name = REGISTRY[label].model._meta.object_name or model_name
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", object_name).lower()
    return {label, model_name, snake, *(("message",) if model_name == "outboundmessage" else ())}


def _audit_entries(records: Mapping[str, list[Row]]) -> list[AuditEntry]:
    query = Q(pk__in=[])
    for label, rows in records.items():
        ids = [str(row["id"]) for row in rows if "id" in row]
        if ids and label != "admin.logentry":
            query |= Q(object_type__in=_object_types(label), object_id__in=ids)
    return list(AuditEntry.objects.filter(query).order_by("id"))


def _audit_row(entry: AuditEntry) -> Row:
    return {key: value for key, value in to_row(entry).items() if key not in ("prev_hash", "hash")}


def _restriction_state(customer: Customer) -> dict[str, Any]:
    """Whether processing is restricted, since when, on which Art. 18(1) ground, and the history."""
    basis = None
    if customer.restricted_at is not None:
        latest = (
            AuditEntry.objects.filter(
                action=AuditAction.RESTRICT, object_type="customer", object_id=str(customer.pk)
            )
            .order_by("-id")
            .first()
        )
        found = re.search(r"basis=(\w+)", latest.detail) if latest else None
        basis = found.group(1) if found else None
    history = PrivacyLedger.objects.filter(customer_id=customer.pk).order_by("at", "id")
    return {
        "restricted": customer.restricted_at is not None,
        "restricted_at": plain(customer.restricted_at),
        "basis": basis,
        "history": [{"at": plain(row.at), "kind": row.kind} for row in history],
    }


def render_export_html(data: ExportDict, language: str = "de") -> str:
    """A whole HTML page of ``data`` in German ("de") or English ("en"), autoescaped (Django template
    ``privacy/export.html``): the information block, then the person's data by topic, then the full
    record of every row. No side effects."""
    from alphasms.privacy.export_info import page_context

    return render_to_string("privacy/export.html", page_context(data, "en" if language == "en" else "de"))


def render_export_text(data: ExportDict, language: str = "de") -> str:
    """``data`` as plain text for a terminal: the information block and every record, one field a
    line. No side effects."""
    from alphasms.privacy.export_info import text_lines

    return "\n".join(text_lines(data, "en" if language == "en" else "de")) + "\n"


# --- Art. 18: restriction -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RestrictionResult:
    """``changed``: False when the person already was (or was not) restricted. ``messages_count``:
    messages cancelled by :func:`restrict`, or planned again by :func:`unrestrict`."""

    changed: bool
    messages_count: int


def restrict(customer: Customer, actor: str, basis: RestrictionBasis | str) -> RestrictionResult:
    """Restrict processing of ``customer`` (GDPR Art. 18(1), ``basis`` names the ground (a)–(d)).

    In one transaction: sets ``Customer.restricted_at`` (UTC), cancels every pending message of the
    person (recorded in each message's history), writes a PrivacyLedger row (RESTRICT, so a restore
    re-applies it) and an audit entry with the basis and the count. Planning and dispatch skip the
    person from then on. Already restricted: nothing changes. Raises ValueError for an unknown basis.
    """
    from alphasms.messaging.services.lifecycle import cancel_pending

    basis = RestrictionBasis(basis)
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        if locked.restricted_at is not None:
            customer.restricted_at = locked.restricted_at
            return RestrictionResult(changed=False, messages_count=0)
        now = timezone.now()
        customer.restricted_at = now
        customer.save(update_fields=["restricted_at", "updated_at"])
        cancelled = cancel_pending(OutboundMessage.objects.filter(customer=customer), note=RESTRICTED_NOTE)
        PrivacyLedger.objects.create(at=now, kind=LedgerKind.RESTRICT, customer_id=customer.pk)
        audit(
            actor, AuditAction.RESTRICT, "customer", customer.pk, f"basis={basis.value} cancelled={cancelled}"
        )
    return RestrictionResult(changed=True, messages_count=cancelled)


def unrestrict(customer: Customer, actor: str) -> RestrictionResult:
    """Lift the restriction of ``customer`` (GDPR Art. 18(3): tell the person before lifting it).

    In one transaction: clears ``restricted_at``, plans again the messages the restriction cancelled
    whose appointment is still scheduled and ahead (re-rendered, consent and recipient checked as in
    planning; recorded in their history), writes a PrivacyLedger row (UNRESTRICT) and an audit entry.
    Planning covers new appointments from then on. Not restricted: nothing changes.
    """
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        since = locked.restricted_at
        if since is None:
            customer.restricted_at = None
            return RestrictionResult(changed=False, messages_count=0)
        now = timezone.now()
        customer.restricted_at = None
        customer.save(update_fields=["restricted_at", "updated_at"])
        planned = _plan_again(customer, since, now)
        PrivacyLedger.objects.create(at=now, kind=LedgerKind.UNRESTRICT, customer_id=customer.pk)
        audit(actor, AuditAction.UNRESTRICT, "customer", customer.pk, f"planned={planned}")
    return RestrictionResult(changed=True, messages_count=planned)


def _plan_again(customer: Customer, since: dt.datetime, now: dt.datetime) -> int:
    """Re-plan the messages cancelled by the restriction that began at ``since``; returns the count."""
    from alphasms.appointments.services.planning import build_message
    from alphasms.messaging.services.lifecycle import set_status

    cancelled = (
        OutboundMessage.objects.filter(
            customer=customer,
            appointment__customer=customer,  # an entry that passed to another person stays cancelled
            status=MessageStatus.CANCELLED,
            events__status=MessageStatus.CANCELLED,
            events__note=RESTRICTED_NOTE,
            events__at__gte=since,
            rule__active=True,
            appointment__status=AppointmentStatus.SCHEDULED,
            appointment__start_at__gt=now,
        )
        .distinct()
        .select_related("appointment__location", "appointment__customer", "rule")
    )
    count = 0
    for message in cancelled:
        fresh = build_message(message.appointment, message.rule, now)
        if fresh is None:  # consent withdrawn or no usable recipient meanwhile: stays cancelled
            continue
        fields = ("recipient", "sender_id", "subject", "body", "segments", "encoding", "occurrence_start_at")
        changes = {name: getattr(fresh, name) for name in (*fields, "due_at", "next_attempt_at")}
        changes |= {"error_code": fresh.error_code, "user_message": fresh.user_message}
        set_status(message, MessageStatus(fresh.status), note=UNRESTRICTED_NOTE, at=now, **changes)
        count += 1
    return count


# --- Art. 17: erasure ---------------------------------------------------------------------------------


class ErasureDeferred(Exception):
    """A message of the person is being handed to a provider right now (a worker holds its lease);
    erasing under it would lose the record of that call. Try again after ``retry_after_s`` seconds."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"a message is being sent right now; try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


class ErasureReportDict(TypedDict):
    customer_id: int
    counts: dict[str, int]
    file_compacted: bool
    wal_truncated: bool


@dataclasses.dataclass(frozen=True)
class ErasureReport:
    """What :func:`erase` did: ``counts`` maps registry label → rows deleted or anonymised;
    ``file_compacted`` is True when the SQLite file was rewritten (VACUUM), ``wal_truncated`` when its
    WAL was emptied afterwards (False: another process still reads an old snapshot; the old pages go at
    the next checkpoint). Both are False on PostgreSQL and inside an outer transaction."""

    customer_id: int
    counts: Mapping[str, int]
    file_compacted: bool
    wal_truncated: bool

    def as_dict(self) -> ErasureReportDict:
        return {
            "customer_id": self.customer_id,
            "counts": dict(self.counts),
            "file_compacted": self.file_compacted,
            "wal_truncated": self.wal_truncated,
        }


def erase(customer: Customer, actor: str, *, compact: bool = True) -> ErasureReport:
    """Erase ``customer`` (GDPR Art. 17): every registered row about the person is deleted or
    anonymised in one transaction — master data, appointments, unassigned calendar entries whose title
    names them (exact full name after Unicode normalisation), messages with texts, attempts, provider
    payloads and history, consents, objection, requests; admin-log entries keep only who/when/what.

    Also in that transaction: a PrivacyLedger row (ERASE, customer id only: a restore from an older
    backup re-applies it) and an audit entry with the counts (ids and numbers only). Anonymous counts
    (MonthlyUsage, MonthlyStatistic) are not touched, as Recital 26 allows.

    Then, on SQLite and unless ``compact`` is False or an outer transaction is open, the freed pages are
    removed from the file and its WAL (:func:`remove_deleted_bytes`). Raises ErasureDeferred while a
    message of the person is being sent (nothing changed); Customer.DoesNotExist when already erased.
    """
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(pk=customer.pk)
        _refuse_while_sending(locked)
        counts = {label: registration.eraser(locked) for label, registration in REGISTRY.items()}
        PrivacyLedger.objects.create(at=timezone.now(), kind=LedgerKind.ERASE, customer_id=customer.pk)
        detail = " ".join(f"{label}={count}" for label, count in counts.items() if count)
        audit(actor, AuditAction.ERASE, "customer", customer.pk, detail)
    compacted, truncated = remove_deleted_bytes() if compact else (False, False)
    return ErasureReport(customer.pk, counts, compacted, truncated)


def _refuse_while_sending(customer: Customer) -> None:
    """Lock the person's messages (PostgreSQL: a worker's SKIP LOCKED claim passes them by) and raise
    ErasureDeferred when one is held by a live worker lease."""
    now = timezone.now()
    leases = OutboundMessage.objects.select_for_update().filter(customer=customer)
    busy = [
        lease
        for status, lease in leases.values_list("status", "lease_until")
        if status == MessageStatus.SENDING and lease and lease > now
    ]
    if busy:
        raise ErasureDeferred(max(1, int((max(busy) - now).total_seconds()) + 1))


def remove_deleted_bytes(using: str = DEFAULT_DB_ALIAS) -> tuple[bool, bool]:
    """Make deleted rows unrecoverable from an SQLite database file and its WAL.

    A DELETE only marks pages free; the old bytes stay in the file and in WAL frames until overwritten.
    So: ``PRAGMA wal_checkpoint(TRUNCATE)`` (copy the WAL into the file, cut the WAL to 0 bytes),
    ``VACUUM`` (rebuild the file from live rows only; in WAL mode the new pages go through the WAL), and
    the checkpoint again (the rebuilt pages into the file, which shrinks to its new size; WAL cut to 0).

    Returns (file rewritten, WAL emptied). (False, False) on other engines and inside a transaction
    (VACUUM cannot run there). Other processes may keep reading; writers wait up to the busy timeout.
    The WAL is not emptied while another connection reads an older snapshot (SQLite: "busy").
    Source: https://sqlite.org/pragma.html#pragma_wal_checkpoint, https://sqlite.org/lang_vacuum.html
    (read 2025-06).
    """
    connection = connections[using]
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return False, False
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.fetchall()
        cursor.execute("VACUUM")
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        busy, _, _ = cursor.fetchone()
    return True, busy == 0
