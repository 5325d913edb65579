"""The e-mail channel against a real SMTP server on 127.0.0.1 (alphasms.testing.fake_smtp, STYLE.md §6).

Cases 32 and 34 come from tests/data/cases/; their expected values are asserted as given.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage as StdlibEmailMessage
from pathlib import Path
from typing import Any

import icalendar
import pytest
from django.core.mail import send_mail
from django.test import override_settings

from alphasms.messaging.email import (
    EmailOutcomeUnknown,
    EmailPermanentError,
    EmailTransientError,
    InvalidEmailAddress,
    OutboundEmail,
    SmtpMisconfigured,
    SmtpUtf8Unsupported,
    build_message,
    reference_from_message_id,
    requires_smtputf8,
    send_email,
)
from alphasms.messaging.gateways.errors import GatewayError, OutcomeUnknown
from alphasms.testing.fake_smtp import FakeSmtpServer, TlsCertificate, make_test_certificate

CASES = Path(__file__).resolve().parent.parent / "data" / "cases"
PASSWORD = "s3cret-Pässword-42"  # non-ASCII on purpose: smtplib alone cannot send it (cpython#73936)
REJECTED_550 = "550 5.1.1 <j.weiss@beispiel-mail.example>: Recipient address rejected"
ICS = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//AlphaSMS//Tests//DE\r\nMETHOD:PUBLISH\r\n"
    b"BEGIN:VEVENT\r\nUID:4f1c2f2e-1b2a-4c55-9a0e-5d2f7f0c9a11@praxis-mueller.example\r\n"
    b"DTSTAMP:20261101T090000Z\r\nDTSTART:20261105T080000Z\r\nDTEND:20261105T083000Z\r\n"
    b"SUMMARY:Termin Praxis M\xc3\xbcller\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def load_case(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    given = json.loads((CASES / f"{name}.json").read_bytes())
    expected = json.loads((CASES / f"{name}.expected.json").read_bytes())
    return given, expected["expected"]


def make_mail(**overrides: Any) -> OutboundEmail:
    values: dict[str, Any] = {
        "reference": str(uuid.uuid4()),
        "from_name": "Praxis Dr. Müller & Kollegen",
        "from_address": "termine@praxis-mueller.example",
        "to_name": "Weiß, Jürgen",
        "to_address": "j.weiss@beispiel-mail.example",
        "subject": "Ihr Termin am 05.11.2026 um 09:00 – bitte bestätigen",
        "text": "Guten Tag Herr Weiß,\n\nwir erinnern an Ihren Termin am 05.11.2026 um 09:00 Uhr.\n",
        "language": "de",
    }
    values.update(overrides)
    return OutboundEmail(**values)


def mail_from_case(given: dict[str, Any], **overrides: Any) -> OutboundEmail:
    return make_mail(
        from_name=given["sender"]["display_name"],
        from_address=given["sender"]["address"],
        to_name=given["recipient"]["display_name"],
        to_address=given["recipient"]["address"],
        subject=given.get("subject", "Ihr Termin"),
        **overrides,
    )


@contextmanager
def smtp_server(
    login: str = "", password: str = "", timeout_s: float = 5, **options: Any
) -> Iterator[FakeSmtpServer]:
    """A FakeSmtpServer with ``options``, and our backend pointed at it with ``login``/``password``."""
    with (
        FakeSmtpServer(**options) as server,
        override_settings(**server.django_settings(user=login, password=password, timeout_s=timeout_s)),
    ):
        yield server


def parse(content: bytes) -> StdlibEmailMessage:
    # UTF-8 headers (RFC 6532) parse correctly only from text; ASCII messages are unaffected.
    parsed = email.message_from_string(content.decode("utf-8"), policy=email.policy.default)
    assert isinstance(parsed, StdlibEmailMessage)
    return parsed


def raw_headers(content: bytes) -> dict[str, str]:
    """Header name -> unfolded raw value (bytes decoded as UTF-8), straight from the wire."""
    head = content.split(b"\r\n\r\n", 1)[0].decode("utf-8").replace("\r\n ", " ").replace("\r\n\t", "\t")
    return dict(line.split(": ", 1) for line in head.split("\r\n"))


def sent(server: FakeSmtpServer) -> bytes:
    assert len(server.envelopes) == 1
    return server.envelopes[0].content


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> TlsCertificate:
    try:
        return make_test_certificate(tmp_path_factory.mktemp("tls"))
    except RuntimeError as exc:  # no openssl: a real failure, the TLS paths must be tested
        pytest.fail(f"cannot make a test certificate: {exc}")


@pytest.fixture
def trusted(certificate: TlsCertificate, monkeypatch: pytest.MonkeyPatch) -> TlsCertificate:
    """The client trusts the test certificate the way an admin would trust a private CA."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert_path))
    return certificate


