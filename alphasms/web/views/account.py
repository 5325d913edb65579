"""The signed-in user's own account: change the password (every role, read-only users too).

Django's ``PasswordChangeForm`` checks the old password and runs ``AUTH_PASSWORD_VALIDATORS`` on the new
one; ``update_session_auth_hash`` keeps this session signed in (with its second factor) while every other
session of the user ends, because their stored password hash no longer matches.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from alphasms.web.roles import needs_second_factor

View = Callable[..., HttpResponse]


def signed_in_view(view: View) -> View:
    """Any signed-in user who passed the second factor, whatever the role; others go to the sign-in page
    with ``next``."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated or needs_second_factor(user):
            return redirect(f"{reverse('web:login')}?{urlencode({'next': request.get_full_path()})}")
        return view(request, *args, **kwargs)

    return cast(View, wrapper)


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@never_cache
@require_http_methods(["GET", "POST"])
@signed_in_view
def password_change_view(request: HttpRequest) -> HttpResponse:
    """Change one's own password: the current one, then the new one twice (``AUTH_PASSWORD_VALIDATORS``
    apply). Side effect: the user's password hash; this session's key is renewed."""
    form = PasswordChangeForm(cast(Any, request.user), request.POST or None)  # signed in: a user
    if request.method == "POST" and form.is_valid():
        user = form.save()
        update_session_auth_hash(request, user)
        messages.success(request, _("Your password was changed."))
        return redirect("web:password_change")
    return render(request, "web/account/password_change.html", {"form": form})
