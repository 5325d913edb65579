"""The tamper-evident audit log (GDPR Art. 5(2), 30; KBV IT-Sicherheitsrichtlinie).

Each entry stores SHA-256(previous hash | its own fields). Appends lock the single ``AuditHead`` row,
so concurrent writers (several workers, web processes) form one chain. ``verify_chain`` recomputes every
hash and names the first entry that does not match. Entries hold ids only, never personal data.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from alphasms.privacy.models import AuditAction, AuditEntry, AuditHead

GENESIS = "0" * 64


def entry_hash(prev_hash: str, entry: AuditEntry) -> str:
    """The chain hash of ``entry`` after ``prev_hash`` (hex SHA-256 over '|'-joined fields)."""
    fields = [
        prev_hash,
        entry.at.isoformat(timespec="microseconds"),
        entry.actor,
        entry.action,
        entry.object_type,
        entry.object_id,
        entry.detail,
    ]
    return hashlib.sha256("|".join(fields).encode("utf-8")).hexdigest()


def audit(
    actor: str, action: AuditAction, object_type: str, object_id: object, detail: str = ""
) -> AuditEntry:
    """Append one entry. ``object_id`` and ``detail`` must not contain personal data (ids only).

    Side effects: INSERT into the audit log and UPDATE of the chain head, in one transaction (joins the
    caller's transaction if there is one, so the entry commits with the change it records).
    """
    with transaction.atomic():
        head, _ = AuditHead.objects.select_for_update().get_or_create(pk=1)
        entry = AuditEntry(
            at=timezone.now(),
            actor=actor[:150],
            action=action,
            object_type=object_type[:64],
            object_id=str(object_id)[:64],
            detail=detail[:500],
            prev_hash=head.last_hash,
        )
        entry.hash = entry_hash(head.last_hash, entry)
        entry.save()
        head.last_hash = entry.hash
        head.save(update_fields=["last_hash"])
    return entry


@dataclass(frozen=True)
class ChainProblem:
    """The first entry whose stored values do not match the chain: its id and what is wrong."""

    entry_id: int
    reason: str


def verify_chain() -> ChainProblem | None:
    """Recompute every hash in id order; None when the whole chain is intact.

    Detects an edited entry (its hash no longer matches), a deleted entry (the next one's ``prev_hash``
    points at nothing) and a truncated tail (the head names a hash no entry has).
    """
    prev = GENESIS
    last_id = 0
    for entry in AuditEntry.objects.order_by("id").iterator():
        if entry.prev_hash != prev:
            return ChainProblem(
                entry.pk, f"entry #{entry.pk} does not follow entry #{last_id} (deleted or reordered)"
            )
        if entry_hash(prev, entry) != entry.hash:
            return ChainProblem(entry.pk, f"entry #{entry.pk} was changed after it was written")
        prev, last_id = entry.hash, entry.pk
    head = AuditHead.objects.filter(pk=1).first()
    if head is not None and head.last_hash != prev:
        return ChainProblem(last_id, f"entries after #{last_id} are missing")
    return None