class TestCase32UmlautLocalPart:
    given, expected = load_case("32-email-umlaut-local-part")

    def test_it_says_the_umlaut_local_part_requires_smtputf8(self):
        assert requires_smtputf8(self.given["recipient"]["address"]) is self.expected["requires_smtputf8"]
        assert requires_smtputf8(self.given["sender"]["address"]) is False
        assert requires_smtputf8("anna@bücher.example") is False

    def test_it_refuses_before_mail_from_when_the_server_lacks_smtputf8(self):
        assert self.expected["server_offers_smtputf8"] is False
        with smtp_server(smtputf8=False) as server, pytest.raises(SmtpUtf8Unsupported) as caught:
            send_email(mail_from_case(self.given))
        assert caught.value.permanent and not caught.value.ambiguous
        assert caught.value.code == "smtputf8_unsupported"
        assert self.given["recipient"]["address"] in str(caught.value)
        assert "SMTPUTF8" in caught.value.user_message
        assert any(c.startswith("EHLO") for c in server.commands)
        assert not [c for c in server.commands if c.startswith(("MAIL", "RCPT", "DATA"))]
        assert server.envelopes == []

    def test_it_sends_a_utf8_envelope_and_raw_headers_when_the_server_offers_smtputf8(self):
        want = self.expected["if_server_offered_smtputf8"]
        with smtp_server(smtputf8=True) as server:
            send_email(mail_from_case(self.given))
        assert want["mail_from"] in server.commands
        assert want["rcpt_to"] in server.commands
        envelope = server.envelopes[0]
        assert envelope.mail_options == ("SMTPUTF8",)
        assert envelope.rcpt_tos == (self.given["recipient"]["address"],)
        lines = envelope.content.split(b"\r\n")
        assert want["to_header_raw_utf8"].encode() in lines
        forbidden = re.compile(self.expected["address_header_must_not_match_regex"])
        headers = raw_headers(envelope.content)
        for name in ("From", "To"):
            assert not forbidden.search(f"{name}: {headers[name]}")
        assert headers["Subject"] == self.given["subject"]

    def test_it_never_writes_an_encoded_word_into_the_addr_spec(self):
        content = bytes(build_message(mail_from_case(self.given)).message())
        forbidden = re.compile(self.expected["address_header_must_not_match_regex"])
        assert not forbidden.search(content.decode("utf-8"))


class TestCase34DisplayNameEncoding:
    given, expected = load_case("34-email-display-name-encoding")

    def test_it_encodes_display_names_as_phrases_and_keeps_addr_specs_plain(self):
        with smtp_server() as server:
            send_email(mail_from_case(self.given))
        content = sent(server)
        assert content.split(b"\r\n\r\n", 1)[0].isascii()
        assert server.envelopes[0].mail_options == ()
        headers = raw_headers(content)
        assert f"From: {headers['From']}" == self.expected["example_valid_header"]
        for name in ("From", "To"):
            outside_encoded_words = re.sub(r"=\?[^?]+\?[QqBb]\?[^?]*\?=", "", headers[name])
            assert f"<{self.expected[name]['addr_spec']}>" in outside_encoded_words

    def test_it_decodes_back_to_one_mailbox_each(self):
        with smtp_server() as server:
            send_email(mail_from_case(self.given))
        parsed = parse(sent(server))
        (sender,) = parsed["From"].addresses
        assert sender.display_name == self.expected["From"]["decoded_display_name"]
        assert sender.addr_spec == self.expected["From"]["addr_spec"]
        recipients = parsed["To"].addresses
        assert len(recipients) == self.expected["To"]["recipient_count"]
        assert recipients[0].display_name == self.expected["To"]["decoded_display_name"]
        assert recipients[0].addr_spec == self.expected["To"]["addr_spec"]


