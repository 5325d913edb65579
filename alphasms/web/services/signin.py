"""Two-step sign-in: password (Django auth, throttled by django-axes), then a TOTP code (django-otp).

Nobody is signed in (``django.contrib.auth.login``) before the second factor is passed: between the
steps the session holds only a *pending* sign-in (user id, backend, when, where to go next), valid for
``PENDING_MAX_AGE_S``. So the admin and every other view see an anonymous user until the TOTP code was
right — there is no half-signed-in state to forget to check.

* Users with a confirmed TOTP device give a code (RFC 6238, 30 s steps, 6 digits, ±1 step tolerance;
  django-otp throttles wrong codes with a growing delay and refuses a code used before).
* Owners without a device set one up first: a new unconfirmed device is shown as otpauth URI, base32
  secret and QR code; the first right code confirms it and signs in.
* Staff and read-only users without a device sign in with the password alone (they may add a device).

The instant of sign-in is kept in the session (``SIGNED_IN_AT_KEY``) for the absolute session limit
(``alphasms.web.middleware``); the idle limit is Django's ``SESSION_COOKIE_AGE`` with
``SESSION_SAVE_EVERY_REQUEST``.
"""

from __future__ import annotations

import base64
import enum
import math
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import auth
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from alphasms.web.roles import Role, role_of

PENDING_KEY = "web_pending_signin"
PENDING_MAX_AGE_S = 300
SIGNED_IN_AT_KEY = "web_signed_in_at"
DEVICE_NAME = "Authenticator"


class Step(enum.StrEnum):
    """What follows a right password."""

    DONE = "done"  # signed in
    TOTP = "totp"  # enter a code from the confirmed device
    SETUP = "setup"  # an owner without a device: set one up


@dataclass(frozen=True)
class Pending:
    """A sign-in whose password was right and whose second factor is still missing."""

    user: Any  # the user model instance
    backend: str
    next_url: str


def confirmed_device(user: AbstractBaseUser) -> TOTPDevice | None:
    """The user's confirmed TOTP device (the first one), or None."""
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).order_by("pk").first()


def begin(request: HttpRequest, user: Any, next_url: str) -> Step:
    """Continue after a right password: sign in at once when no second factor is due, else store the
    pending sign-in in the session and say which step follows. Side effect: session writes."""
    device = confirmed_device(user)
    if device is None and role_of(user) is not Role.OWNER:
        complete(request, user, user.backend, None)
        return Step.DONE
    request.session[PENDING_KEY] = {
        "user_id": user.pk,
        "backend": user.backend,
        "at": time.time(),
        "next": next_url,
    }
    return Step.TOTP if device else Step.SETUP


def pending(request: HttpRequest) -> Pending | None:
    """The pending sign-in of this session, or None when there is none, it expired, or the user was
    deactivated meanwhile."""
    data = request.session.get(PENDING_KEY)
    if not isinstance(data, dict) or time.time() - float(data.get("at", 0)) > PENDING_MAX_AGE_S:
        request.session.pop(PENDING_KEY, None)
        return None
    user = auth.get_user_model().objects.filter(pk=data["user_id"], is_active=True).first()
    if user is None:
        return None
    return Pending(user, str(data["backend"]), str(data.get("next", "")))


def wait_s(device: TOTPDevice | None) -> int:
    """Seconds (at least 1) before django-otp checks another code of ``device``, or 0 when it would check
    one now. django-otp throttles after each wrong code (1, 2, 4, … s, ``OTP_TOTP_THROTTLE_FACTOR``) and
    refuses every code meanwhile, the right one too; ``Device.verify_is_allowed()`` says until when."""
    if device is None:
        return 0
    allowed, data = device.verify_is_allowed()
    if allowed:
        return 0
    until: datetime | None = (data or {}).get("locked_until")
    if until is None:
        return 1
    return max(1, math.ceil((until - timezone.now()).total_seconds()))


def verify(request: HttpRequest, signin: Pending, code: str) -> bool:
    """Check ``code`` against the user's confirmed device; right → signed in. False when wrong, reused,
    throttled or when there is no confirmed device."""
    device = confirmed_device(signin.user)
    if device is None or not device.verify_token(_digits(code)):
        return False
    complete(request, signin.user, signin.backend, device)
    return True


def setup_device(signin: Pending) -> TOTPDevice:
    """The unconfirmed device an owner is setting up (created once, so reloading the page keeps the
    secret already scanned). Side effect: one row on first call."""
    device = TOTPDevice.objects.filter(user_id=signin.user.pk, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=signin.user, name=DEVICE_NAME, confirmed=False)


def confirm_setup(request: HttpRequest, signin: Pending, code: str) -> bool:
    """Confirm the device being set up with its first right code, then sign in."""
    device = setup_device(signin)
    if not device.verify_token(_digits(code)):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    complete(request, signin.user, signin.backend, device)
    return True


def base32_secret(device: TOTPDevice) -> str:
    """The device's secret in base32 (RFC 4648) in groups of four, as authenticator apps accept it."""
    secret = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_svg(uri: str) -> str:
    """An inline SVG QR code of ``uri`` (segno, made here: the secret never goes to a QR service)."""
    import segno

    return str(segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff"))


def complete(request: HttpRequest, user: Any, backend: str, device: TOTPDevice | None) -> None:
    """Sign in (new session key) and record the device and the instant of sign-in."""
    request.session.pop(PENDING_KEY, None)
    auth.login(request, user, backend=backend)
    if device is not None:
        otp_login(request, device)
    request.session[SIGNED_IN_AT_KEY] = time.time()


def _digits(code: str) -> str:
    return "".join(ch for ch in code if ch.isdigit())
