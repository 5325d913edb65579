"""SMS replies (MO): the classifier (a table of real-world texts, and properties), ``receive_mo``
(matching, the four intents, the staff inbox, acknowledgements through the fake gateway), the privacy
registry entry, and the "Antworten" inbox in the admin."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from alphasms.appointments.models import Appointment, AppointmentStatus, Customer, Location
from alphasms.appointments.services.planning import plan
from alphasms.messaging import replies
from alphasms.messaging.gateways.base import MoEvent
from alphasms.messaging.gateways.errors import GatewayUnavailable, OutcomeUnknown
from alphasms.messaging.gateways.fake.gateway import FakeGateway
from alphasms.messaging.models import (
    AckStatus,
    AttemptOutcome,
    DeliveryAttempt,
    InboundMessage,
    MessageStatus,
    OutboundMessage,
    ReplyOutcome,
    StatusEvent,
)
from alphasms.messaging.replies import ReplyIntent, classify_reply
from alphasms.messaging.services.lifecycle import set_status
from alphasms.messaging.services.replies import CANCEL_NOTE, receive_mo, send_acknowledgement
from alphasms.privacy.models import AuditEntry, Consent
from alphasms.privacy.registry import REGISTRY
from alphasms.privacy.subject_rights import RestrictionBasis, erase, restrict
from tests.conftest import make_appointment, make_customer, make_rule
from tests.privacy.people import OTHER, PERSON, populate

# --- the classifier ------------------------------------------------------------------------------

CONFIRM = [
    "JA", "Ja", "ja", "J", "j", "OK", "ok", "Ok.", "Okay", "okey", "1", "1.", "1️⃣", "Ja, danke!",
    "Jaaa", "JAAA!!!", "Ja bitte", "Ja gerne", "ja danke schön", "Jo", "Jap", "Jawohl", "ok 👍", "👍",
    "👍🏼", "✅", "OK, bis morgen", "Ja, ich komme", "Ich komme", "Wir kommen", "Komme", "Passt",
    "Passt, danke", "Ja passt", "Alles klar, danke", "Geht klar", "Bin dabei", "Ich werde da sein",
    "Ja, Termin passt", "Mein Termin passt", "Bestätigt", "bestätige", "Bestaetige", "Zusage",
    "Ja, kein Problem, ich komme", "Ja, vielen Dank für die Erinnerung", "Hallo, ja. LG",
    "Ja super, danke", "Ja natürlich", "Ja klar", "ok danke 🙂", "Yes", "yes please", "YES!",
    "Y", "Yeah", "Yep", "Sure", "Confirmed", "I'll be there", "Yes, see you tomorrow",
    "OK thanks", "jaa", "Ja 1",
]  # fmt: skip
CANCEL = [
    "NEIN", "Nein", "nein", "N", "n", "2", "ABSAGE", "Absage", "neinn", "Neiiin", "nien", "nein danke",
    "Nein, danke.", "Nee", "Ne", "Nö", "Nope", "Ich muss leider absagen", "Muss absagen",
    "Bitte absagen", "Termin absagen bitte", "Ich sage ab", "Ich sage den Termin ab", "absgae",
    "Absagen!", "Stornieren", "Bitte stornieren", "Storno", "Ich kann leider nicht kommen",
    "Kann nicht", "Kann leider nicht", "Ich komme nicht", "Schaffe es leider nicht", "Geht leider nicht",
    "Passt leider nicht", "Nein, leider nicht", "Nein, ich kann nicht", "Bin leider verhindert",
    "Bin krank, kann leider nicht kommen", "Habe leider keine Zeit", "Ich werde nicht da sein",
    "No", "NO", "No thanks", "Cancel", "cancle", "Cancel please", "I need to cancel",
    "Sorry, I have to cancel", "I can't make it", "Can't make it, sorry", "I won't be there",
    "Not coming", "2.",
]  # fmt: skip
STOP = [
    "STOP", "Stop", "stop", "STOPP", "Stopp", "stopp!", "Stoooop", "stpo", "Stop bitte", "Bitte Stop",
    "ABMELDEN", "Abmelden", "abmelden!", "Abmelden bitte", "Ich möchte mich abmelden", "Abmeldung",
    "Bitte keine SMS mehr", "Keine Nachrichten mehr", "Keine weiteren SMS", "Stoppen Sie die SMS",
    "Nein danke, STOP", "Abbestellen", "UNSUBSCRIBE", "unsubscribe me", "Stop all", "STOPALL",
    "Opt out", "No more messages please",
]  # fmt: skip
UNKNOWN = [
    "", " ", "?", "...", "😊", "🙂👋", "Ja nein", "Nein ja", "Jain", "Kann ich verschieben?",
    "Wann war das nochmal?", "Wer ist da?", "Vielleicht", "Ja, aber 10 Minuten später",
    "Ich komme etwas später", "Komme später", "Nein, ich komme", "Ja, ich komme nicht", "1 oder 2",
    "Können wir auf Donnerstag verschieben?", "Danke", "Danke für die Info", "Leider nicht",
    "Hallo", "Fein, danke", "anmelden", "Bitte vom Termin abmelden", "Welche Uhrzeit?",
    "Ich bin krank", "Wie lange dauert es?", "Ja, 15 Uhr", "Nicht vergessen", "Can I reschedule?",
    "What time?", "Maybe", "No problem", "Alles gut", "Bitte rufen Sie mich an", "👎", "Ja ❌",
    "Sein", "Ok aber ich komme später", "Ich kann", "Ich komme am Montag",
    "Sehr geehrte Damen und Herren, ich wollte fragen ob ich den Termin absagen oder verschieben kann",
]  # fmt: skip
TABLE = (
    [(text, ReplyIntent.CONFIRM) for text in CONFIRM]
    + [(text, ReplyIntent.CANCEL) for text in CANCEL]
    + [(text, ReplyIntent.STOP) for text in STOP]
    + [(text, ReplyIntent.UNKNOWN) for text in UNKNOWN]
)


class TestClassifier:
    @pytest.mark.parametrize(("text", "intent"), TABLE)
    def test_it_classifies_real_world_replies(self, text, intent):
        assert classify_reply(text) == intent

    def test_a_long_letter_is_for_staff_even_with_keywords(self):
        assert classify_reply("Ja " * (replies.MAX_WORDS + 1)) == ReplyIntent.UNKNOWN

    def test_every_keyword_alone_has_its_own_intent(self):
        expected = {
            replies._Kind.CONFIRM: ReplyIntent.CONFIRM,
            replies._Kind.CANCEL: ReplyIntent.CANCEL,
            replies._Kind.STOP: ReplyIntent.STOP,
            replies._Kind.ATTEND: ReplyIntent.CONFIRM,
        }
        for kind, intent in expected.items():
            for word in replies._WORDS[kind].split():
                assert classify_reply(word) == intent, word

    def test_no_word_collapses_onto_a_word_of_another_kind(self):
        seen: dict[str, Any] = {}
        for kind, words in replies._WORDS.items():
            for word in words.split():
                key = replies._collapse(replies._norm(word))
                assert seen.setdefault(key, kind) == kind, (word, seen[key], kind)


PUNCTUATION = st.text(st.characters(categories=["P"]), max_size=3)
SEPARATOR = st.tuples(PUNCTUATION, st.sampled_from([" ", "  ", "\n", "\t", " \u00a0"]), PUNCTUATION).map(
    "".join
)
CASES = st.sampled_from([str.upper, str.lower, str.title, str.swapcase, str.capitalize, str])


class TestClassifierProperties:
    @given(st.text())
    def test_arbitrary_text_never_raises(self, text):
        assert classify_reply(text) in set(ReplyIntent)

    @given(st.text())
    def test_case_never_changes_the_intent(self, text):
        intent = classify_reply(text)
        assert classify_reply(text.upper()) == intent
        assert classify_reply(text.lower()) == intent
        assert classify_reply(text.swapcase()) == intent

    @given(st.text(), PUNCTUATION, PUNCTUATION)
    def test_punctuation_around_a_text_never_changes_the_intent(self, text, before, after):
        assert classify_reply(before + text + after) == classify_reply(text)

    @given(st.sampled_from(TABLE), st.data())
    def test_punctuation_between_words_and_case_never_change_a_known_reply(self, case, data):
        text, intent = case
        words = [data.draw(CASES)(word) for word in text.split()]
        separators = [data.draw(SEPARATOR) for _ in range(len(words) + 1)]
        mixed = separators[0] + "".join(word + sep for word, sep in zip(words, separators[1:], strict=True))

        assert classify_reply(mixed) == intent


# --- receive_mo ----------------------------------------------------------------------------------

NUMBER = "+4915112345678"


def now() -> dt.datetime:
    return timezone.now()


def mark_sent(message: OutboundMessage, at: dt.datetime) -> None:
    DeliveryAttempt.objects.create(
        message=message, gateway="fake", started_at=at, finished_at=at, outcome=AttemptOutcome.SENT
    )
    set_status(message, MessageStatus.SENT, note="fake", gateway="fake")


def reply(text: str, *, number: str = NUMBER, msg_id: str = "", at: dt.datetime | None = None) -> Any:
    """Receive one MO through the service; returns the stored row or None (a duplicate)."""
    event = MoEvent(
        from_e164=number,
        text=text,
        gateway_message_id=msg_id or f"mo-{InboundMessage.objects.count() + 1}-{text}",
        received_at=at,
        raw={"text": text},
    )
    stored = receive_mo("sevenio", [event])
    return stored[0] if stored else None


@pytest.fixture
def rules(alphasms_settings) -> None:
    make_rule(offset_s=3 * 24 * 3600, window_start=dt.time(0), window_end=dt.time(23, 59, 59))
    make_rule(offset_s=24 * 3600, window_start=dt.time(0), window_end=dt.time(23, 59, 59))


@pytest.fixture
def customer(rules) -> Customer:
    return make_customer(mobile=NUMBER)


def appointment_with_first_reminder_sent(
    location: Location, customer: Customer, days: int, sent_minutes_ago: int
) -> Appointment:
    """An appointment ``days`` ahead: its 3-day reminder sent, its 1-day reminder still planned."""
    appointment = make_appointment(location, customer, now() + dt.timedelta(days=days))
    plan()
    first = OutboundMessage.objects.filter(appointment=appointment).earliest("due_at")
    mark_sent(first, now() - dt.timedelta(minutes=sent_minutes_ago))
    return appointment


@pytest.fixture
def appointment(location, customer) -> Appointment:
    return appointment_with_first_reminder_sent(location, customer, days=5, sent_minutes_ago=60)


def pending(appointment: Appointment) -> list[OutboundMessage]:
    return list(OutboundMessage.objects.filter(appointment=appointment, status=MessageStatus.PLANNED))


@pytest.mark.django_db
class TestMatching:
    def test_it_matches_the_newest_reminder_sent_to_the_number(self, location, customer):
        later = appointment_with_first_reminder_sent(location, customer, days=6, sent_minutes_ago=120)
        sooner = appointment_with_first_reminder_sent(location, customer, days=4, sent_minutes_ago=30)

        stored = reply("Ja")

        assert stored.appointment == sooner and stored.customer == customer
        assert stored.message == OutboundMessage.objects.get(appointment=sooner, status=MessageStatus.SENT)
        assert later.confirmed_at is None

    def test_a_reply_received_before_the_newest_reminder_answers_the_one_before(self, location, customer):
        later = appointment_with_first_reminder_sent(location, customer, days=6, sent_minutes_ago=120)
        appointment_with_first_reminder_sent(location, customer, days=4, sent_minutes_ago=30)

        stored = reply("Ja", at=now() - dt.timedelta(minutes=60))  # a provider's late resend

        assert stored.appointment == later

    def test_a_reminder_to_another_number_is_not_matched(self, location, customer, appointment):
        stored = reply("Ja", number="+4917098765432")

        assert (stored.message, stored.appointment, stored.customer) == (None, None, None)
        assert stored.handled_at is None and "zuzuordnen" in stored.note

    def test_a_number_with_only_planned_reminders_is_linked_to_the_person_but_not_handled(
        self, location, customer
    ):
        make_appointment(location, customer, now() + dt.timedelta(days=5))
        plan()

        stored = reply("Ja")

        assert (stored.customer, stored.message, stored.handled_at) == (customer, None, None)


@pytest.mark.django_db
class TestIntents:
    def test_cancel_cancels_the_appointment_and_its_pending_reminders(self, location, customer, appointment):
        other = make_appointment(location, customer, now() + dt.timedelta(days=20))
        plan()
        waiting = pending(appointment)
        assert len(waiting) == 1 and pending(other)

        stored = reply("Ich muss leider absagen")

        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.CANCELLED
        assert pending(appointment) == []
        assert StatusEvent.objects.filter(message=waiting[0], status="cancelled", note=CANCEL_NOTE).exists()
        assert StatusEvent.objects.filter(message=stored.message, note=CANCEL_NOTE).exists()  # the history
        assert stored.outcome == ReplyOutcome.CANCEL and stored.handled_at is not None
        assert pending(other)  # only the matched appointment

    def test_confirm_sets_confirmed_at_once(self, appointment):
        first = reply("Ja, danke!")
        appointment.refresh_from_db()
        confirmed_at = appointment.confirmed_at

        second = reply("JA")
        appointment.refresh_from_db()

        assert confirmed_at is not None and abs(confirmed_at - now()) < dt.timedelta(minutes=1)
        assert appointment.confirmed_at == confirmed_at and appointment.status == AppointmentStatus.SCHEDULED
        assert first.handled_at is not None and second.handled_at is not None
        assert "bereits bestätigt" in second.note

    def test_unknown_lands_in_the_inbox_linked_to_customer_and_appointment(self, customer, appointment):
        stored = reply("Kann ich verschieben?")

        assert stored.outcome == ReplyOutcome.UNKNOWN and stored.handled_at is None
        assert (stored.customer, stored.appointment) == (customer, appointment)
        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.SCHEDULED and appointment.confirmed_at is None
        assert InboundMessage.objects.filter(handled_at__isnull=True).get() == stored

    def test_stop_withdraws_sms_consent_of_everyone_with_that_number(self, location, customer, appointment):
        sibling = make_customer(number="1002", given="Erika", mobile=NUMBER)
        make_appointment(location, sibling, now() + dt.timedelta(days=7))
        plan()

        stored = reply("STOP")

        for person in (customer, sibling):
            assert not Consent.objects.filter(customer=person, channel="sms", opted_out_at__isnull=True)
            assert not OutboundMessage.objects.filter(customer=person, channel="sms", status="planned")
            assert Consent.objects.get(customer=person, channel="email").opted_out_at is None
        assert stored.handled_at is not None and "2 Person(en)" in stored.note
        assert AuditEntry.objects.filter(action="withdraw", actor="system:reply").count() == 2

    def test_stop_from_an_unknown_number_is_handled_without_effect(self, customer, appointment):
        stored = reply("STOP", number="+4917098765432")

        assert stored.handled_at is not None and stored.customer is None
        assert Consent.objects.filter(customer=customer, opted_out_at__isnull=True).count() == 2

    def test_a_duplicate_event_is_stored_once(self, appointment):
        event = MoEvent(from_e164=NUMBER, text="NEIN", gateway_message_id="681591")

        assert len(receive_mo("sevenio", [event, event])) == 1
        assert receive_mo("sevenio", [event]) == []
        assert InboundMessage.objects.count() == 1

    def test_events_without_a_provider_id_are_told_apart_by_time(self, appointment):
        first = MoEvent(from_e164=NUMBER, text="Ja", received_at=now() - dt.timedelta(minutes=5))
        second = MoEvent(from_e164=NUMBER, text="Ja", received_at=now())

        assert len(receive_mo("sevenio", [first, second, first])) == 2

    def test_a_sender_that_is_not_e164_is_ignored(self, appointment):
        assert receive_mo("sevenio", [MoEvent(from_e164="015112345678", text="STOP")]) == []
        assert InboundMessage.objects.count() == 0

    def test_nul_characters_are_stored_replaced(self, appointment):
        event = MoEvent(from_e164=NUMBER, text="Ja\x00", gateway_message_id="1", raw={"t": ["a\x00"]})
        (stored,) = receive_mo("sevenio", [event])

        stored.refresh_from_db()
        assert (stored.text, stored.raw) == ("Ja\ufffd", {"t": ["a\ufffd"]})
        assert stored.outcome == ReplyOutcome.CONFIRM

    def test_a_cancel_after_the_start_goes_to_staff(self, appointment):
        Appointment.objects.filter(pk=appointment.pk).update(start_at=now() - dt.timedelta(minutes=5))

        stored = reply("Nein")

        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.SCHEDULED
        assert stored.handled_at is None and "begonnen" in stored.note

    def test_a_confirmation_of_a_cancelled_appointment_goes_to_staff(self, appointment):
        reply("Nein")
        stored = reply("Doch ja")  # "doch" is no known word: the inbox anyway
        again = reply("Ja")

        assert stored.handled_at is None and again.handled_at is None
        assert "abgesagt" in again.note

    def test_a_restricted_person_s_answer_goes_to_staff_but_stop_still_applies(self, customer, appointment):
        restrict(customer, "staff:1", RestrictionBasis.ACCURACY)

        answer = reply("Nein")
        stop = reply("Stop")

        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.SCHEDULED and answer.handled_at is None
        assert "Art. 18" in answer.note
        assert stop.handled_at is not None
        assert not Consent.objects.filter(customer=customer, channel="sms", opted_out_at__isnull=True)


ACKS = {
    "REPLY_ACK_CONFIRM": "Danke, Ihr Termin ist bestätigt.",
    "REPLY_ACK_CANCEL": "Ihr Termin ist abgesagt. Danke für die Nachricht.",
    "REPLY_ACK_STOP": "Sie erhalten keine SMS mehr von uns.",
}


@pytest.fixture
def acks(alphasms_settings: dict[str, Any]) -> dict[str, Any]:
    alphasms_settings.update(ACKS)
    return alphasms_settings


def texts_sent() -> list[tuple[str, str]]:
    return [(sms.to_e164, sms.text) for sms in FakeGateway.outbox]


@pytest.mark.django_db
class TestAcknowledgements:
    @pytest.mark.parametrize(
        ("text", "setting"),
        [("Ja", "REPLY_ACK_CONFIRM"), ("Nein", "REPLY_ACK_CANCEL"), ("Stop", "REPLY_ACK_STOP")],
    )
    def test_each_outcome_is_acknowledged_through_the_gateway_when_configured(
        self, acks, appointment, django_capture_on_commit_callbacks, text, setting
    ):
        with django_capture_on_commit_callbacks(execute=True):
            stored = reply(text)

        stored.refresh_from_db()
        assert texts_sent() == [(NUMBER, ACKS[setting])]
        assert (stored.ack_status, stored.ack_gateway, stored.ack_gateway_message_id) == (
            AckStatus.SENT,
            "fake",
            "fake-1",
        )
        assert stored.ack_text == ACKS[setting] and stored.ack_at is not None

    def test_nothing_is_sent_when_no_text_is_configured(
        self, alphasms_settings, appointment, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            stored = reply("Ja")

        assert callbacks == [] and texts_sent() == []
        assert stored.ack_status == AckStatus.NONE

    def test_an_unknown_reply_is_never_acknowledged(
        self, acks, appointment, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            reply("Kann ich verschieben?")
            reply("Ja", number="+4917098765432")  # unmatched, unknown person

        assert texts_sent() == []

    def test_stop_gets_its_one_confirmation_and_nothing_after(
        self, acks, appointment, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            reply("STOP")
            reply("Stopp!")  # already withdrawn: nothing changed, no second SMS
            confirmed = reply("Ja")  # applied, but no SMS without consent

        appointment.refresh_from_db()
        assert texts_sent() == [(NUMBER, ACKS["REPLY_ACK_STOP"])]
        assert appointment.confirmed_at is not None and confirmed.ack_status == AckStatus.NONE

    def test_a_restricted_person_gets_no_acknowledgement(
        self, acks, customer, appointment, django_capture_on_commit_callbacks
    ):
        restrict(customer, "staff:1", RestrictionBasis.ACCURACY)
        with django_capture_on_commit_callbacks(execute=True):
            reply("Stop")

        assert texts_sent() == []

    def test_a_customer_speaking_english_gets_the_english_text(
        self, acks, location, rules, django_capture_on_commit_callbacks
    ):
        acks["REPLY_ACK_CONFIRM_EN"] = "Thank you, your appointment is confirmed."
        customer = make_customer(mobile=NUMBER, language="en")
        appointment_with_first_reminder_sent(location, customer, days=5, sent_minutes_ago=60)
        with django_capture_on_commit_callbacks(execute=True):
            reply("Yes")

        assert texts_sent() == [(NUMBER, "Thank you, your appointment is confirmed.")]

    def test_it_is_sent_only_after_the_commit(self, acks, appointment, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            stored = reply("Ja")

        assert len(callbacks) == 1 and texts_sent() == []
        assert stored.ack_status == AckStatus.PENDING

    def test_it_is_claimed_once(self, acks, appointment, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=False):
            stored = reply("Ja")

        assert send_acknowledgement(stored.pk) == AckStatus.SENT
        assert send_acknowledgement(stored.pk) is None
        assert len(texts_sent()) == 1

    @pytest.mark.parametrize(
        ("error", "status", "code"),
        [
            (GatewayUnavailable("connection refused"), AckStatus.FAILED, "gateway_unavailable"),
            (OutcomeUnknown("timeout"), AckStatus.UNKNOWN, "outcome_unknown"),
        ],
    )
    def test_a_provider_error_is_recorded_not_raised(
        self, acks, appointment, django_capture_on_commit_callbacks, error, status, code
    ):
        FakeGateway.script.append(error)
        with django_capture_on_commit_callbacks(execute=True):
            stored = reply("Ja")

        stored.refresh_from_db()
        assert (stored.ack_status, stored.ack_error_code) == (status, code)
        assert stored.handled_at is not None  # the confirmation itself stands

    def test_a_misconfigured_gateway_is_recorded(self, acks, appointment, django_capture_on_commit_callbacks):
        acks["SMS_GATEWAY"] = "nosuchgateway"
        with django_capture_on_commit_callbacks(execute=True):
            stored = reply("Ja")

        stored.refresh_from_db()
        assert (stored.ack_status, stored.ack_error_code) == (AckStatus.FAILED, "misconfigured")


# --- privacy -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_registry_exports_and_erases_the_person_s_replies(alphasms_settings, location):
    person, other = populate(location)
    earlier = set(InboundMessage.objects.filter(customer=person).values_list("pk", flat=True))  # people.py's
    matched = reply("Ja, ich komme", number=PERSON["mobile"])
    unmatched = InboundMessage.objects.create(
        gateway="sevenio",
        from_e164=PERSON["mobile"],
        text=f"Hier {PERSON['given']}",
        received_at=now(),
        outcome=ReplyOutcome.UNKNOWN,
        dedupe_key="unmatched",
    )
    kept = reply("Nein", number=OTHER["mobile"])
    registration = REGISTRY["messaging.inboundmessage"]
    columns = {field.attname for field in InboundMessage._meta.concrete_fields}

    rows = registration.exporter(person)

    assert {row["id"] for row in rows} == {matched.pk, unmatched.pk} | earlier
    assert all(set(row) == columns for row in rows)
    assert matched.customer == person and kept.customer == other

    report = erase(person, "staff:1", compact=False)

    assert report.counts["messaging.inboundmessage"] == 2 + len(earlier)
    assert list(InboundMessage.objects.exclude(customer=other)) == []
    assert kept in InboundMessage.objects.all()


# --- the staff inbox -----------------------------------------------------------------------------


@pytest.fixture
def owner(alphasms_settings) -> Client:
    user = get_user_model().objects.create_superuser("owner", "", "pw")
    client = Client(headers={"Accept-Language": "de"})
    client.force_login(user)
    client.user_pk = user.pk  # type: ignore[attr-defined]
    return client


@pytest.mark.django_db
class TestInbox:
    URL = "/admin/messaging/inboundmessage/"

    def test_it_lists_open_replies_first_with_links(self, owner, customer, appointment):
        done = reply("Ja")
        open_ = reply("Wann war das nochmal?")

        page = owner.get(self.URL).content.decode()

        assert "Antworten" in page and "Abmelden" in page
        assert page.index("Wann war das nochmal?") < page.index(f"/inboundmessage/{done.pk}/change/")
        assert reverse("admin:appointments_customer_change", args=[customer.pk]) in page
        assert reverse("admin:appointments_appointment_change", args=[appointment.pk]) in page
        filtered = owner.get(self.URL + "?erledigt=nein").content.decode()
        assert f"/inboundmessage/{open_.pk}/change/" in filtered
        assert f"/inboundmessage/{done.pk}/change/" not in filtered

    def test_staff_mark_a_reply_as_done(self, owner, appointment):
        open_ = reply("Kann ich verschieben?")

        response = owner.post(self.URL, {"action": "mark_handled", "_selected_action": [open_.pk]})

        open_.refresh_from_db()
        assert response.status_code == 302
        assert open_.handled_at is not None and open_.handled_by == f"staff:{owner.user_pk}"
        entry = AuditEntry.objects.get(action="change", object_type="inboundmessage")
        assert entry.object_id == str(open_.pk)

    def test_a_reply_is_read_only(self, owner, appointment):
        stored = reply("Kann ich verschieben?")
        url = reverse("admin:messaging_inboundmessage_change", args=[stored.pk])

        page = owner.get(url).content.decode()
        owner.post(url, {"text": "geändert", "outcome": "confirm"})

        stored.refresh_from_db()
        assert 'name="text"' not in page and "Kann ich verschieben?" in page
        assert (stored.text, stored.outcome) == ("Kann ich verschieben?", ReplyOutcome.UNKNOWN)
        assert owner.get(reverse("admin:messaging_inboundmessage_add")).status_code == 403
        assert AuditEntry.objects.filter(action="view", object_type="inboundmessage").exists()

    def test_deleting_an_appointment_keeps_the_reply_with_the_person(self, owner, customer, appointment):
        stored = reply("Kann ich verschieben?")

        owner.post(reverse("admin:appointments_appointment_delete", args=[appointment.pk]), {"post": "yes"})

        stored.refresh_from_db()
        assert not Appointment.objects.filter(pk=appointment.pk).exists()
        assert (stored.appointment, stored.message, stored.customer) == (None, None, customer)

    def test_a_user_who_may_only_view_cannot_mark_replies(self, alphasms_settings, appointment):
        from django.contrib.auth.models import Permission

        user = get_user_model().objects.create_user("viewer", password="pw", is_staff=True)
        user.user_permissions.add(Permission.objects.get(codename="view_inboundmessage"))
        client = Client()
        client.force_login(user)
        open_ = reply("Kann ich verschieben?")

        client.post(self.URL, {"action": "mark_handled", "_selected_action": [open_.pk]})

        open_.refresh_from_db()
        assert open_.handled_at is None
