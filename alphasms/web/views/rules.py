"""Rules and templates (owners): the list, the editor and its live preview
(``alphasms.web.services.rules``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _

from alphasms.appointments.models import AppointmentType, Channel, ReminderRule, UnknownOutcomePolicy
from alphasms.web.roles import Area, area_view
from alphasms.web.services import rules as service

# Fields whose typing refreshes the preview (htmx; the "Preview" button does it without JavaScript).
_LIVE = {
    "hx-post": "",  # set per form instance: the preview URL
    "hx-trigger": "input changed delay:300ms",
    "hx-target": "#rule-preview",
    "hx-include": "closest form",
    "hx-sync": "closest form:replace",
}
_LIVE_CHANGE = {**_LIVE, "hx-trigger": "change"}


class RuleForm(forms.ModelForm[ReminderRule]):
    """A reminder rule; the lead time is entered in hours (stored as ``offset_s`` seconds)."""

    offset_hours = forms.DecimalField(
        label=_("Lead time (hours before the appointment)"),
        min_value=0,
        max_value=24 * 60,
        decimal_places=2,
        help_text=_("24 = the day before; the send time moves into the sending window."),
    )

    class Meta:
        model = ReminderRule
        fields = [
            "name",
            "active",
            "channel",
            "appointment_types",
            "window_start",
            "window_end",
            "subject_template",
            "body_template",
            "subject_template_en",
            "body_template_en",
            "smart_encoding",
            "attach_ics",
            "unknown_outcome_policy",
        ]
        labels = {
            "name": _("Name"),
            "active": _("Active"),
            "channel": _("Channel"),
            "appointment_types": _("Appointment types (none ticked = all)"),
            "window_start": _("Send from (local time)"),
            "window_end": _("Send until (local time)"),
            "subject_template": _("Subject (e-mail), German"),
            "body_template": _("Text, German"),
            "subject_template_en": _("Subject (e-mail), English"),
            "body_template_en": _("Text, English"),
            "smart_encoding": _("Replace typographic characters (SMS)"),
            "attach_ics": _("Attach the appointment as .ics (e-mail)"),
            "unknown_outcome_policy": _("When the outcome of sending is unclear"),
        }
        help_texts = {
            "body_template_en": _("For customers whose language is English; empty = everyone gets German."),
            "smart_encoding": _("Typographic quotes, dashes and no-break spaces become GSM characters."),
        }
        widgets = {
            "window_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "window_end": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "appointment_types": forms.CheckboxSelectMultiple,
            "body_template": forms.Textarea(attrs={"rows": 5}),
            "body_template_en": forms.Textarea(attrs={"rows": 5}),
        }

    def __init__(self, *args: Any, preview_url: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        hours = self.instance.offset_s / 3600
        self.fields["offset_hours"].initial = int(hours) if hours == int(hours) else round(hours, 2)
        self.fields["appointment_types"].queryset = AppointmentType.objects.order_by("name")  # type: ignore[attr-defined]
        self.fields["channel"].choices = [(Channel.SMS, _("SMS")), (Channel.EMAIL, _("E-mail"))]  # type: ignore[attr-defined]
        self.fields["unknown_outcome_policy"].choices = [  # type: ignore[attr-defined]
            (UnknownOutcomePolicy.RESEND, _("send again (marked as possible duplicate)")),
            (UnknownOutcomePolicy.HOLD, _("hold for staff")),
        ]
        for name in ("subject_template", "body_template", "subject_template_en", "body_template_en"):
            self.fields[name].widget.attrs.update({**_LIVE, "hx-post": preview_url})
        for name in ("channel", "smart_encoding"):
            self.fields[name].widget.attrs.update({**_LIVE_CHANGE, "hx-post": preview_url})
        for name in ("body_template", "body_template_en"):
            self.fields[name].widget.attrs["aria-describedby"] = "rule-preview"

    def clean_offset_hours(self) -> Any:
        hours = self.cleaned_data["offset_hours"]
        self.instance.offset_s = round(float(hours) * 3600)
        return hours

    def _clean_template(self, name: str) -> str:
        value = str(self.cleaned_data.get(name) or "")
        error = service.unknown_placeholder_error(value)
        if error:
            raise forms.ValidationError(error)
        return value

    def clean_body_template(self) -> str:
        return self._clean_template("body_template")

    def clean_body_template_en(self) -> str:
        return self._clean_template("body_template_en")

    def clean_subject_template(self) -> str:
        return self._clean_template("subject_template")

    def clean_subject_template_en(self) -> str:
        return self._clean_template("subject_template_en")

    def unsaved_rule(self) -> ReminderRule:
        """A rule with the form's raw values (also invalid ones) for the preview; never saved."""
        data = self.data
        return ReminderRule(
            channel=data.get("channel") or Channel.SMS,
            subject_template=data.get("subject_template", ""),
            body_template=data.get("body_template", ""),
            subject_template_en=data.get("subject_template_en", ""),
            body_template_en=data.get("body_template_en", ""),
            smart_encoding=data.get("smart_encoding") in ("on", "true", "1"),
        )


@area_view(Area.RULES)
def rules_view(request: HttpRequest) -> HttpResponse:
    """The list of rules."""
    return render(request, "web/rules/list.html", {"rows": service.rule_rows()})


def _editor(request: HttpRequest, rule: ReminderRule) -> HttpResponse:
    from django.urls import reverse

    preview_url = reverse("web:rule_preview")
    if request.method == "POST":
        form = RuleForm(request.POST, instance=rule, preview_url=preview_url)
        if "preview" not in request.POST and form.is_valid():
            saved, change = service.save_rule(form)
            messages.success(request, _("Rule “%(name)s” saved.") % {"name": saved.name})
            if change.rerendered or change.cancelled or change.revived or change.created:
                messages.info(request, service.change_summary(change))
            return redirect("web:rules")
        preview = service.preview(form.unsaved_rule())
    else:
        form = RuleForm(instance=rule, preview_url=preview_url)
        preview = service.preview(rule if rule.pk else ReminderRule(body_template=""))
    context = {"form": form, "rule": rule, "preview": preview}
    failed_save = request.method == "POST" and "preview" not in request.POST
    return render(request, "web/rules/edit.html", context, status=400 if failed_save else 200)


@area_view(Area.RULES)
def rule_new_view(request: HttpRequest) -> HttpResponse:
    """Create a rule (a new rule starts with a neutral German text)."""
    rule = ReminderRule(
        body_template="{salutation}, Ihr Termin am {date} um {time} bei {practice_name}. {confirm_hint}"
    )
    return _editor(request, rule)


@area_view(Area.RULES)
def rule_edit_view(request: HttpRequest, rule_id: int) -> HttpResponse:
    """Edit a rule."""
    return _editor(request, get_object_or_404(ReminderRule, pk=rule_id))


@area_view(Area.RULES)
def rule_preview_view(request: HttpRequest) -> HttpResponse:
    """The preview fragment for the editor's current values (htmx POST; saves nothing)."""
    form = RuleForm(request.POST)
    return render(request, "web/rules/_preview.html", {"preview": service.preview(form.unsaved_rule())})
