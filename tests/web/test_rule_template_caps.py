"""Template length caps (security review: the live preview linted any length; 2.4 M characters per
keystroke): SMS text ≤ 1,600, e-mail text ≤ 20,000, subject ≤ 200 characters — refused by the model
(admin, web editor) and by the preview endpoint, naming the field and the fix."""

from __future__ import annotations

import time

import pytest
from django.core.exceptions import ValidationError

from alphasms.appointments.models import (
    EMAIL_BODY_MAX_CHARS,
    SMS_BODY_MAX_CHARS,
    SUBJECT_MAX_CHARS,
    ReminderRule,
)
from alphasms.web.roles import Role

pytestmark = pytest.mark.django_db


def _form(**values: str) -> dict[str, str]:
    data = {
        "name": "Lang",
        "active": "on",
        "channel": "sms",
        "offset_hours": "24",
        "window_start": "08:00",
        "window_end": "20:00",
        "subject_template": "",
        "body_template": "Ihr Termin am {date}.",
        "subject_template_en": "",
        "body_template_en": "",
        "unknown_outcome_policy": "resend",
    }
    data.update(values)
    return data


def test_the_caps_are_the_documented_numbers() -> None:
    assert (SMS_BODY_MAX_CHARS, EMAIL_BODY_MAX_CHARS, SUBJECT_MAX_CHARS) == (1_600, 20_000, 200)


@pytest.mark.parametrize(
    ("channel", "field", "cap"),
    [
        ("sms", "body_template", 1_600),
        ("sms", "body_template_en", 1_600),
        ("email", "body_template", 20_000),
        ("email", "subject_template", 200),
        ("email", "subject_template_en", 200),
    ],
)
def test_the_model_refuses_a_template_above_its_cap(channel: str, field: str, cap: int) -> None:
    rule = ReminderRule(name="r", channel=channel, body_template="Ihr Termin am {date}.")
    setattr(rule, field, "x" * cap)
    rule.full_clean()  # exactly the cap is fine
    setattr(rule, field, "x" * (cap + 1))
    with pytest.raises(ValidationError) as caught:
        rule.full_clean()
    message = caught.value.message_dict[field][0]
    assert f"{cap + 1} Zeichen" in message and f"höchstens {cap}" in message and "kürzen" in message


def test_the_preview_endpoint_refuses_a_huge_text_fast(location, web_client) -> None:
    owner = web_client(Role.OWNER, headers={"accept-language": "en"})
    for body in ("x" * 2_400_000, "{given_name} " * 150_000):
        started = time.monotonic()
        response = owner.post("/rules/preview/", _form(body_template=body), HTTP_HX_REQUEST="true")
        elapsed = time.monotonic() - started
        assert response.status_code == 200
        assert elapsed < 2.0, elapsed
        page = response.content.decode()
        assert "Text, German" in page and str(len(body)) in page and "1600" in page
        assert "data-error" in page and "sms-text" not in page  # nothing rendered


def test_the_preview_renders_a_text_at_the_cap(location, web_client) -> None:
    owner = web_client(Role.OWNER, headers={"accept-language": "en"})
    response = owner.post("/rules/preview/", _form(body_template="x" * 1_600))
    page = response.content.decode()
    assert response.status_code == 200 and "data-error" not in page
    assert 'data-fact="parts">11<' in page  # 1,600 GSM-7 septets / 153 per part (TS 23.040) → 11


def test_the_editor_does_not_save_a_too_long_sms_text(location, web_client) -> None:
    owner = web_client(Role.OWNER, headers={"accept-language": "en"})
    response = owner.post("/rules/new/", _form(body_template="x" * 1_601))
    assert response.status_code == 400
    assert "1601" in response.content.decode()
    assert not ReminderRule.objects.filter(name="Lang").exists()
    response = owner.post("/rules/new/", _form(channel="email", body_template="x" * 1_601))
    assert response.status_code == 302
    assert ReminderRule.objects.get(name="Lang").channel == "email"
