"""Staff hold a reminder before it goes out, and release it again (the "Tomorrow's run" page).

A held message has status ``held`` (``MessageStatus.HELD``), which the worker never claims
(``CLAIMABLE``) and which cancelling an appointment still cancels (``PENDING``). The dispatch code holds
messages itself for three reasons (unknown outcome under the "hold" policy, spent budget, a sender ID the
destination refuses); a staff hold is told apart by ``error_code == "held_by_staff"``. Every change goes
through ``lifecycle.set_status`` (DESIGN.md invariant 4), so the message's history shows who held it (by
user id only).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from alphasms.messaging.models import CLAIMABLE, MessageStatus, OutboundMessage
from alphasms.messaging.services.lifecycle import set_status

HELD_BY_STAFF = "held_by_staff"
# Held because no configured sender may be used for the destination: releasing would send it with the
# provider's default sender, which the destination refuses too. The fix is a setting, not a click.
_NOT_RELEASABLE = frozenset({"sender_not_allowed"})


class HoldRefused(ValueError):
    """The message cannot be held or released now. ``code`` is a stable slug: ``not_pending`` (only
    planned, queued or retry-waiting messages can be held), ``not_held``, ``sender_not_allowed``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def hold(message_id: int, *, actor_id: int | None, now: dt.datetime) -> OutboundMessage:
    """Hold a pending message for staff: status ``held``, ``error_code`` "held_by_staff".

    ``now`` is an aware UTC datetime. Raises ``OutboundMessage.DoesNotExist`` for an unknown id and
    HoldRefused("not_pending") unless the message is planned, queued or waiting to retry (a message
    being sent cannot be stopped any more). Side effects: one UPDATE and one StatusEvent, in one
    transaction with a row lock (the worker's claim cannot interleave)."""
    with transaction.atomic():
        message = OutboundMessage.objects.select_for_update().get(pk=message_id)
        if message.status not in CLAIMABLE:
            text = f"Nachricht {message_id} ist {message.status}; nur geplante lassen sich anhalten."
            raise HoldRefused("not_pending", text)
        set_status(
            message,
            MessageStatus.HELD,
            note=f"held by staff (user {actor_id})",
            at=now,
            error_code=HELD_BY_STAFF,
            user_message="Vom Team zurückgehalten.",
        )
    return message


def releasable(message: OutboundMessage) -> bool:
    """True when a held ``message`` may be released (not held for a sender the destination refuses)."""
    return message.error_code not in _NOT_RELEASABLE


def release(message_id: int, *, actor_id: int | None, now: dt.datetime) -> OutboundMessage:
    """Let a held message go out again.

    Never attempted: back to ``planned`` at its planned instant (``next_attempt_at``, or ``now`` when
    that has passed). Attempted before (held after an unknown outcome): ``queued`` for ``now`` and
    flagged ``possible_duplicate``, since the earlier attempt may have reached the person. The send-time
    checks (invariant 2: consent, restriction, window, budget) still run in the worker. Raises
    HoldRefused("not_held") unless held, HoldRefused("sender_not_allowed") for a message held because
    the destination refuses every configured sender (the staff sentence is on the message).
    Side effects: one UPDATE and one StatusEvent."""
    with transaction.atomic():
        message = OutboundMessage.objects.select_for_update().get(pk=message_id)
        if message.status != MessageStatus.HELD:
            raise HoldRefused("not_held", f"Nachricht {message_id} ist nicht zurückgehalten.")
        if message.error_code in _NOT_RELEASABLE:
            raise HoldRefused(message.error_code, message.user_message)
        attempted = message.attempt_count > 0
        set_status(
            message,
            MessageStatus.QUEUED if attempted else MessageStatus.PLANNED,
            note=f"released by staff (user {actor_id})",
            at=now,
            next_attempt_at=now if attempted else max(message.next_attempt_at, now),
            error_code="",
            user_message="",
            possible_duplicate=message.possible_duplicate or attempted,
        )
    return message
