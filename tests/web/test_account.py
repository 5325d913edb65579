"""The signed-in user's own account (password change) and the second factor's throttling message."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from alphasms.testing.web import PASSWORD, make_web_user, sign_in, totp_code
from alphasms.web.roles import Role
from alphasms.web.services import signin

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Neues-Sicheres-Passwort-42"


def _wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def test_a_right_code_right_after_a_wrong_one_says_how_long_to_wait():
    owner = make_web_user(Role.OWNER)
    client = Client(headers={"accept-language": "de"})
    client.post("/login/", {"username": owner.user.username, "password": owner.password})
    client.post("/login/code/", {"code": _wrong(totp_code(owner.device))})
    owner.device.refresh_from_db()
    owner.device.throttling_failure_count = 3  # django-otp: next try after 2**(3-1) = 4 s
    owner.device.throttling_failure_timestamp = timezone.now()
    owner.device.save()

    page = client.post("/login/code/", {"code": totp_code(owner.device)}).content.decode()
    assert "Zu viele Versuche – bitte in 4 Sekunden erneut versuchen." in page
    assert "Dieser Code ist falsch" not in page
    assert "_auth_user_id" not in client.session

    owner.device.throttling_failure_timestamp = timezone.now() - dt.timedelta(seconds=5)
    owner.device.save()
    assert client.post("/login/code/", {"code": totp_code(owner.device)})["Location"] == "/"


def test_the_throttling_message_uses_the_singular_for_one_second_in_english():
    owner = make_web_user(Role.OWNER)
    client = Client(headers={"accept-language": "en"})
    client.post("/login/", {"username": owner.user.username, "password": owner.password})
    owner.device.throttling_failure_count = 1
    owner.device.throttling_failure_timestamp = timezone.now()
    owner.device.save()
    page = client.post("/login/code/", {"code": totp_code(owner.device)}).content.decode()
    assert "Too many attempts – please try again in 1 second." in page


def test_the_setup_page_says_how_long_to_wait_too():
    owner = make_web_user(Role.OWNER, with_device=False)
    client = Client(headers={"accept-language": "de"})
    client.post("/login/", {"username": owner.user.username, "password": owner.password})
    client.get("/login/setup/")
    device = TOTPDevice.objects.get(user=owner.user, confirmed=False)
    wrong = client.post("/login/setup/", {"code": _wrong(totp_code(device))}).content.decode()
    assert "Dieser Code ist falsch" in wrong
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
    device.throttling_failure_count = 2
    device.throttling_failure_timestamp = timezone.now()
    device.save()
    page = client.post("/login/setup/", {"code": totp_code(device)}).content.decode()
    assert "Zu viele Versuche – bitte in 2 Sekunden erneut versuchen." in page
    device.refresh_from_db()
    assert device.confirmed is False


def test_wait_s_is_zero_when_django_otp_would_check_a_code():
    owner = make_web_user(Role.OWNER)
    assert signin.wait_s(owner.device) == 0
    assert signin.wait_s(None) == 0
    owner.device.throttling_failure_count = 4  # 8 s
    owner.device.throttling_failure_timestamp = timezone.now() - dt.timedelta(seconds=3)
    owner.device.save()
    assert signin.wait_s(owner.device) == 5


@pytest.mark.parametrize("role", [Role.OWNER, Role.STAFF, Role.READONLY])
def test_every_signed_in_user_changes_their_own_password_and_stays_signed_in(role):
    web_user = make_web_user(role)
    client = sign_in(Client(headers={"accept-language": "de"}), web_user)
    other_session = sign_in(Client(), web_user)
    page = client.get("/account/password/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Passwort ändern" in html and 'name="old_password"' in html
    assert 'href="/account/password/" aria-current="page"' in html  # the header link

    response = client.post(
        "/account/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302 and response["Location"] == "/account/password/"
    user = get_user_model().objects.get(pk=web_user.user.pk)
    assert user.check_password(NEW_PASSWORD) and not user.check_password(PASSWORD)
    assert "Ihr Passwort wurde geändert." in client.get("/account/password/").content.decode()
    assert client.get("/").status_code == 200  # this session kept (with its second factor)
    assert other_session.get("/").status_code == 302  # the other session ended


def test_a_wrong_old_password_or_a_weak_new_one_changes_nothing():
    web_user = make_web_user(Role.STAFF)
    client = sign_in(Client(headers={"accept-language": "de"}), web_user)
    wrong_old = client.post(
        "/account/password/",
        {"old_password": "falsch", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert wrong_old.status_code == 200
    assert "Das alte Passwort war falsch. Bitte neu eingeben." in wrong_old.content.decode()
    weak = client.post(
        "/account/password/", {"old_password": PASSWORD, "new_password1": "praxis", "new_password2": "praxis"}
    )
    assert weak.status_code == 200
    assert "mindestens 8 Zeichen" in weak.content.decode()
    user = get_user_model().objects.get(pk=web_user.user.pk)
    assert user.check_password(PASSWORD)


def test_the_password_page_needs_a_signed_in_user():
    response = Client().get("/account/password/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2Faccount%2Fpassword%2F"


def test_the_language_list_names_each_language_in_itself():
    html = Client(headers={"accept-language": "de"}).get("/login/").content.decode()
    assert '<option value="de" lang="de" selected>Deutsch</option>' in html
    assert '<option value="en" lang="en">English</option>' in html
    assert "Englisch" not in html
