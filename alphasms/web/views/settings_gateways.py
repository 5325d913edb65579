"""Settings → Gateways (owners): the gateways with masked credentials, a form to store, replace or clear
a credential (encrypted, ``alphasms.credentials.store``), and a "Send test" button
(``alphasms.messaging.services.send_test``). Services: ``alphasms.web.services.settings_gateways``.

Credential values arrive only in the POST field ``value``: Django's error reports hide it
(``sensitive_post_parameters``), the form never renders it back, and nothing here logs it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_POST

from alphasms.cli_text import use_language
from alphasms.credentials import store
from alphasms.messaging.gateways.errors import GatewayMisconfigured
from alphasms.messaging.services.send_test import SendTestInputError, misconfiguration, send_test
from alphasms.web.roles import Area, area_view
from alphasms.web.services import settings_gateways as service


class CredentialForm(forms.Form):
    """Store or clear one declared setting of one gateway. ``value`` is a password field that is never
    filled in again (``render_value=False``)."""

    gateway = forms.CharField(widget=forms.HiddenInput)
    name = forms.ChoiceField(label=gettext_lazy("Setting"))
    value = forms.CharField(
        label=gettext_lazy("New value"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy("Stored encrypted. The current value is never shown again."),
    )

    def __init__(self, slug: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slug = slug
        self.fields["gateway"].initial = slug
        name_field = self.fields["name"]
        assert isinstance(name_field, forms.ChoiceField)
        name_field.choices = [
            (spec.name, f"ALPHASMS_{spec.name}") for spec in service.declared_settings(slug)
        ]
        self.auto_id = f"id_{slug}_%s"


class TestForm(forms.Form):
    """Where the test message goes: a mobile number or an e-mail address."""

    gateway = forms.CharField(widget=forms.HiddenInput)
    to = forms.CharField(
        label=gettext_lazy("Recipient (mobile number or e-mail address)"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, slug: str, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["gateway"].initial = slug
        self.auto_id = f"id_{slug}_test_%s"


def _page(
    request: HttpRequest, status: int = 200, forms_for: dict[tuple[str, str], Any] | None = None, **extra: Any
) -> HttpResponse:
    rows = service.gateway_rows()
    forms_for = forms_for or {}
    sections = [
        {
            "gateway": row,
            "credential_form": forms_for.get(("credential", row.slug)) or CredentialForm(row.slug),
            "test_form": forms_for.get(("test", row.slug)) or TestForm(row.slug),
            "test_result": extra.get("test_result") if extra.get("test_slug") == row.slug else None,
        }
        for row in rows
    ]
    context = {"sections": sections, "key_file": store.key_path(), "subnav": "gateways"}
    return render(request, "web/settings/gateways.html", context, status=status)


@require_GET
@area_view(Area.SETTINGS)
def gateways_view(request: HttpRequest) -> HttpResponse:
    """The list of gateways, their settings (masked) and the forms."""
    return _page(request)


def _known_slug(request: HttpRequest) -> str | None:
    slug = str(request.POST.get("gateway", ""))
    return slug if slug in service.shown_slugs() else None


@sensitive_variables("form", "value")
@sensitive_post_parameters("value")
@require_POST
@area_view(Area.SETTINGS)
def credential_view(request: HttpRequest) -> HttpResponse:
    """Store (button ``save``) or clear (button ``clear``) one credential; back to the list."""
    slug = _known_slug(request)
    if slug is None:
        messages.error(request, _("Unknown gateway."))
        return redirect("web:settings_gateways")
    form = CredentialForm(slug, request.POST)
    if not form.is_valid():
        return _page(request, 400, {("credential", slug): form})
    name, value = form.cleaned_data["name"], form.cleaned_data["value"]
    actor = f"web:user:{request.user.pk}"
    if request.POST.get("action") == "clear":
        if store.clear_secret(name, actor):
            messages.success(request, _("ALPHASMS_%(name)s: the stored value was deleted.") % {"name": name})
        else:
            messages.info(request, _("ALPHASMS_%(name)s: nothing was stored.") % {"name": name})
        return redirect("web:settings_gateways")
    if not value.strip():
        form.add_error("value", _("Enter the new value, or use “Clear” to delete the stored one."))
        return _page(request, 400, {("credential", slug): form})
    english = (get_language() or "").startswith("en")
    refusal = service.url_refusal(slug, name, value)
    if refusal is not None:  # DESIGN.md invariant 8: https and a public host, checked before storing
        form.add_error("value", refusal[1] if english else refusal[0])
        return _page(request, 400, {("credential", slug): form})
    try:
        with transaction.atomic():
            old = store.stored_value(name)
            info = store.set_secret(name, value, actor)
            cleared = service.clear_secrets_after_url_change(slug, name, old, actor)
    except store.SecretStoreError as exc:
        form.add_error("value", exc.en if english else exc.de)
        return _page(request, 400, {("credential", slug): form})
    messages.success(
        request,
        _("ALPHASMS_%(name)s stored encrypted (%(masked)s).") % {"name": name, "masked": info.masked},
    )
    if cleared:
        messages.warning(
            request,
            _(
                "The address changed, so the stored keys of this gateway were deleted (%(names)s): "
                "enter them again."
            )
            % {"names": ", ".join(cleared)},
        )
    return redirect("web:settings_gateways")


@require_POST
@area_view(Area.SETTINGS)
def test_view(request: HttpRequest) -> HttpResponse:
    """Send one test message through the gateway and show the outcome (the diagnosis when it failed).
    With htmx only the result block is returned."""
    slug = _known_slug(request)
    if slug is None:
        messages.error(request, _("Unknown gateway."))
        return redirect("web:settings_gateways")
    form = TestForm(slug, request.POST)
    english = (get_language() or "").startswith("en")
    result: dict[str, Any]
    try:
        if not form.is_valid():
            raise SendTestInputError("to", "", "")
        with use_language(get_language()):
            outcome = send_test(slug, form.cleaned_data["to"])
    except SendTestInputError as exc:
        if exc.en:  # the headline, then each reason as an error of its own (shown as a list)
            field = "to" if exc.field == "to" else None
            for error in [exc.headline_en, *exc.hints_en] if english else [exc.headline_de, *exc.hints_de]:
                form.add_error(field, error)
        if request.headers.get("HX-Request"):  # htmx swaps only 2xx answers: the error goes in the result
            errors = [str(e) for errors in form.errors.values() for e in errors]
            result = {"accepted": False, "code": "input", "sentence": errors[0], "hints": errors[1:]}
            return render(request, "web/settings/_test_result.html", {"result": result, "slug": slug})
        return _page(request, 400, {("test", slug): form})
    except GatewayMisconfigured as exc:
        de, en = misconfiguration(exc)
        result = {"accepted": False, "code": "misconfigured", "sentence": en if english else de}
    else:
        result = {
            "accepted": outcome.accepted,
            "code": outcome.code,
            "message_id": outcome.message_id,
            "channel": outcome.channel,
            "sentence": outcome.en if english else outcome.de,
        }
    result["sentence"] = service.scrub(str(result["sentence"]), service.secret_values(slug))
    if request.headers.get("HX-Request"):
        return render(request, "web/settings/_test_result.html", {"result": result, "slug": slug})
    return _page(request, 200, {("test", slug): form}, test_result=result, test_slug=slug)
