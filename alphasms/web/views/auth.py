"""Sign-in (password, then TOTP or the owner's device setup) and sign-out. The flow is in
``alphasms.web.services.signin``; these views only parse forms and pick the next page."""

from __future__ import annotations

from django import forms
from django.contrib import auth
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from alphasms.web.roles import needs_second_factor
from alphasms.web.services import signin

_STEP_URL = {signin.Step.TOTP: "web:login_totp", signin.Step.SETUP: "web:login_setup"}


class CodeForm(forms.Form):
    """The six digits from the authenticator app."""

    code = forms.CharField(
        label=_("Code from your authenticator app"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


def _next_url(request: HttpRequest, candidate: str) -> str:
    """``candidate`` when it is a path on this site, else the dashboard (no open redirects)."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("web:dashboard")


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    """Step 1: user name and password (django-axes counts failures and answers with the lockout page)."""
    next_url = _next_url(request, request.POST.get("next") or request.GET.get("next", ""))
    if request.user.is_authenticated and not needs_second_factor(request.user):
        return redirect(next_url)
    form = AuthenticationForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        step = signin.begin(request, form.get_user(), next_url)
        return redirect(next_url if step is signin.Step.DONE else reverse(_STEP_URL[step]))
    return render(request, "web/login.html", {"form": form, "next": next_url})


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def totp_view(request: HttpRequest) -> HttpResponse:
    """Step 2: the code of the user's confirmed device."""
    pending = signin.pending(request)
    if pending is None:
        return redirect("web:login")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if wait := signin.wait_s(signin.confirmed_device(pending.user)):
            form.add_error("code", _throttled(wait))
        elif signin.verify(request, pending, form.cleaned_data["code"]):
            return redirect(_next_url(request, pending.next_url))
        else:
            form.add_error("code", _("This code is wrong or was already used. Wait for the next code."))
    return render(request, "web/login_totp.html", {"form": form})


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def setup_view(request: HttpRequest) -> HttpResponse:
    """Step 2 for an owner without a device: scan the QR code (or type the secret), confirm a code."""
    pending = signin.pending(request)
    if pending is None:
        return redirect("web:login")
    if signin.confirmed_device(pending.user) is not None:
        return redirect("web:login_totp")
    device = signin.setup_device(pending)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if wait := signin.wait_s(device):
            form.add_error("code", _throttled(wait))
        elif signin.confirm_setup(request, pending, form.cleaned_data["code"]):
            return redirect(_next_url(request, pending.next_url))
        else:
            form.add_error(
                "code", _("This code is wrong. Check the time on your phone and try the next code.")
            )
    uri = device.config_url
    context = {"form": form, "uri": uri, "secret": signin.base32_secret(device), "qr": signin.qr_svg(uri)}
    return render(request, "web/login_setup.html", context)


def _throttled(wait_s: int) -> str:
    """The sentence for a code not checked because django-otp still throttles after a wrong one."""
    return ngettext(
        "Too many attempts – please try again in %(seconds)d second.",
        "Too many attempts – please try again in %(seconds)d seconds.",
        wait_s,
    ) % {"seconds": wait_s}


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    """Sign out (POST only, so a link or image elsewhere cannot sign anyone out)."""
    auth.logout(request)
    return redirect("web:login")


def admin_login_redirect(request: HttpRequest) -> HttpResponse:
    """The admin's own login would skip the second factor: send it through ours. A signed-in user the
    admin still refuses (not an owner) gets 403 instead of a redirect loop."""
    if request.user.is_authenticated and not needs_second_factor(request.user):
        return render(request, "web/forbidden.html", status=403)
    next_url = request.GET.get("next") or "/admin/"
    return redirect(f"{reverse('web:login')}?{urlencode({'next': next_url})}")
