"""Settings → General: locations (time zone, country, budget) with this month's SMS spend, the sending
windows of the reminder rules, SMS prices, and the users of the web app with their roles.

Users: creating one with a role, changing the role, deactivating and reactivating, and removing the TOTP
device (the person sets up a new one at the next sign-in; owners must). The practice never loses its last
owner: a change that would leave no active owner raises ``LastOwner`` and changes nothing, and nobody
deactivates themselves (another owner does it). Superusers are owners whatever their groups
(``alphasms.web.roles.role_of``); their role is changed in the admin. Logs name user ids only.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.db.models import Q
from django_otp.plugins.otp_totp.models import TOTPDevice

from alphasms.appointments.models import Location, ReminderRule
from alphasms.messaging.models import SmsPrice
from alphasms.messaging.services.cost import month_spend_micros
from alphasms.web.roles import Role

log = logging.getLogger("alphasms.web.settings")


class LastOwner(ValueError):
    """The change would leave the practice without an active owner (or an owner without access)."""


class SelfDeactivation(ValueError):
    """A user tried to deactivate their own account."""


@dataclass(frozen=True)
class LocationRow:
    """A location with this month's SMS spend (millionths of its budget currency, exact) and the share
    of its budget (None without a budget)."""

    location: Location
    spent_micros: int

    @property
    def percent(self) -> int | None:
        """Spend as a whole percentage of the monthly budget (may exceed 100)."""
        budget = self.location.monthly_sms_budget_micros
        return round(100 * self.spent_micros / budget) if budget else None


@dataclass(frozen=True)
class UserRow:
    """A user of the web app: its role (None = no access), whether it is active, a superuser, and
    whether it has a confirmed TOTP device."""

    user: Any
    role: Role | None
    has_device: bool


def locations(now: dt.datetime) -> list[LocationRow]:
    """Every location by name with its spend this month (one aggregate query per location)."""
    return [LocationRow(loc, month_spend_micros(loc, now)) for loc in Location.objects.order_by("name", "pk")]


def sending_windows() -> list[ReminderRule]:
    """The active rules with their sending window (local time of each appointment's location)."""
    return list(ReminderRule.objects.filter(active=True).order_by("name", "pk"))


def prices() -> list[SmsPrice]:
    """SMS prices per destination country, "*" (all others) last."""
    return sorted(SmsPrice.objects.all(), key=lambda p: (p.country == "*", p.country))


def users() -> list[UserRow]:
    """Every user with role and device state, in three queries."""
    model = get_user_model()
    accounts = list(model.objects.prefetch_related("groups").order_by("username"))
    with_device = set(TOTPDevice.objects.filter(confirmed=True).values_list("user_id", flat=True))
    return [UserRow(u, _role(u), u.pk in with_device) for u in accounts]


def _role(user: Any) -> Role | None:
    if user.is_superuser:
        return Role.OWNER
    names = {g.name for g in user.groups.all()}
    return next((r for r in (Role.OWNER, Role.STAFF, Role.READONLY) if r.value in names), None)


def _active_owner_ids() -> set[int]:
    model = get_user_model()
    owners = model.objects.filter(is_active=True).filter(
        Q(is_superuser=True) | Q(groups__name=Role.OWNER.value)
    )
    return set(owners.values_list("pk", flat=True))


def create_user(username: str, password: str, role: Role) -> Any:
    """A new active user in the group of ``role``. Raises ValidationError for a taken user name (field
    ``username``) or a password the validators refuse (field ``password``). Owners set up their TOTP
    device at their first sign-in."""
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    model = get_user_model()
    if model.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": _("This user name is taken: choose another one.")})
    candidate = model(username=username)
    try:
        validate_password(password, candidate)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    with transaction.atomic():
        user = model.objects.create_user(username, password=password)
        user.groups.add(Group.objects.get_or_create(name=role.value)[0])
    log.info("user %s created with role %s", user.pk, role.value)
    return user


def set_role(user: Any, role: Role) -> None:
    """Put ``user`` in the group of ``role`` only. Raises LastOwner when that would take the last
    active owner's role; ValueError for a superuser (always an owner: changed in the admin)."""
    if user.is_superuser:
        raise ValueError("superuser")
    with transaction.atomic():
        owners = _active_owner_ids()
        if role is not Role.OWNER and owners == {user.pk}:
            raise LastOwner(user.pk)
        groups = [Group.objects.get_or_create(name=r.value)[0] for r in Role]
        user.groups.remove(*groups)
        user.groups.add(next(g for g in groups if g.name == role.value))
    log.info("user %s role set to %s", user.pk, role.value)


def set_active(actor: Any, user: Any, active: bool) -> None:
    """Deactivate (no sign-in, sessions end at their next request) or reactivate ``user``. Raises
    SelfDeactivation for one's own account and LastOwner for the last active owner."""
    if not active and user.pk == actor.pk:
        raise SelfDeactivation(user.pk)
    with transaction.atomic():
        if not active and _active_owner_ids() == {user.pk}:
            raise LastOwner(user.pk)
        user.is_active = active
        user.save(update_fields=["is_active"])
    log.info("user %s %s by user %s", user.pk, "reactivated" if active else "deactivated", actor.pk)


def reset_totp(user: Any) -> int:
    """Remove every TOTP device of ``user``; returns how many. The person sets up a new one at the next
    sign-in (owners must; for others it becomes optional again)."""
    count: int = TOTPDevice.objects.filter(user=user).delete()[0]
    log.info("user %s: %d TOTP devices removed", user.pk, count)
    return count
