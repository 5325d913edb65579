"""Forms of the customer pages: contact data (mobile number normalised to E.164 by
``alphasms.messaging.phone.to_e164``) and recording an opt-in. Every error names the field and the fix."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from alphasms.appointments.models import Customer
from alphasms.messaging.phone import FLAG_MESSAGES, PhoneResult, to_e164
from alphasms.web.services.customers import STAFF_SOURCES, Contact

COUNTRY_ERROR = _("Enter the country as two letters, e.g. DE, AT or CH, or leave it empty.")
LANGUAGES = [("de", _("German")), ("en", _("English"))]


def _flag_text(flag: str) -> str:
    german, english = FLAG_MESSAGES.get(flag, (flag, flag))
    return english if (get_language() or "de").startswith("en") else german


class ContactForm(forms.ModelForm[Customer]):
    """A customer's contact data. ``mobile_raw`` is what staff type; the E.164 number, whether an SMS
    reaches it and the reasons to check it are derived on ``clean``."""

    class Meta:
        model = Customer
        fields = [
            "customer_number",
            "given_name",
            "family_name",
            "mobile_raw",
            "email",
            "language",
            "country",
            "notes",
        ]
        labels = {
            "customer_number": _("Customer number"),
            "given_name": _("Given name"),
            "family_name": _("Family name"),
            "mobile_raw": _("Mobile number"),
            "email": _("E-mail"),
            "language": _("Language of the reminders"),
            "country": _("Country"),
            "notes": _("Notes"),
        }
        help_texts = {
            "mobile_raw": _("As the customer gave it, e.g. 0151 12345678 or +43 664 1234567."),
            "country": _("Two letters (ISO 3166), e.g. DE or AT; national numbers are read with it."),
        }
        widgets = {"email": forms.EmailInput(), "notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, data: Any = None, *, customer: Customer, default_country: str) -> None:
        super().__init__(data, instance=customer)
        self.default_country = default_country
        self.phone: PhoneResult | None = None
        language = self.fields["language"]
        self.fields["language"] = forms.ChoiceField(
            label=language.label, choices=LANGUAGES, initial=customer.language or "de"
        )
        self.fields["email"].error_messages["invalid"] = _(
            "Enter the e-mail address in the form name@example.org, or leave the field empty."
        )
        self.fields["country"].error_messages["max_length"] = COUNTRY_ERROR
        self.fields["customer_number"].error_messages["unique"] = _(
            "Another customer already has this number: enter a different one or leave it empty."
        )

    def clean_email(self) -> str:
        value = str(self.cleaned_data.get("email") or "").strip()
        if value:
            forms.EmailField(
                error_messages={"invalid": self.fields["email"].error_messages["invalid"]}
            ).clean(value)
        return value

    def clean_country(self) -> str:
        value = str(self.cleaned_data.get("country") or "").strip().upper()
        if value and not (len(value) == 2 and value.isalpha()):
            raise forms.ValidationError(
                _("Enter the country as two letters, e.g. DE, AT or CH, or leave it empty.")
            )
        return value

    def clean_customer_number(self) -> str:
        value = str(self.cleaned_data.get("customer_number") or "").strip()
        clash = Customer.objects.filter(customer_number=value).exclude(pk=self.instance.pk)
        if value and clash.exists():
            raise forms.ValidationError(
                _("Another customer already has this number: enter a different one or leave it empty.")
            )
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        raw = str(data.get("mobile_raw") or "").strip()
        if raw and "mobile_raw" not in self.errors:
            result = to_e164(raw, data.get("country") or None, self.default_country)
            if result.e164 is None:
                reasons = " ".join(_flag_text(f) for f in result.flags if f not in {"invalid"})
                self.add_error(
                    "mobile_raw",
                    _(
                        "No valid phone number recognised. %(reasons)s Enter it with the country code, "
                        "e.g. +49 151 12345678."
                    )
                    % {"reasons": reasons},
                )
            self.phone = result
        return data

    def contact(self) -> Contact:
        """The cleaned values (call after ``is_valid``)."""
        data, phone = self.cleaned_data, self.phone
        return Contact(
            customer_number=data["customer_number"],
            given_name=data["given_name"].strip(),
            family_name=data["family_name"].strip(),
            mobile_raw=str(data.get("mobile_raw") or "").strip(),
            mobile_e164=phone.e164 or "" if phone else "",
            mobile_sms_ok=phone.sms_ok if phone else False,
            mobile_flags=list(phone.flags) if phone else [],
            email=data["email"],
            language=data["language"],
            country=data["country"],
            notes=data["notes"],
        )

    def phone_hints(self) -> list[str]:
        """Sentences for staff about the number (not a mobile, extension dropped…), in their language."""
        return [_flag_text(flag) for flag in (self.phone.flags if self.phone else ())]


class ConsentForm(forms.Form):
    """An opt-in: channel, how it was given (source) and which wording the person agreed to."""

    channel = forms.ChoiceField(
        label=_("Channel"),
        choices=[("sms", _("SMS")), ("email", _("E-mail"))],
        error_messages={
            "required": _("Choose the channel: SMS or e-mail."),
            "invalid_choice": _("Choose the channel: SMS or e-mail."),
        },
    )
    source = forms.ChoiceField(
        label=_("How it was given"),
        choices=[
            (s.value, label)
            for s, label in zip(STAFF_SOURCES, (_("form"), _("phone"), _("booking")), strict=True)
        ],
        error_messages={
            "required": _("Choose how the consent was given: form, phone or booking."),
            "invalid_choice": _("Choose how the consent was given: form, phone or booking."),
        },
    )
    wording_version = forms.CharField(
        label=_("Wording (version)"),
        max_length=64,
        help_text=_("Which text the person agreed to, e.g. “registration form 2026-01”."),
        error_messages={
            "required": _("Enter which wording the person agreed to, e.g. “registration form 2026-01”."),
            "max_length": _("Shorten the wording's name to at most %(limit_value)d characters."),
        },
    )


class NewCustomerForm(ContactForm):
    """A new customer at the desk: the contact data of ``ContactForm`` plus, optionally, an opt-in per
    channel given right now (one source and wording for the ticked channels) and, after a duplicate
    warning, the confirmation to create the person anyway."""

    consent_sms = forms.BooleanField(label=_("SMS reminders: consent given"), required=False)
    consent_email = forms.BooleanField(label=_("E-mail reminders: consent given"), required=False)
    consent_source = forms.ChoiceField(
        label=_("How it was given"),
        required=False,
        choices=[("", _("— choose —")), *ConsentForm.base_fields["source"].choices],  # type: ignore[attr-defined]
    )
    consent_wording = forms.CharField(
        label=_("Wording (version)"),
        required=False,
        max_length=64,
        help_text=_("Which text the person agreed to, e.g. “registration form 2026-01”."),
        error_messages={"max_length": _("Shorten the wording's name to at most %(limit_value)d characters.")},
    )
    create_anyway = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(
        self, data: Any = None, *, default_country: str, initial: dict[str, Any] | None = None
    ) -> None:
        super().__init__(data, customer=Customer(), default_country=default_country)
        if initial:
            self.initial.update(initial)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        channels = self.consent_channels()
        if not channels:
            return data
        if not data.get("consent_source"):
            self.add_error("consent_source", _("Choose how the consent was given: form, phone or booking."))
        if not str(data.get("consent_wording") or "").strip():
            self.add_error(
                "consent_wording",
                _("Enter which wording the person agreed to, e.g. “registration form 2026-01”."),
            )
        if "sms" in channels and "mobile_raw" not in self.errors and not (self.phone and self.phone.sms_ok):
            self.add_error(
                "consent_sms",
                _("An SMS consent needs a mobile number that can receive SMS: enter it above or untick."),
            )
        if "email" in channels and "email" not in self.errors and not data.get("email"):
            self.add_error(
                "consent_email", _("An e-mail consent needs an e-mail address: enter it above or untick.")
            )
        return data

    def consent_channels(self) -> list[str]:
        """The channels whose consent box is ticked ("sms", "email")."""
        data = getattr(self, "cleaned_data", {})
        return [name for name in ("sms", "email") if data.get(f"consent_{name}")]