class TestContent:
    @pytest.mark.parametrize(
        ("language", "subject", "text"),
        [
            (
                "de",
                "Erinnerung: Ihr Termin am Donnerstag, 05.11.2026 – Praxis Dr. Müller",
                "Guten Tag Frau Bäcker,\n\nbitte denken Sie an Ihren Termin. Grüße aus Köln!\n",
            ),
            (
                "en",
                "Reminder: your appointment on Thursday, 5 November 2026",
                "Dear Ms Baker,\n\nplease remember your appointment.\n",
            ),
        ],
    )
    def test_it_sends_german_and_english_texts_that_decode_back(self, language, subject, text):
        with smtp_server() as server:
            send_email(make_mail(language=language, subject=subject, text=text))
        content = sent(server)
        assert content.split(b"\r\n\r\n", 1)[0].isascii()
        parsed = parse(content)
        assert parsed["Subject"] == subject
        assert parsed["Content-Language"] == language
        body = parsed.get_body()
        assert body is not None and body.get_content().replace("\r\n", "\n") == text

    def test_it_converts_an_idn_domain_to_punycode_without_smtputf8(self):
        with smtp_server() as server:
            send_email(make_mail(to_name="Anna", to_address="anna@bücher.example"))
        assert "RCPT TO:<anna@xn--bcher-kva.example>" in server.commands
        envelope = server.envelopes[0]
        assert envelope.mail_options == ()
        assert raw_headers(envelope.content)["To"] == "Anna <anna@xn--bcher-kva.example>"

    def test_it_refuses_an_idn_domain_where_idna2003_and_2008_differ(self):
        with smtp_server() as server, pytest.raises(InvalidEmailAddress) as caught:
            send_email(make_mail(to_address="jan@straße.example"))
        assert caught.value.permanent and isinstance(caught.value, ValueError)
        assert server.commands == []

    def test_it_attaches_the_ics_as_text_calendar_method_publish(self):
        with smtp_server() as server:
            send_email(make_mail(ics=ICS))
        parsed = parse(sent(server))
        assert parsed.get_content_type() == "multipart/mixed"
        (attachment,) = list(parsed.iter_attachments())
        assert isinstance(attachment, StdlibEmailMessage)
        assert attachment.get_content_type() == "text/calendar"
        assert attachment.get_param("method") == "PUBLISH"
        assert attachment.get_filename() == "termin.ics"
        payload = attachment.get_payload(decode=True)
        assert isinstance(payload, bytes) and payload == ICS  # CRLF lines kept byte for byte (RFC 5545 §3.1)
        calendar = icalendar.Calendar.from_ical(payload)
        (event,) = calendar.walk("VEVENT")
        assert str(event["SUMMARY"]) == "Termin Praxis Müller"

    def test_it_puts_the_reference_into_the_message_id(self):
        reference = str(uuid.uuid4())
        with smtp_server() as server:
            message_id = send_email(make_mail(reference=reference))
        assert message_id == f"<{reference}@praxis-mueller.example>"
        assert raw_headers(sent(server))["Message-ID"] == message_id
        assert reference_from_message_id(message_id) == reference
        assert socket.getfqdn() not in message_id

    def test_it_drops_line_breaks_from_header_values(self):
        mail = make_mail(subject="Termin\r\nBcc: spy@evil.example", to_name="Jürgen\nX-Leak: 1")
        with smtp_server() as server:
            send_email(mail)
        parsed = parse(sent(server))
        assert parsed["Bcc"] is None and parsed["X-Leak"] is None
        assert parsed["Subject"] == "Termin Bcc: spy@evil.example"
        assert server.envelopes[0].rcpt_tos == ("j.weiss@beispiel-mail.example",)


