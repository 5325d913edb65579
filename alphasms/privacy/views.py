"""The person's own pages behind their signed link (``privacy.links``): GDPR Art. 7(3), 15–18, 20, 21.

Every page is reached only with a valid token; an expired link answers 410, a forged or altered one 403,
and neither changes anything (no audit entry either: a forger must not be able to fill the log). Pages
are plain server-rendered HTML without JavaScript; every change is a POST with a CSRF token, answered
with a redirect (303) back to the person's page. German unless ``?lang=en`` or the person's language
says English. Every page view and action writes an audit entry with ids only, actor ``subject-link``.
Responses are never cached, not indexed and send no referrer (the token is in the URL).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from alphasms.appointments.models import Channel, Customer, Location
from alphasms.conf import app_settings
from alphasms.privacy import services, subject_rights
from alphasms.privacy.audit import audit
from alphasms.privacy.link_texts import Language, texts
from alphasms.privacy.links import LinkError, LinkExpired, expires_at, read_token
from alphasms.privacy.models import AuditAction, PrivacyRequest, PrivacyRequestKind, StatisticsObjection
from alphasms.privacy.subject_rights import ErasureDeferred, RestrictionBasis

ACTOR = "subject-link"
CHANNEL_LABELS: dict[str, tuple[str, str]] = {
    Channel.SMS: ("SMS", "SMS"),
    Channel.EMAIL: ("E-Mail", "e-mail"),
}
DONE_CODES = ("withdraw-sms", "withdraw-email", "object", "restrict", "rectify")

SubjectView = Callable[[HttpRequest, Customer, str, Language], HttpResponse]


class WithdrawForm(forms.Form):
    channel = forms.ChoiceField(choices=Channel.choices)


class RestrictionForm(forms.Form):
    basis = forms.ChoiceField(choices=[(basis.value, basis.value) for basis in RestrictionBasis])


class RectificationForm(forms.Form):
    text = forms.CharField(max_length=2000, strip=True)


class EraseForm(forms.Form):
    confirm = forms.BooleanField(required=True)


def _language(request: HttpRequest, customer: Customer | None) -> Language:
    """``?lang=`` (or the form's ``lang``) first, then the person's language, then the browser's; else de."""
    asked = request.POST.get("lang") or request.GET.get("lang") or ""
    if asked in ("de", "en"):
        return "en" if asked == "en" else "de"
    fallback = customer.language if customer is not None else getattr(request, "LANGUAGE_CODE", "de")
    return "en" if (fallback or "").lower().startswith("en") else "de"


def _secure(response: HttpResponse) -> HttpResponse:
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


def subject_page(view: SubjectView) -> Callable[..., HttpResponse]:
    """Resolve ``token`` to the customer or answer with the link error page (403/410, nothing changed)."""

    @wraps(view)
    @never_cache
    def wrapper(request: HttpRequest, token: str) -> HttpResponse:
        try:
            customer = read_token(token)
        except LinkError as exc:
            return _secure(_link_error(request, exc))
        return _secure(view(request, customer, token, _language(request, customer)))

    return wrapper


def _link_error(request: HttpRequest, exc: LinkError) -> HttpResponse:
    t = texts(_language(request, None))
    key = "expired" if isinstance(exc, LinkExpired) else "invalid"
    context = {"lang": _language(request, None), "title": t[f"{key}_title"], "text": t[f"{key}_text"]}
    return render(request, "privacy/link/error.html", context, status=exc.http_status)


def _practice(customer: Customer, language: Language) -> tuple[str, str]:
    """(name, phone) of the location of the person's latest appointment, else of the first location."""
    location = (
        Location.objects.filter(appointment__customer=customer).order_by("-appointment__start_at").first()
        or Location.objects.order_by("pk").first()
    )
    if location is None:
        return texts(language)["the_practice"], ""
    return location.name, location.phone


def _date(value: Any, language: Language) -> str:
    local = timezone.localtime(value)
    return local.strftime("%Y-%m-%d %H:%M %Z") if language == "en" else local.strftime("%d.%m.%Y, %H:%M Uhr")


def _texts(
    customer: Customer, token: str, language: Language, practice_and_phone: tuple[str, str] | None = None
) -> dict[str, str]:
    """All texts with their placeholders filled for this person."""
    practice, phone = practice_and_phone or _practice(customer, language)
    expiry = expires_at(token)
    values = {
        "name": str(customer),
        "practice": practice,
        "Practice": practice[:1].upper() + practice[1:],
        "phone": phone,
        "expires": _date(expiry, language) if expiry else "",
        "date": _date(customer.restricted_at, language) if customer.restricted_at else "",
        "channel": "",
    }
    return {key: text.format(**values) for key, text in texts(language).items()}


def _channels(customer: Customer, language: Language) -> list[dict[str, Any]]:
    index = 1 if language == "en" else 0
    rows = []
    for value in Channel.values:
        label = CHANNEL_LABELS[value][index]
        active = services.has_consent(customer, value)
        template = texts(language)["consent_active" if active else "consent_none"]
        rows.append(
            {
                "value": value,
                "active": active,
                "status": template.format(channel=label),
                "button": texts(language)["withdraw_button"].format(channel=label),
            }
        )
    return rows


def _done_message(request: HttpRequest, t: dict[str, str], language: Language) -> str:
    code = request.GET.get("done", "")
    if code not in DONE_CODES:
        return ""
    if code.startswith("withdraw-"):
        label = CHANNEL_LABELS[code.removeprefix("withdraw-")][1 if language == "en" else 0]
        return texts(language)["done_withdraw"].format(channel=label)
    return t[f"done_{code}"]


def _render_person(
    request: HttpRequest,
    customer: Customer,
    token: str,
    language: Language,
    *,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    practice_and_phone = _practice(customer, language)
    t = _texts(customer, token, language, practice_and_phone)
    objection = StatisticsObjection.objects.filter(customer=customer).first()
    data = subject_rights.export_person(customer, ACTOR)
    context = {
        "lang": language,
        "other_lang": "de" if language == "en" else "en",
        "t": t,
        "token": token,
        "export_html": export_fragment(subject_rights.render_export_html(data, language)),
        "channels": _channels(customer, language),
        "statistics_on": app_settings.STATISTICS,
        "objection": texts(language)["objection_done"].format(date=_date(objection.at, language))
        if objection
        else "",
        "restricted": customer.restricted_at is not None,
        "bases": [(basis.value, t[f"basis_{basis.value}"]) for basis in RestrictionBasis],
        "phone": practice_and_phone[1],
        "done": "" if error else _done_message(request, t, language),
        "error": error,
    }
    return render(request, "privacy/link/person.html", context, status=status)


_MAIN = re.compile(r"<main[^>]*>(.*)</main>", re.DOTALL | re.IGNORECASE)
_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.DOTALL | re.IGNORECASE)
_HEADING = re.compile(r"<(/?)h([1-6])\b", re.IGNORECASE)


def export_fragment(page: str, shift: int = 2) -> str:
    """The content of ``render_export_html``'s whole page (inside ``<main>``, else ``<body>``) for
    embedding in the person's page, headings moved ``shift`` levels down (h1 → h3, at most h6) so they
    nest under the section heading. The page is our own autoescaped template; nothing is unescaped."""
    found = _MAIN.search(page) or _BODY.search(page)
    inner = found.group(1) if found else page
    return _HEADING.sub(lambda m: f"<{m.group(1)}h{min(6, int(m.group(2)) + shift)}", inner)


def _back(token: str, language: Language, done: str) -> HttpResponseRedirect:
    url = (
        reverse("privacy:person", kwargs={"token": token}) + "?" + urlencode({"lang": language, "done": done})
    )
    response = HttpResponseRedirect(url)
    response.status_code = 303  # See Other: the browser GETs the page, a reload does not POST again
    return response


@require_GET
@subject_page
def person(request: HttpRequest, customer: Customer, token: str, language: Language) -> HttpResponse:
    """The person's page: their data (Art. 15) and a form for each right. Audit: the ``export`` entry
    that ``export_person`` writes."""
    return _render_person(request, customer, token, language)


@require_GET
@subject_page
def download(request: HttpRequest, customer: Customer, token: str, language: Language) -> HttpResponse:
    """``daten.json``: everything stored about the person, machine-readable (Art. 15(3), 20). Audit: the
    ``export`` entry that ``export_person`` writes."""
    data = subject_rights.export_person(customer, ACTOR)
    body = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="daten.json"'
    return response


@require_POST
@subject_page
def withdraw_consent(
    request: HttpRequest, customer: Customer, token: str, language: Language
) -> HttpResponse:
    """Withdraw consent for one channel at once and cancel pending messages on it (Art. 7(3))."""
    form = WithdrawForm(request.POST)
    if not form.is_valid():
        return _render_person(
            request, customer, token, language, error=texts(language)["error_channel"], status=400
        )
    channel = form.cleaned_data["channel"]
    with transaction.atomic():
        cancelled = services.withdraw(customer, channel, source="link")
        audit(
            ACTOR, AuditAction.WITHDRAW, "customer", customer.pk, f"channel={channel} cancelled={cancelled}"
        )
    return _back(token, language, f"withdraw-{channel}")


@require_POST
@subject_page
def object_statistics(
    request: HttpRequest, customer: Customer, token: str, language: Language
) -> HttpResponse:
    """Record the person's objection to anonymised statistics (Art. 21); repeating it changes nothing."""
    with transaction.atomic():
        _, created = StatisticsObjection.objects.get_or_create(
            customer=customer, defaults={"at": timezone.now()}
        )
        audit(
            ACTOR,
            AuditAction.OBJECT,
            "customer",
            customer.pk,
            "statistics" if created else "statistics again",
        )
    return _back(token, language, "object")


@require_POST
@subject_page
def request_restriction(
    request: HttpRequest, customer: Customer, token: str, language: Language
) -> HttpResponse:
    """Restrict processing at once (Art. 18(1)) on the ground the person chose; ``restrict`` cancels
    pending messages and writes ledger and audit. Already restricted: an audit entry, nothing else."""
    form = RestrictionForm(request.POST)
    if not form.is_valid():
        return _render_person(
            request, customer, token, language, error=texts(language)["error_basis"], status=400
        )
    result = subject_rights.restrict(customer, ACTOR, form.cleaned_data["basis"])
    if not result.changed:
        audit(ACTOR, AuditAction.RESTRICT, "customer", customer.pk, "requested again, already restricted")
    return _back(token, language, "restrict")


@require_POST
@subject_page
def request_rectification(
    request: HttpRequest, customer: Customer, token: str, language: Language
) -> HttpResponse:
    """Store the person's rectification request for staff (Art. 16); the text is theirs, kept as written."""
    form = RectificationForm(request.POST)
    if not form.is_valid():
        return _render_person(
            request, customer, token, language, error=texts(language)["error_rectify"], status=400
        )
    with transaction.atomic():
        item = PrivacyRequest.objects.create(
            customer=customer, kind=PrivacyRequestKind.RECTIFICATION, text=form.cleaned_data["text"]
        )
        audit(
            ACTOR,
            AuditAction.REQUEST,
            "customer",
            customer.pk,
            f"privacy_request={item.pk} kind=rectification",
        )
    return _back(token, language, "rectify")


@require_http_methods(["GET", "HEAD", "POST"])
@subject_page
def request_erasure(request: HttpRequest, customer: Customer, token: str, language: Language) -> HttpResponse:
    """GET: the confirmation step. POST with the box ticked: erase the person (Art. 17) — audited and
    recorded in the ledger by ``erase``; afterwards the token no longer resolves (LinkInvalid)."""
    t = _texts(customer, token, language)
    context = {"lang": language, "t": t, "token": token, "error": ""}
    if request.method != "POST":
        audit(ACTOR, AuditAction.VIEW, "customer", customer.pk, "subject erasure confirmation")
        return render(request, "privacy/link/erase_confirm.html", context)
    if not EraseForm(request.POST).is_valid():
        context["error"] = t["erase_unconfirmed"]
        return render(request, "privacy/link/erase_confirm.html", context, status=400)
    try:
        subject_rights.erase(customer, ACTOR)
    except ErasureDeferred as exc:  # a message to the person is with a provider this very moment
        context["error"] = t["erase_busy"]
        response = render(request, "privacy/link/erase_confirm.html", context, status=503)
        response["Retry-After"] = str(exc.retry_after_s)
        return response
    except Customer.DoesNotExist:  # erased meanwhile (a second click, staff): the link is spent
        return _link_error(request, LinkError("already erased"))
    return render(request, "privacy/link/erased.html", {"lang": language, "t": t})
