"""Absolute session limit: a sign-in lasts at most ``ALPHASMS["SESSION_MAX_AGE_S"]`` seconds (default
12 h) however active the user is; the idle limit is Django's ``SESSION_COOKIE_AGE`` (30 min) renewed
on every request (``SESSION_SAVE_EVERY_REQUEST``)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest, HttpResponse

from alphasms.web.services.signin import SIGNED_IN_AT_KEY

DEFAULT_MAX_AGE_S = 12 * 3600


class SessionMaxAgeMiddleware:
    """Signs out a user whose sign-in is older than the absolute limit (after AuthenticationMiddleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            max_age_s = int(getattr(settings, "ALPHASMS", {}).get("SESSION_MAX_AGE_S", DEFAULT_MAX_AGE_S))
            # A session signed in elsewhere (the test client's force_login) starts its clock now.
            signed_in_at = float(request.session.setdefault(SIGNED_IN_AT_KEY, time.time()))
            if time.time() - signed_in_at > max_age_s:
                auth.logout(request)
        return self.get_response(request)