class TestExactHeaders:
    """DESIGN.md invariant 6: nothing leaves but sender, recipient, subject, text (and the .ics)."""

    ROOT = ["From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted"]

    def test_a_text_only_message_has_exactly_these_headers(self):
        with smtp_server() as server:
            send_email(make_mail())
        parsed = parse(sent(server))
        assert sorted(parsed.keys()) == sorted(
            [*self.ROOT, "Content-Type", "Content-Transfer-Encoding", "MIME-Version", "Content-Language"]
        )
        assert parsed["Auto-Submitted"] == "auto-generated"
        assert parsed["Content-Transfer-Encoding"] == "quoted-printable"

    def test_a_message_with_ics_has_exactly_these_headers_and_parts(self):
        with smtp_server() as server:
            send_email(make_mail(ics=ICS))
        parsed = parse(sent(server))
        assert sorted(parsed.keys()) == sorted(
            [*self.ROOT, "MIME-Version", "Content-Type", "Content-Language"]
        )
        text_part, calendar_part = parsed.iter_parts()
        assert sorted(text_part.keys()) == ["Content-Transfer-Encoding", "Content-Type"]
        assert sorted(calendar_part.keys()) == [
            "Content-Disposition",
            "Content-Transfer-Encoding",
            "Content-Type",
        ]

    def test_the_envelope_is_exactly_sender_and_recipient(self):
        with smtp_server() as server:
            send_email(make_mail())
        assert server.commands[0] == "EHLO localhost"  # not the practice PC's host name
        transaction = [c for c in server.commands if not c.startswith("EHLO")]
        assert transaction == [
            "MAIL FROM:<termine@praxis-mueller.example>",
            "RCPT TO:<j.weiss@beispiel-mail.example>",
            "DATA",
        ]


class TestTransport:
    def test_it_uses_starttls_and_auth_on_a_server_that_requires_them(self, trusted):
        with smtp_server(
            starttls=trusted, user=("praxis", PASSWORD), require_auth=True, login="praxis", password=PASSWORD
        ) as server:
            send_email(make_mail())
        commands = server.commands
        assert commands.index("STARTTLS") < commands.index("AUTH PLAIN") < commands.index("DATA")
        attempts = [(a.mechanism, a.login, a.success) for a in server.auth_attempts]
        assert attempts == [("PLAIN", "praxis", True)]
        envelope = server.envelopes[0]
        assert envelope.tls and envelope.authenticated_as == "praxis"

    def test_it_names_the_setting_but_never_the_password_when_auth_fails(self, trusted):
        with (
            FakeSmtpServer(starttls=trusted, user=("praxis", "the-right-one"), require_auth=True) as server,
            override_settings(**server.django_settings(user="praxis", password=PASSWORD)),
            pytest.raises(SmtpMisconfigured) as caught,
        ):
            send_email(make_mail())
        assert server.auth_attempts and not server.auth_attempts[0].success
        text = f"{caught.value!s} {caught.value!r} {caught.value.__context__!r} {caught.value.__cause__!r}"
        assert PASSWORD not in text and "ALPHASMS_SMTP_PASSWORD" in text
        assert not isinstance(caught.value, GatewayError)
        assert server.envelopes == []

    def test_it_reports_missing_credentials_as_misconfiguration(self, trusted):
        with smtp_server(starttls=trusted, user=("praxis", PASSWORD), require_auth=True) as server:
            with pytest.raises(SmtpMisconfigured, match="ALPHASMS_SMTP_USER"):
                send_email(make_mail())
        assert server.envelopes == []

    def test_it_sends_over_implicit_tls(self, trusted):
        with smtp_server(
            implicit_tls=trusted, user=("praxis", PASSWORD), login="praxis", password=PASSWORD
        ) as server:
            send_email(make_mail())
        assert "STARTTLS" not in server.commands
        assert server.envelopes[0].tls and server.envelopes[0].authenticated_as == "praxis"

    def test_it_refuses_an_untrusted_certificate(self, certificate):
        with smtp_server(implicit_tls=certificate) as server, pytest.raises(SmtpMisconfigured):
            send_email(make_mail())
        assert server.envelopes == []

    def test_a_plain_django_message_still_goes_through(self):
        with smtp_server() as server:
            send_mail(
                "Test", "Hallo", "Praxis <termine@praxis-mueller.example>", ["admin@praxis-mueller.example"]
            )
        assert server.envelopes[0].rcpt_tos == ("admin@praxis-mueller.example",)


