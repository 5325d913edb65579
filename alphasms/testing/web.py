"""Users per role for tests of the staff web app, signed in through the test client or a browser.

Fixtures: ``web_user(role, with_device=…)`` makes a user (and its confirmed TOTP device, always for
owners) and ``web_client(role)`` returns a Django test client signed in as a new user of that role
with the second factor passed. ``totp_code(device)`` computes the device's current code
(RFC 6238 through django-otp's own ``oath.totp``), as an authenticator app would.
``sign_in_browser(page, base_url, web_user)`` signs in through the login pages of a Playwright page.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from alphasms.web.roles import Role

PASSWORD = "Richtig-Pferd-Batterie-7"
_numbers = itertools.count(1)


@dataclass(frozen=True)
class WebUser:
    """A test user: the model instance, its password, its role and its confirmed device (or None)."""

    user: Any
    password: str
    role: Role
    device: TOTPDevice | None


def make_web_user(role: Role, username: str = "", with_device: bool | None = None) -> WebUser:
    """A user in the group of ``role`` with password ``PASSWORD``; owners (and ``with_device=True``)
    get a confirmed TOTP device. Side effect: rows in auth_user, auth_user_groups, otp_totp."""
    username = username or f"{role.value}{next(_numbers)}"
    user = get_user_model().objects.create_user(username, password=PASSWORD)
    user.groups.add(Group.objects.get_or_create(name=role.value)[0])  # flushed by transactional tests
    device = None
    if with_device if with_device is not None else role is Role.OWNER:
        device = TOTPDevice.objects.create(user=user, name="Authenticator", confirmed=True)
    return WebUser(user, PASSWORD, role, device)


def totp_code(device: TOTPDevice) -> str:
    """The device's code for the current 30-second step, zero-padded to its digits."""
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift)
    return str(code).zfill(device.digits)


def sign_in(client: Client, web_user: WebUser) -> Client:
    """Sign ``client`` in as ``web_user`` with the second factor marked as passed."""
    client.force_login(web_user.user)
    if web_user.device is not None:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = web_user.device.persistent_id
        session.save()
    return client


def sign_in_browser(page: Any, base_url: str, web_user: WebUser) -> None:
    """Sign ``web_user`` in through the German login pages of a Playwright ``page`` (from the
    ``browser_page`` fixture): user name and password, then the device's current TOTP code. Returns
    on the dashboard (``base_url + "/"``). Raises ``ValueError`` for a user without a confirmed device
    (make it with ``with_device=True``; owners always have one)."""
    if web_user.device is None:
        raise ValueError(f"sign_in_browser: user {web_user.user.username!r} has no TOTP device")
    page.goto(base_url + "/login/")
    page.get_by_label("Benutzername").fill(web_user.user.username)
    page.get_by_label("Passwort").fill(web_user.password)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(base_url + "/login/code/")
    page.get_by_label("Code aus Ihrer Authenticator-App").fill(totp_code(web_user.device))
    page.get_by_role("button", name="Bestätigen").click()
    page.wait_for_url(base_url + "/")


@pytest.fixture
def web_user(db: Any) -> Callable[..., WebUser]:
    """Factory: ``web_user(Role.STAFF)``, ``web_user(Role.OWNER, username="chefin")``."""
    return make_web_user


@pytest.fixture
def web_client(db: Any) -> Callable[[Role], Client]:
    """Factory: ``web_client(Role.READONLY)`` → a test client signed in as a new read-only user."""

    def make(role: Role, **client_kwargs: Any) -> Client:
        return sign_in(Client(**client_kwargs), make_web_user(role))

    return make
