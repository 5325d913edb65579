"""Sign-in: password then TOTP (or an owner's device setup), lockout after failed passwords, and the
admin's sign-in going through ours."""

from __future__ import annotations

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from alphasms.testing.web import make_web_user, totp_code
from alphasms.web.roles import Role

pytestmark = pytest.mark.django_db


def _password_step(client: Client, username: str, password: str, next_url: str = ""):
    return client.post("/login/", {"username": username, "password": password, "next": next_url})


def test_an_owner_with_a_device_gets_in_only_with_the_right_code():
    owner = make_web_user(Role.OWNER)
    client = Client(headers={"accept-language": "de"})
    response = _password_step(client, owner.user.username, owner.password)
    assert response.status_code == 302 and response["Location"] == "/login/code/"
    assert client.get("/").status_code == 302  # not signed in between the steps
    assert "_auth_user_id" not in client.session

    refused = client.post("/login/code/", {"code": "000000" if totp_code(owner.device) != "000000" else "1"})
    assert refused.status_code == 200
    assert "Dieser Code ist falsch" in refused.content.decode()

    owner.device.refresh_from_db()
    owner.device.throttling_failure_count = 0  # django-otp delays the next try after a failure
    owner.device.save()
    accepted = client.post("/login/code/", {"code": totp_code(owner.device)})
    assert accepted.status_code == 302 and accepted["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert "Heute" in page.content.decode()


def test_a_code_is_accepted_once():
    owner = make_web_user(Role.OWNER)
    first, second = Client(), Client()
    for client in (first, second):
        _password_step(client, owner.user.username, owner.password)
    code = totp_code(owner.device)
    assert first.post("/login/code/", {"code": code}).status_code == 302
    assert second.post("/login/code/", {"code": code}).status_code == 200


def test_an_owner_without_a_device_sets_one_up_before_getting_in():
    owner = make_web_user(Role.OWNER, with_device=False)
    client = Client(headers={"accept-language": "en"})
    response = _password_step(client, owner.user.username, owner.password, next_url="/")
    assert response["Location"] == "/login/setup/"
    page = client.get("/login/setup/").content.decode()
    device = TOTPDevice.objects.get(user=owner.user, confirmed=False)
    assert "otpauth://totp/AlphaSMS" in page
    assert "<svg" in page  # the QR code, made on the server
    assert client.get("/login/setup/").content.decode().count(device.config_url.split("secret=")[1][:16]) >= 1

    assert client.post("/login/setup/", {"code": totp_code(device)}).status_code == 302
    device.refresh_from_db()
    assert device.confirmed is True
    assert client.get("/").status_code == 200


def test_staff_without_a_device_sign_in_with_the_password():
    staff = make_web_user(Role.STAFF)
    client = Client()
    response = _password_step(client, staff.user.username, staff.password, next_url="/?x=1")
    assert response["Location"] == "/?x=1"
    assert client.get("/").status_code == 200


def test_next_never_leaves_the_site():
    staff = make_web_user(Role.STAFF)
    response = _password_step(Client(), staff.user.username, staff.password, next_url="https://evil.example/")
    assert response["Location"] == "/"


def test_five_wrong_passwords_lock_the_sign_in_with_a_page_saying_so(settings):
    staff = make_web_user(Role.STAFF)
    client = Client(headers={"accept-language": "de"})
    for _ in range(4):
        assert _password_step(client, staff.user.username, "falsch").status_code == 200
    locked = _password_step(client, staff.user.username, "falsch")
    assert locked.status_code == 429
    text = locked.content.decode()
    assert "Anmeldung gesperrt" in text and "15 Minuten" in text
    # the right password does not help while locked
    assert _password_step(client, staff.user.username, staff.password).status_code == 429
    english = _password_step(Client(headers={"accept-language": "en"}), staff.user.username, "x")
    assert "Sign-in blocked" in english.content.decode()


def test_the_admin_sign_in_goes_through_the_web_sign_in():
    response = Client().get("/admin/login/?next=/admin/appointments/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2Fadmin%2Fappointments%2F"


def test_sign_out_is_a_post():
    client = Client()
    from alphasms.testing.web import sign_in

    sign_in(client, make_web_user(Role.STAFF))
    assert client.get("/logout/").status_code == 405
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302
