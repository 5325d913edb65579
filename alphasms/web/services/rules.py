"""Reminder rules for the owner's editor: the list, and the live preview of a template as one types.

The preview renders the template with a sample appointment (tomorrow 10:30 at the first location, in
its time zone) through ``messaging.templates.render``, measures it with ``messaging.encoding.analyse``
(GSM-7/UCS-2, parts, units left in the last part), prices it with the business's ``SmsPrice`` for the
location's country (else "*"), and lints it with ``messaging.services.template_check.check_rule`` (the
longest realistic rendering and the warnings the admin shows). An unknown placeholder is an error naming
it and the allowed ones; nothing is saved.

Saving a rule (``save_rule``) makes its reminders that no provider has been handed yet follow it, in
the same transaction (``appointments.services.rule_changes.replan_rule``): new text and send time, held
ones stay held with the new text, a rule switched off cancels them; sent ones stay as they are.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from django import forms
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import get_language, gettext_noop
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from alphasms.appointments.models import Channel, Location, ReminderRule, template_length_errors
from alphasms.appointments.services.planning import rule_state
from alphasms.appointments.services.rule_changes import RuleChangeResult, replan_rule
from alphasms.messaging.encoding import CONCAT_UNITS, SINGLE_UNITS, analyse, smart_replace
from alphasms.messaging.models import PENDING, OutboundMessage, SmsPrice
from alphasms.messaging.services.template_check import check_rule
from alphasms.messaging.templates import PLACEHOLDERS, ReminderContext, TemplateError, render

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
SAMPLE_NAMES = {"de": ("Jörg", "Bäcker"), "en": ("Emily", "Clarke")}
SAMPLE_TIME = dt.time(10, 30)
# The editor's labels (views/rules.py RuleForm), so a length error names the field as the page does.
#: Marks ``appointments.models.TEMPLATE_TOO_LONG`` for the web app's catalog (same text; a test checks).
TEMPLATE_TOO_LONG_MSGID = gettext_noop(
    "%(field)s: %(length)s characters – at most %(cap)s allowed. Please shorten the text."
)
_FIELD_LABELS = {
    "subject_template": _lazy("Subject (e-mail), German"),
    "body_template": _lazy("Text, German"),
    "subject_template_en": _lazy("Subject (e-mail), English"),
    "body_template_en": _lazy("Text, English"),
}


@dataclass(frozen=True)
class RuleRow:
    """A rule in the list with how many of its messages are still pending."""

    rule: ReminderRule
    pending: int

    @property
    def lead_hours(self) -> float:
        """The lead time in hours (``offset_s`` / 3600)."""
        return self.rule.offset_s / 3600


def rule_rows() -> list[RuleRow]:
    """Every rule, active first, by name, with its pending message count (two queries).

    The counts are grouped over the pending messages alone (index on status): counting inside a join
    of every rule with every message ever sent read the whole message table (0.7 s with a million)."""
    pending = dict(
        OutboundMessage.objects.filter(status__in=PENDING)
        .order_by()
        .values_list("rule_id")
        .annotate(count=Count("rule_id"))  # not "pk": the partial index alone answers (index-only scan)
        .values_list("rule_id", "count")
    )
    rules = ReminderRule.objects.order_by("-active", "name", "pk")
    return [RuleRow(rule, pending.get(rule.pk, 0)) for rule in rules]


def save_rule(form: forms.ModelForm[ReminderRule]) -> tuple[ReminderRule, RuleChangeResult]:
    """Save a valid rule form (the rule and its appointment types) and re-plan the rule's pending
    reminders, in one transaction: a failure leaves both as they were. The stored rule's row is locked
    first, so a planner run that built messages from the old rule inserts none (``create_missing``).
    Returns the saved rule and the counts of ``replan_rule``."""
    with transaction.atomic():
        before = None
        if form.instance.pk:
            stored = ReminderRule.objects.select_for_update().filter(pk=form.instance.pk).first()
            before = rule_state(stored) if stored is not None else None
        rule = form.save()
        return rule, replan_rule(rule, now=timezone.now(), before=before)


def change_summary(change: RuleChangeResult) -> str:
    """The sentence after saving: how many pending reminders were updated, cancelled, newly planned."""
    return _(
        "Reminders not yet sent follow the rule now: %(updated)s updated, %(cancelled)s cancelled, "
        "%(planned)s newly planned."
    ) % {
        "updated": change.rerendered,
        "cancelled": change.cancelled,
        "planned": change.revived + change.created,
    }


@dataclass(frozen=True)
class Sample:
    """One language's sample rendering. SMS fields (``encoding``, ``segments``, ``units``, ``left``,
    ``cost_micros``: exact, millionths of the preview's currency) are empty/0 for e-mail. ``left`` is
    what still fits into the last part, in GSM-7 septets or UCS-2 code units (what a phone counts as
    characters); ``error`` replaces everything when a template of this language cannot be rendered."""

    language: str
    subject: str = ""
    text: str = ""
    encoding: str = ""
    segments: int = 0
    units: int = 0
    left: int = 0
    cost_micros: int | None = None
    non_gsm: str = ""
    replacements: int = 0
    error: str = ""


@dataclass(frozen=True)
class Preview:
    """The editor's live preview: a sample per language, the lint's longest realistic rendering and
    warnings (SMS only), and the price's currency (empty without a price)."""

    channel: str
    samples: list[Sample]
    currency: str = ""
    longest_segments: int | None = None
    longest_encoding: str = ""
    longest_cost_micros: int | None = None
    warnings: list[str] = field(default_factory=list)