class TestErrors:
    @pytest.mark.parametrize(
        ("options", "error", "code", "provider_code"),
        [
            (
                {"reject_rcpt": {"j.weiss@beispiel-mail.example": REJECTED_550}},
                EmailPermanentError,
                "email_recipient_rejected",
                "550 5.1.1",
            ),
            (
                {"reject_rcpt": {"j.weiss@beispiel-mail.example": "451 4.7.1 Greylisted, try again later"}},
                EmailTransientError,
                "email_unavailable",
                "451 4.7.1",
            ),
            (
                {"reject_data": "451 4.3.0 Temporary local problem"},
                EmailTransientError,
                "email_unavailable",
                "451 4.3.0",
            ),
            (
                {"reject_data": "554 5.7.1 Message rejected as spam"},
                EmailPermanentError,
                "email_rejected",
                "554 5.7.1",
            ),
        ],
    )
    def test_it_maps_smtp_replies(self, options, error, code, provider_code):
        with smtp_server(**options) as server, pytest.raises(error) as caught:
            send_email(make_mail())
        assert type(caught.value) is error
        assert caught.value.code == code and caught.value.provider_code == provider_code
        assert caught.value.permanent is (error is EmailPermanentError)
        assert not caught.value.ambiguous
        assert "j.weiss@beispiel-mail.example" not in str(caught.value)
        assert server.envelopes == []

    def test_it_names_the_rejected_recipient_for_staff(self):
        reject = {"j.weiss@beispiel-mail.example": "550 5.1.1 User unknown"}
        with smtp_server(reject_rcpt=reject), pytest.raises(EmailPermanentError) as caught:
            send_email(make_mail())
        assert caught.value.user_message == "Der Mailserver hat die Empfängeradresse abgelehnt; bitte prüfen."

    def test_connection_refused_is_transient(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        backend = "alphasms.messaging.email.SmtpUtf8EmailBackend"
        with override_settings(
            EMAIL_BACKEND=backend,
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=port,
            EMAIL_USE_TLS=False,
            EMAIL_USE_SSL=False,
            EMAIL_TIMEOUT=5,
        ):
            with pytest.raises(EmailTransientError) as caught:
                send_email(make_mail())
        assert not caught.value.permanent and not caught.value.ambiguous

    def test_a_timeout_before_data_is_transient(self):
        with (
            smtp_server(timeout_s=0.5, delay_s={"MAIL": 3}) as server,
            pytest.raises(EmailTransientError) as caught,
        ):
            send_email(make_mail())
        assert not caught.value.ambiguous
        assert server.envelopes == []

    def test_a_timeout_after_data_is_ambiguous(self):
        with (
            smtp_server(timeout_s=0.5, delay_s={"DATA": 3}) as server,
            pytest.raises(EmailOutcomeUnknown) as caught,
        ):
            send_email(make_mail())
        assert caught.value.ambiguous and isinstance(caught.value, OutcomeUnknown)
        assert len(server.envelopes) == 1  # the server got it: a resend would be a duplicate
