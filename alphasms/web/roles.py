"""Roles of the staff web app and what each may see and change.

Three roles, each a Django group created by migration ``web/0001_roles``:

* ``owner``: everything (also every superuser, e.g. the sample user ``praxis``); must sign in with TOTP.
* ``staff``: the daily work — dashboard, appointments, customers, messages, tomorrow's run.
* ``readonly``: sees what staff sees, changes nothing (every request other than GET/HEAD/OPTIONS is 403).

A user in no group has no access to the staff web app. Pages declare their ``Area``; ``area_view``
enforces sign-in, the second factor and the role. The table ``_STAFF_AREAS`` is the one place that says
which areas are daily work; everything else is for owners.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode


class Role(enum.StrEnum):
    """The three roles; the value is the Django group's name."""

    OWNER = "owner"
    STAFF = "staff"
    READONLY = "readonly"


class Area(enum.StrEnum):
    """What a page is about; decides who may see (GET) and change (POST…) it."""

    DASHBOARD = "dashboard"
    APPOINTMENTS = "appointments"
    CUSTOMERS = "customers"
    MESSAGES = "messages"
    TOMORROW = "tomorrow"
    RULES = "rules"
    IMPORTS = "imports"
    SETTINGS = "settings"
    USERS = "users"


_STAFF_AREAS = frozenset({Area.DASHBOARD, Area.APPOINTMENTS, Area.CUSTOMERS, Area.MESSAGES, Area.TOMORROW})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_PRECEDENCE = (Role.OWNER, Role.STAFF, Role.READONLY)


def role_of(user: AbstractBaseUser | AnonymousUser) -> Role | None:
    """The user's role: a superuser is an owner; otherwise the highest of its groups (owner > staff >
    readonly); None for anonymous, inactive or group-less users. Costs one query unless the groups were
    prefetched (``user._web_role`` caches it for the request)."""
    if not user.is_authenticated or not user.is_active:
        return None
    cached = getattr(user, "_web_role", False)
    if cached is not False:
        return cast(Role | None, cached)
    account = cast(Any, user)  # the project's User (groups, is_superuser)
    if account.is_superuser:
        role: Role | None = Role.OWNER
    else:
        names = set(account.groups.values_list("name", flat=True))
        role = next((r for r in _PRECEDENCE if r.value in names), None)
    account._web_role = role
    return role


def can_view(role: Role | None, area: Area) -> bool:
    """True when ``role`` may see pages of ``area``."""
    return role is Role.OWNER or (role is not None and area in _STAFF_AREAS)


def can_change(role: Role | None, area: Area) -> bool:
    """True when ``role`` may change data in ``area`` (POST, PUT, PATCH, DELETE)."""
    return role is Role.OWNER or (role is Role.STAFF and area in _STAFF_AREAS)


def needs_second_factor(user: AbstractBaseUser | AnonymousUser) -> bool:
    """True when the signed-in user has not passed TOTP but must: owners always, others once they
    have a confirmed device. ``is_verified`` comes from django-otp's OTPMiddleware."""
    from django_otp import user_has_device

    verified = getattr(user, "is_verified", lambda: False)()
    if verified:
        return False
    return role_of(user) is Role.OWNER or user_has_device(user)


View = TypeVar("View", bound=Callable[..., HttpResponse])


def area_view(area: Area) -> Callable[[View], View]:
    """Decorate a view of ``area``: anonymous users (and those who still owe the TOTP step) go to the
    sign-in page with ``next``; a user whose role may not see the area, or may not change it and sent
    anything but GET/HEAD/OPTIONS, gets the 403 page. Sets ``request.web_role``."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated or needs_second_factor(user):
                return redirect(f"{reverse('web:login')}?{urlencode({'next': request.get_full_path()})}")
            role = role_of(user)
            allowed = can_view if request.method in SAFE_METHODS else can_change
            if not allowed(role, area):
                return render(request, "web/forbidden.html", status=403)
            request.web_role = role  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        return cast(View, wrapper)

    return decorate
