"""Records of processing (Art. 30) and the privacy notice (Art. 13/14) follow the running configuration."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from alphasms.appointments.models import Channel
from alphasms.privacy.documents import (
    FIELD_LABELS,
    markdown_to_html,
    recipients,
    render_document,
    retention,
)
from tests.conftest import make_rule

pytestmark = pytest.mark.django_db

KINDS = ("records", "notice")
LANGUAGES = ("de", "en")
EXPECTED_FIELDS = {
    "sms": ("recipient_number", "sms_text", "sender_id"),
    "mail": ("mail_sender", "mail_recipient", "mail_subject", "mail_text"),
    "update": ("version", "os", "registration_name", "licence_number"),
    "support_backup": ("backup",),
    "remote": ("screen",),
}


@pytest.fixture
def configured(alphasms_settings):
    """Fake SMS gateway with sender ID "Praxis", a real-looking mail host, statistics off."""
    with override_settings(EMAIL_HOST="smtp.praxis.example"):
        alphasms_settings["MAIL_SINK"] = False
        yield alphasms_settings


def table_row(document: str, first_cell: str, role: str) -> list[str]:
    """The cells of the Markdown table row of recipient ``first_cell`` in role ``role``."""
    for line in document.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[:2] == [first_cell, role]:
            return cells
    raise AssertionError(f"no row for {first_cell} / {role}")


def labels(fields: tuple[str, ...], language: str) -> str:
    return ", ".join(FIELD_LABELS[field][1 if language == "en" else 0] for field in fields)


class TestRecipients:
    def test_each_recipient_gets_exactly_its_listed_fields(self, configured):
        assert {r.key: r.fields for r in recipients("de")} == EXPECTED_FIELDS

    @pytest.mark.parametrize("language", LANGUAGES)
    @pytest.mark.parametrize("kind", KINDS)
    def test_documents_name_the_sms_gateway_and_mail_host_with_exactly_their_fields(
        self, configured, kind, language
    ):
        document = render_document(kind, language)
        sms_role, mail_role = ("SMS gateway", "mail server (SMTP)") if language == "en" else (
            "SMS-Gateway", "E-Mail-Server (SMTP)")  # fmt: skip
        sms = table_row(document, "Fake (tests)", sms_role)
        mail = table_row(document, "smtp.praxis.example", mail_role)
        assert sms[2] == labels(EXPECTED_FIELDS["sms"], language)
        assert mail[2] == labels(EXPECTED_FIELDS["mail"], language)

    @pytest.mark.parametrize("language", LANGUAGES)
    def test_the_records_list_the_vendor_with_exactly_its_fields_and_only_on_a_users_action(
        self, configured, language
    ):
        document = render_document("records", language)
        update = table_row(document, "Genster GmbH", "update check" if language == "en" else "Update-Prüfung")
        assert update[2] == labels(EXPECTED_FIELDS["update"], language)
        assert ("only when a user" if language == "en" else "nur wenn ein Benutzer") in update[3]
        for key, role_de, role_en in (("support_backup", "Support-Sicherung", "support backup"),
                                      ("remote", "Fernwartung", "remote maintenance")):  # fmt: skip
            row = table_row(document, "Genster GmbH", role_en if language == "en" else role_de)
            assert row[2] == labels(EXPECTED_FIELDS[key], language)

    @pytest.mark.parametrize("language", LANGUAGES)
    def test_the_notice_for_customers_leaves_out_the_update_check_which_carries_no_customer_data(
        self, configured, language
    ):
        document = render_document("notice", language)
        assert labels(EXPECTED_FIELDS["update"], language) not in document
        assert ("update check transmits no data about you" if language == "en"
                else "Update-Prüfung des Programms werden keine Daten über Sie") in document  # fmt: skip

    def test_no_sender_id_is_listed_when_none_is_configured(self, configured):
        configured["SMS_SENDER_ID"] = configured["SMS_SENDER_NUMBER"] = ""
        assert recipients("de")[0].fields == ("recipient_number", "sms_text")
        row = table_row(render_document("records", "de"), "Fake (tests)", "SMS-Gateway")
        assert "Absenderkennung" not in row[2]

    def test_the_ics_attachment_is_listed_while_an_active_e_mail_rule_attaches_one(self, configured):
        rule = make_rule(channel=Channel.EMAIL, attach_ics=True)
        assert recipients("en")[1].fields[-1] == "ics"
        assert (
            ".ics"
            in table_row(render_document("notice", "en"), "smtp.praxis.example", "mail server (SMTP)")[2]
        )
        rule.active = False
        rule.save()
        assert "ics" not in recipients("en")[1].fields


class TestConfigurationChanges:
    @pytest.mark.parametrize("kind", KINDS)
    def test_another_gateway_and_mail_host_change_the_documents(self, configured, kind):
        before = render_document(kind, "de")
        configured["SMS_GATEWAY"] = "sevenio"
        with override_settings(EMAIL_HOST="mail.provider.example"):
            after = render_document(kind, "de")
        assert "Fake (tests)" in before and "Fake (tests)" not in after
        assert "| seven.io | SMS-Gateway |" in after
        assert "smtp.praxis.example" not in after and "| mail.provider.example |" in after

    def test_the_local_mail_sink_is_said_to_keep_mail_on_this_computer(self, configured):
        configured["MAIL_SINK"] = True
        assert "E-Mails verlassen diesen Rechner nicht" in render_document("records", "de")

    @pytest.mark.parametrize(("language", "on", "off"), [
        ("de", "**Eingeschaltet.**", "**Ausgeschaltet** (Voreinstellung)"),
        ("en", "**Switched on.**", "**Switched off** (default)"),
    ])  # fmt: skip
    def test_statistics_on_or_off_is_stated(self, configured, language, on, off):
        assert off in render_document("records", language) and on not in render_document("records", language)
        configured["STATISTICS"] = True
        assert on in render_document("records", language)
        assert ("Art. 6(1)(f)" if language == "en" else "Art. 6 Abs. 1 lit. f") in render_document(
            "notice", language
        )

    def test_retention_periods_follow_the_settings_and_missing_ones_are_not_set(self, configured):
        configured["RETENTION_MESSAGE_TEXT_DAYS"] = 45
        configured["RETENTION_APPOINTMENTS_DAYS"] = 0  # rule switched off
        configured.pop("RETENTION_DELIVERY_REPORTS_DAYS", None)
        configured.pop("RETENTION_INACTIVE_CUSTOMERS_DAYS", None)
        de, en = render_document("records", "de"), render_document("notice", "en")
        assert "| 45 Tage nach dem Versand |" in de and "| 45 days after sending |" in en
        assert de.count("| nicht festgelegt |") == 3 and en.count("| not set |") == 3
        assert [item.days for item in retention("de")] == [45, None, None, None]


class TestWording:
    @pytest.mark.parametrize("language", LANGUAGES)
    @pytest.mark.parametrize("kind", KINDS)
    def test_the_old_law_is_replaced_by_art_18_gdpr_and_section_35_bdsg(self, configured, kind, language):
        document = render_document(kind, language)
        assert "§ 3 BDSG" not in document and "§ 3 Abs. 1 BDSG" not in document
        assert "Art. 18" in document and "§ 35 BDSG" in document
        assert "Sperrung" not in document.replace("früher „Sperrung“ genannt", "")

    def test_a_stop_reply_is_offered_only_where_the_gateway_takes_replies(self, configured):
        assert "STOP" not in render_document("notice", "de")  # the fake gateway has supports_mo = False

    def test_the_practice_is_named_as_controller(self, configured, location):
        assert "- Praxis Sonnenhof, Telefon +49 30 1234567" in render_document("notice", "de")


class TestHtml:
    def test_html_is_a_whole_page_with_tables_in_the_documents_language(self, configured):
        page = render_document("records", "en", "html")
        assert page.startswith("<!DOCTYPE html>") and '<html lang="en">' in page
        assert "<td>Fake (tests)</td><td>SMS gateway</td>" in page
        assert "<h2>3. Recipients</h2>" in page and "<strong>Purpose:</strong>" in page

    def test_values_from_the_configuration_are_escaped(self, configured):
        with override_settings(EMAIL_HOST="<script>x</script>|evil"):
            page = render_document("notice", "de", "html")
        assert "<script>" not in page and "&lt;script&gt;x&lt;/script&gt;/evil" in page

    def test_the_markdown_subset(self):
        html = markdown_to_html("# T\n\npara\nline\n\n- a\n  b\n- c\n\n| x | y |\n|---|---|\n| 1 | **2** |\n")
        assert html == (
            "<h1>T</h1>\n<p>para line</p>\n<ul>\n<li>a b</li>\n<li>c</li>\n</ul>\n<table>\n"
            "<thead><tr><th>x</th><th>y</th></tr></thead>\n<tbody>\n"
            "<tr><td>1</td><td><strong>2</strong></td></tr>\n</tbody>\n</table>"
        )


class TestCommand:
    def test_it_prints_markdown_by_default(self, configured):
        out = io.StringIO()
        call_command("privacy_documents", "records", "--language", "de", stdout=out)
        assert out.getvalue().startswith("# Verzeichnis von Verarbeitungstätigkeiten")

    def test_it_writes_html_to_a_file(self, configured, tmp_path):
        target = tmp_path / "notice.html"
        call_command("privacy_documents", "notice", "--language", "en", "--format", "html",
                     "--output", str(target), stdout=io.StringIO())  # fmt: skip
        text = target.read_text(encoding="utf-8")
        assert (
            text.startswith("<!DOCTYPE html>") and "Privacy notice" in text and "smtp.praxis.example" in text
        )

    def test_an_unknown_gateway_is_a_usage_error(self, configured):
        configured["SMS_GATEWAY"] = "nope"
        with pytest.raises(CommandError) as error:
            call_command("privacy_documents", "records", stdout=io.StringIO())
        assert error.value.returncode == 2 and "nope" in str(error.value)