def unknown_placeholder_error(template: str) -> str:
    """The translated error for ``template``'s unknown placeholders or stray braces ("" when fine)."""
    try:
        render(template, _context("de", None))
    except TemplateError:
        unknown = [n for n in _PLACEHOLDER.findall(template) if n not in PLACEHOLDERS]
        allowed = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
        if unknown:
            names = ", ".join("{" + n + "}" for n in unknown)
            return _("Unknown placeholder %(names)s. Allowed are: %(allowed)s") % {
                "names": names,
                "allowed": allowed,
            }
        return _("A brace without its partner. Placeholders look like {date}.")
    return ""


def _context(language: str, location: Location | None) -> ReminderContext:
    tz = location.tz if location else dt.UTC
    day = dt.datetime.now(tz).date() + dt.timedelta(days=1)
    given, family = SAMPLE_NAMES[language]
    return ReminderContext(
        given_name=given,
        family_name=family,
        location=location.name if location else "Praxis",
        practice_name=location.name if location else "Praxis",
        practice_phone=location.phone if location else "",
        language=language,
        start_local=dt.datetime.combine(day, SAMPLE_TIME, tzinfo=tz),
    )


def _price(location: Location | None) -> SmsPrice | None:
    country = location.country if location else "DE"
    prices = {p.country: p for p in SmsPrice.objects.filter(country__in=[country, "*"])}
    return prices.get(country) or prices.get("*")


def _sample(rule: ReminderRule, language: str, location: Location | None, price: SmsPrice | None) -> Sample:
    subject_template, body_template = (
        (rule.subject_template_en or rule.subject_template, rule.body_template_en)
        if language == "en"
        else (rule.subject_template, rule.body_template)
    )
    error = unknown_placeholder_error(body_template) or unknown_placeholder_error(subject_template)
    if error:
        return Sample(language, error=error)
    ctx = _context(language, location)
    subject, text = render(subject_template, ctx), render(body_template, ctx)
    if rule.channel != Channel.SMS:
        return Sample(language, subject=subject, text=text)
    replacements = 0
    if rule.smart_encoding:
        text, done = smart_replace(text, normalize_nfc=True)
        replacements = len(done)
    info = analyse(text)
    capacity = (
        SINGLE_UNITS[info.encoding] if info.segments == 1 else CONCAT_UNITS[info.encoding] * info.segments
    )
    return Sample(
        language,
        text=text,
        encoding=info.encoding.value,
        segments=info.segments,
        units=info.units,
        left=max(0, capacity - info.units),
        cost_micros=None if price is None else info.segments * price.price_per_part_micros,
        non_gsm=" ".join(info.non_gsm_chars),
        replacements=replacements,
    )


def preview(rule: ReminderRule) -> Preview:
    """The live preview of an unsaved ``rule`` (built from the editor's form; never saved). German
    always, English when the rule has an English text. Raises nothing: template errors are shown, and
    a template above its cap (``appointments.models.template_length_errors``) is refused with an
    error naming the field, the length and the cap, before anything is rendered."""
    too_long = template_length_errors(
        rule.channel,
        {
            n: getattr(rule, n)
            for n in ("body_template", "body_template_en", "subject_template", "subject_template_en")
        },
        labels=_FIELD_LABELS,
    )
    if too_long:  # refused before rendering or linting: the caps also bound the preview's work
        return Preview(rule.channel, [Sample("de", error=" ".join(too_long.values()))])
    location = Location.objects.order_by("pk").first()
    price = _price(location) if rule.channel == Channel.SMS else None
    languages = ["de", "en"] if rule.body_template_en.strip() else ["de"]
    samples = [_sample(rule, language, location, price) for language in languages]
    result = Preview(rule.channel, samples, currency=price.currency if price else "")
    if rule.channel != Channel.SMS or any(s.error for s in samples):
        return result
    english = (get_language() or "de").startswith("en")
    warnings: list[str] = []
    longest = None
    for body in dict.fromkeys(t for t in (rule.body_template, rule.body_template_en) if t.strip()):
        try:
            lint = check_rule(_with_body(rule, body))
        except TemplateError:
            continue
        if lint is None:
            continue
        warnings += [w.message_en if english else w.message_de for w in lint.warnings]
        if longest is None or (lint.longest.segments, lint.longest.units) > (longest.segments, longest.units):
            longest = lint.longest
    return Preview(
        rule.channel,
        samples,
        currency=result.currency,
        longest_segments=longest.segments if longest else None,
        longest_encoding=longest.encoding if longest else "",
        longest_cost_micros=longest.cost_micros if longest else None,
        warnings=list(dict.fromkeys(warnings)),
    )


def _with_body(rule: ReminderRule, body: str) -> ReminderRule:
    copy = ReminderRule(channel=rule.channel, smart_encoding=rule.smart_encoding, body_template=body)
    return copy
