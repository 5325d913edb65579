"""Roles: who sees which page, read-only users change nothing, CSRF is enforced."""

from __future__ import annotations

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

from alphasms.testing.web import make_web_user, sign_in
from alphasms.web.roles import Area, Role, area_view, can_change, can_view, role_of

pytestmark = pytest.mark.django_db


@area_view(Area.APPOINTMENTS)
def _appointments(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@area_view(Area.SETTINGS)
def _settings(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def _call(view, user, method: str = "get") -> int:
    request = getattr(RequestFactory(), method)("/x/")
    request.user = user
    request.session = {}
    return view(request).status_code


@pytest.mark.parametrize(
    ("role", "get_appointments", "post_appointments", "get_settings", "post_settings"),
    [
        (Role.OWNER, 200, 200, 200, 200),
        (Role.STAFF, 200, 200, 403, 403),
        (Role.READONLY, 200, 403, 403, 403),
    ],
)
def test_each_role_sees_and_changes_what_it_may(
    role, get_appointments, post_appointments, get_settings, post_settings
):
    user = make_web_user(role, with_device=False).user
    user.is_verified = lambda: True  # as OTPMiddleware sets it after the TOTP step
    assert _call(_appointments, user) == get_appointments
    assert _call(_appointments, user, "post") == post_appointments
    assert _call(_settings, user) == get_settings
    assert _call(_settings, user, "post") == post_settings


def test_a_user_without_a_role_has_no_access():
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("nobody", password="x-very-long-1")
    assert role_of(user) is None
    assert not can_view(None, Area.DASHBOARD) and not can_change(None, Area.DASHBOARD)
    assert Client().get("/").status_code == 302
    client = Client()
    client.force_login(user)
    assert client.get("/").status_code == 403


def test_a_superuser_is_an_owner():
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_superuser("chef", password="x-very-long-1")
    assert role_of(user) is Role.OWNER


def test_the_readonly_user_gets_403_on_a_post(web_client):
    client = web_client(Role.READONLY)
    assert client.get("/").status_code == 200
    response = client.post("/")
    assert response.status_code == 403
    assert (
        "Ihre Rolle erlaubt das nicht" in response.content.decode()
        or "Your role" in response.content.decode()
    )


def test_an_owner_signed_in_without_the_second_factor_is_sent_to_sign_in():
    owner = make_web_user(Role.OWNER)
    client = Client()
    client.force_login(owner.user)  # password only, no TOTP step
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")
    sign_in(client, owner)
    assert client.get("/").status_code == 200


def test_csrf_is_enforced_on_sign_in_sign_out_and_language():
    staff = make_web_user(Role.STAFF)
    client = Client(enforce_csrf_checks=True)
    assert (
        client.post("/login/", {"username": staff.user.username, "password": staff.password}).status_code
        == 403
    )
    assert client.post("/language/", {"language": "en"}).status_code == 403
    sign_in(client, staff)
    assert client.post("/logout/").status_code == 403
    # with the token from the page it works
    page = client.get("/")
    token = page.context["csrf_token"]
    assert client.post("/logout/", {"csrfmiddlewaretoken": str(token)}).status_code == 302


def test_htmx_requests_carry_the_csrf_token_from_the_body(web_client):
    page = web_client(Role.STAFF).get("/").content.decode()
    assert 'hx-headers=\'{"X-CSRFToken": "' in page
