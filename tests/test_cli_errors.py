"""`alphasms` errors as a new user meets them: one plain sentence naming the option or file and the fix,
in the user's language, exit 2 for usage errors and unreadable input (nothing changed), never a traceback.

Commands run in-process through ``alphasms.cli.main`` (the console script's code path). Tests that touch
the database use ``transaction=True``: like Django, the command closes its connections when it ends.
"""

from __future__ import annotations

import datetime as dt
import errno
import logging
import socket
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.test import override_settings

from alphasms.appointments.csvparse import CsvFormatError, read_csv
from alphasms.appointments.models import CalendarSubscription, Location
from alphasms.cli import main
from alphasms.commands import UsageError
from alphasms.messaging.gateways.http import redact_url
from alphasms.messaging.management.commands.run import listen_error
from alphasms.testing.fake_http import CannedResponse, FakeHttpServer

DATA = Path(__file__).resolve().parent / "data"
PRAXIS_ICS = DATA / "practice" / "praxis.ics"
SERIES_ICS = DATA / "calendars" / "exchange-cdo-weekday-series.ics"
WINDOW = ("--from", "2015-07-01T00:00Z", "--to", "2015-08-01T00:00Z")
DB = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def german(monkeypatch):
    """LANG=de_DE.UTF-8 and nothing overriding it; tests wanting English call ``english``."""
    for name in ("ALPHASMS_LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "de_DE.UTF-8")


@pytest.fixture
def english(monkeypatch):
    monkeypatch.setenv("LANG", "en_US.UTF-8")


@pytest.fixture
def cli(capsys):
    """Run ``alphasms ARGS``; returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def assert_usage_error(code: int, err: str, *fragments: str) -> None:
    """Exit 2, no traceback, no "CommandError:" prefix, and the expected wording."""
    assert code == 2, err
    assert "Traceback" not in err and "CommandError" not in err, err
    for fragment in fragments:
        assert fragment in err


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# 1. Usage and input errors: exit 2, just the message ------------------------------------------------


def test_a_missing_file_names_it_and_the_fix(cli):
    code, _, err = cli("calendar", "occurrences", "/nirgends/termine.ics", *WINDOW)
    assert_usage_error(code, err, "Datei nicht gefunden: /nirgends/termine.ics", "Pfad")
    assert err.count("\n") == 1  # one line


def test_a_folder_is_not_called_missing(cli, tmp_path):
    code, _, err = cli("calendar", "occurrences", str(tmp_path), *WINDOW)
    assert_usage_error(code, err, f"{tmp_path} ist ein Ordner, keine Datei")
    assert "nicht gefunden" not in err


def test_an_empty_file_says_so(cli, tmp_path):
    empty = tmp_path / "leer.ics"
    empty.write_bytes(b"\r\n  \n")
    code, _, err = cli("calendar", "occurrences", str(empty), *WINDOW)
    assert_usage_error(code, err, "die Datei ist leer")


def test_a_binary_file_is_named_as_such_and_its_bytes_are_never_echoed(cli, tmp_path):
    binary = tmp_path / "termine.ics"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x80\x81" * 40)
    code, _, err = cli("calendar", "occurrences", str(binary), *WINDOW)
    assert_usage_error(code, err, "keine iCalendar-Datei (Binärdaten)", ".ics-Datei exportieren")
    assert "PNG" not in err and "IHDR" not in err and "\ufffd" not in err


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("--from", "gestern", "--to", "2015-08-01"), ("--from: 'gestern' ist kein ISO-8601-Zeitpunkt",)),
        (("--from", "2015-08-01", "--to", "2015-07-01"), ("--from muss vor --to liegen",)),
        (("--from", "2015-08-01", "--to", "2015-08-01"), ("--from muss vor --to liegen",)),
    ],
)
def test_bad_instants_name_the_option(cli, args, fragments):
    code, _, err = cli("calendar", "occurrences", str(SERIES_ICS), *args)
    assert_usage_error(code, err, *fragments)


def test_a_missing_option_is_an_argparse_error_with_usage_in_german(cli):
    code, _, err = cli("calendar", "occurrences", str(SERIES_ICS), "--from", "2015-07-01")
    assert_usage_error(code, err, "alphasms calendar occurrences: Angabe fehlt: --to", "Aufruf: alphasms")
    assert "calendar_occurrences" not in err


def test_an_unknown_option_is_named(cli):
    code, _, err = cli("phone", "normalize", "0171 1234567", "--bogus")
    assert_usage_error(code, err, "unbekannte Angabe: --bogus")


@DB
def test_an_unknown_location_lists_the_known_ones(cli):
    Location.objects.create(name="Praxis Nord")
    code, _, err = cli("import", "ics", str(PRAXIS_ICS), "--location", "Süd")
    assert_usage_error(code, err, "--location: Standort 'Süd' unbekannt", "Praxis Nord")


@DB
@pytest.mark.parametrize("item", ["mobile", "handy=Tel", "mobile="])
def test_a_bad_map_names_the_item_and_the_form(cli, tmp_path, item):
    csv = tmp_path / "k.csv"
    csv.write_text("Nachname;Vorname\nMüller;Anna\n", encoding="utf-8")
    code, _, err = cli("import", "csv", str(csv), "--map", item)
    assert_usage_error(code, err, f"--map {item!r}: erwartet FELD=Spalte", "mobile")


@DB
@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--consent", "sms"), "--wording fehlt"),
        (("--wording", "2026-01"), "--wording ohne --consent bewirkt nichts"),
        (("--consent", "fax", "--wording", "v1"), "--consent: fax geht nicht"),
    ],
)
def test_consent_and_wording_only_together(cli, tmp_path, args, fragment):
    csv = tmp_path / "k.csv"
    csv.write_text("Nachname;Vorname\nMüller;Anna\n", encoding="utf-8")
    code, _, err = cli("import", "csv", str(csv), *args)
    assert_usage_error(code, err, fragment)
    assert not Location.objects.exists()  # nothing changed


@DB
def test_an_unrecognised_csv_header_hints_at_map(cli, tmp_path):
    csv = tmp_path / "k.csv"
    csv.write_text("Patient;Tel. mobil\nMüller;0171 1234567\n", encoding="utf-8")
    code, _, err = cli("import", "csv", str(csv))
    assert_usage_error(code, err, "Keine erkennbare Kopfzeile", "--map FELD=Spalte")
    assert not Location.objects.exists()  # the default location is not created for an unreadable file


@DB
def test_an_excel_file_given_as_csv_says_how_to_save_it(cli, tmp_path):
    xlsx = tmp_path / "kunden.csv"
    xlsx.write_bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(range(256)) * 4)
    code, _, err = cli("import", "csv", str(xlsx))
    assert_usage_error(code, err, "keine CSV-Datei, sondern eine Excel- oder ZIP-Datei", "CSV UTF-8")


def test_a_private_address_is_refused_with_the_setting_that_allows_it(cli, alphasms_settings):
    alphasms_settings["ALLOWED_PRIVATE_HOSTS"] = []
    code, _, err = cli("calendar", "occurrences", "http://127.0.0.1:9/kalender.ics", *WINDOW)
    assert_usage_error(code, err, "private oder lokale Adresse", "ALPHASMS_ALLOWED_PRIVATE_HOSTS")


def test_a_closed_port_says_the_server_cannot_be_reached(cli, alphasms_settings):
    url = f"http://127.0.0.1:{free_port()}/kalender.ics"
    code, _, err = cli("calendar", "occurrences", url, *WINDOW)
    assert_usage_error(code, err, f"{url}: der Server 127.0.0.1 ist nicht erreichbar", "URL und Port")


@pytest.mark.parametrize(
    ("group", "listed"),
    [
        ("import", "alphasms import ics|csv"),
        ("calendar", "alphasms calendar occurrences"),
        ("sms", "alphasms sms info|spend"),
        ("phone", "alphasms phone normalize"),
    ],
)
def test_a_group_word_alone_lists_its_sub_commands(cli, group, listed):
    code, out, err = cli(group)
    assert_usage_error(code, err, f"alphasms {group} braucht einen Unterbefehl: {listed}")
    assert out == ""


def test_an_unknown_sub_command_lists_the_possible_ones(cli):
    code, _, err = cli("import", "ical", "x.ics")
    assert_usage_error(code, err, "Unterbefehl 'ical' gibt es nicht", "„alphasms import ics“")


def test_a_usage_error_from_call_command_carries_exit_code_2():
    with pytest.raises(UsageError) as raised:
        call_command("calendar_occurrences", str(SERIES_ICS), "--from", "2015-07-01")
    assert raised.value.returncode == 2
    assert str(raised.value) == "Angabe fehlt: --to"


# 2. No traceback reaches the user -------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../../etc/passwd", "Europe"])
def test_an_unknown_time_zone_is_a_usage_error(cli, zone):
    code, _, err = cli("calendar", "occurrences", str(SERIES_ICS), *WINDOW, "--tz", zone)
    assert_usage_error(code, err, f"--tz: {zone!r} ist keine IANA-Zeitzone (z. B. Europe/Berlin)")


@pytest.mark.parametrize("interval", ["-5", "0", "59"])
def test_a_subscription_interval_below_60_seconds_is_refused(cli, interval):
    code, _, err = cli("import", "ics", "https://example.org/k.ics", "--subscribe", "--interval", interval)
    assert_usage_error(code, err, f"--interval: {interval} liegt nicht zwischen 60 und")


@DB
def test_interval_without_subscribe_is_refused(cli):
    code, _, err = cli("import", "ics", str(PRAXIS_ICS), "--interval", "3600")
    assert_usage_error(code, err, "--interval gilt nur mit --subscribe")


@DB
@pytest.mark.parametrize("until", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00+05:00", "9999-12-31"])
def test_an_instant_that_overflows_names_until(cli, until):
    code, _, err = cli("preview", "--until", until)
    assert_usage_error(code, err, f"--until: {until!r} liegt außerhalb des möglichen Bereichs")


def test_a_taken_web_port_is_named_with_the_option_to_change_it(cli):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = cli("run", "--port", str(port))
    assert_usage_error(code, err, f"Port {port} ist belegt – anderen mit --port wählen")


def test_a_taken_mail_sink_port_names_the_smtp_setting(cli, alphasms_settings):
    alphasms_settings["MAIL_SINK"] = True
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with override_settings(EMAIL_HOST="127.0.0.1", EMAIL_PORT=port):
            code, _, err = cli("run", "--port", str(free_port()))
    assert_usage_error(code, err, f"Port {port} (lokaler Mail-Eingang) ist belegt", "ALPHASMS_SMTP_PORT")


@pytest.mark.parametrize("port", ["99999", "0", "-1", "achtzig"])
def test_a_port_outside_1_to_65535_is_refused(cli, port):
    code, _, err = cli("run", "--port", port)
    assert_usage_error(code, err, "--port:")
    assert "1 und 65535" in err or "keine ganze Zahl" in err


def test_other_listen_errors_name_the_fix():
    denied = listen_error(OSError(errno.EACCES, "Permission denied"), "127.0.0.1", 80, web=True)
    assert "Port 80 braucht Administratorrechte" in str(denied) and "--port" in str(denied)
    unknown = listen_error(socket.gaierror(-2, "Name or service not known"), "nirgends", 8000, web=True)
    assert "--host nirgends: diese Adresse gibt es auf diesem Rechner nicht" in str(unknown)
    assert unknown.returncode == denied.returncode == 2


def test_a_crash_is_one_line_with_exit_1_not_a_traceback(cli, monkeypatch):
    from alphasms.messaging.management.commands import phone_normalize

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaputt")

    monkeypatch.setattr(phone_normalize, "to_e164", boom)
    code, _, err = cli("phone", "normalize", "0171 1234567")
    assert code == 1
    assert "Traceback" not in err
    assert "Interner Fehler (RuntimeError: kaputt)" in err and "--traceback" in err


@DB
def test_a_database_without_migrations_is_named_with_the_fix(cli, monkeypatch):
    from django.db.migrations.executor import MigrationExecutor

    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: [("pending", False)])
    code, _, err = cli("sms", "spend")
    assert_usage_error(code, err, "Die Datenbank ist nicht eingerichtet", "alphasms migrate")


# 3. One language per run ----------------------------------------------------------------------------


@DB
def test_csv_reader_errors_are_german_under_a_german_locale(cli, tmp_path):
    csv = tmp_path / "k.csv"
    csv.write_text("nur eine Spalte\nMüller\n", encoding="utf-8")
    code, _, err = cli("import", "csv", str(csv))
    assert_usage_error(code, err, "Trennzeichen nicht erkannt")
    assert "delimiter" not in err


def test_calendar_errors_are_wrapped_in_the_users_language(cli, tmp_path):
    not_ics = tmp_path / "k.ics"
    not_ics.write_text("Nachname;Vorname\nMüller;Anna\n", encoding="utf-8")
    code, _, err = cli("calendar", "occurrences", str(not_ics), *WINDOW)
    assert_usage_error(code, err, f"{not_ics}: Kalender nicht lesbar: ")


def test_calendar_errors_in_english(cli, english, tmp_path):
    not_ics = tmp_path / "k.ics"
    not_ics.write_text("Nachname;Vorname\n", encoding="utf-8")
    code, _, err = cli("calendar", "occurrences", str(not_ics), *WINDOW)
    assert_usage_error(code, err, f"{not_ics}: calendar unreadable: ")


@DB
def test_our_own_errors_are_english_under_an_english_locale(cli, english, tmp_path):
    code, _, err = cli("preview", "--until", "someday")
    assert_usage_error(code, err, "--until: 'someday' is not understood – today, tomorrow, a date")
    code, _, err = cli(
        "calendar", "occurrences", str(SERIES_ICS), "--from", "2015-08-01", "--to", "2015-07-01"
    )
    assert_usage_error(code, err, "--from must be before --to")
    csv = tmp_path / "k.csv"
    csv.write_text("Nachname;Vorname\nMüller;Anna\n", encoding="utf-8")
    code, _, err = cli("import", "csv", str(csv), "--consent", "sms")
    assert_usage_error(code, err, "--wording missing")
    csv.write_text("nur eine Spalte\nMüller\n", encoding="utf-8")
    code, _, err = cli("import", "csv", str(csv))
    assert_usage_error(code, err, "delimiter not recognised")
    code, _, err = cli("calendar", "occurrences", str(SERIES_ICS), "--from", "2015-07-01")
    assert_usage_error(code, err, "missing: --to", "usage: alphasms calendar occurrences")
    code, _, err = cli("import")
    assert_usage_error(code, err, "alphasms import needs a sub-command: alphasms import ics|csv")


def test_a_taken_port_in_english(cli, english):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = cli("run", "--port", str(port))
    assert_usage_error(code, err, f"Port {port} is in use – choose another with --port")


# 4. Messages that said the wrong thing --------------------------------------------------------------


def test_an_upper_case_scheme_is_a_url_not_a_file(cli, alphasms_settings):
    alphasms_settings["ALLOWED_PRIVATE_HOSTS"] = []
    code, _, err = cli("calendar", "occurrences", "HTTP://127.0.0.1:9/kalender.ics", *WINDOW)
    assert_usage_error(code, err, "http://127.0.0.1:9/kalender.ics: 127.0.0.1 ist eine private")
    assert "Datei nicht gefunden" not in err


def test_a_redirect_names_the_url_to_use_instead(cli, alphasms_settings):
    with FakeHttpServer() as server:
        server.enqueue(CannedResponse(302, {"Location": "/neu/kalender.ics?token=GEHEIM2"}))
        code, _, err = cli("calendar", "occurrences", f"{server.url}/alt.ics?key=GEHEIM", *WINDOW)
        assert len(server.requests) == 1  # not followed
    assert_usage_error(
        code,
        err,
        f"{server.url}/alt.ics?key=… leitet weiter auf {server.url}/neu/kalender.ics?token=… (HTTP 302)",
        "bitte diese URL angeben",
    )
    assert "GEHEIM" not in err


def test_an_http_error_status_is_explained(cli, alphasms_settings):
    with FakeHttpServer() as server:
        server.enqueue(CannedResponse(404), CannedResponse(403))
        code, _, err = cli("calendar", "occurrences", f"{server.url}/weg.ics", *WINDOW)
        assert_usage_error(code, err, "gibt es auf dem Server nicht (HTTP 404)")
        code, _, err = cli("calendar", "occurrences", f"{server.url}/privat.ics", *WINDOW)
        assert_usage_error(code, err, "verweigert den Zugriff (HTTP 403)", "Freigabe-URL")


@DB
def test_a_csv_field_over_the_size_limit_gives_the_readers_reason_in_german(cli, tmp_path):
    data = b'Nachname;Vorname\n"' + b"x" * 140_000 + b'";Anna\n'
    with pytest.raises(CsvFormatError) as expected:
        read_csv(data)
    csv = tmp_path / "gross.csv"
    csv.write_bytes(data)
    code, _, err = cli("import", "csv", str(csv))
    assert_usage_error(code, err, f"{csv}: {expected.value.reason_de}")


@DB
def test_a_calendar_error_creates_no_location(cli, tmp_path):
    not_ics = tmp_path / "k.ics"
    not_ics.write_text("BEGIN:VCALENDAR\nVERSION:2.0\n", encoding="utf-8")  # truncated
    code, _, err = cli("import", "ics", str(not_ics))
    assert_usage_error(code, err, "Kalender nicht lesbar")
    assert not Location.objects.exists()


# 5. --subscribe ------------------------------------------------------------------------------------


@DB
def test_subscribe_needs_a_url(cli):
    code, _, err = cli("import", "ics", str(PRAXIS_ICS), "--subscribe")
    assert_usage_error(code, err, "--subscribe braucht eine http(s)-URL", str(PRAXIS_ICS))
    assert not Location.objects.exists()


@DB
def test_subscribe_reports_a_new_and_an_existing_subscription_and_hides_the_secret(
    cli, alphasms_settings, caplog
):
    caplog.set_level(logging.INFO, logger="alphasms")
    body = PRAXIS_ICS.read_bytes()
    with FakeHttpServer() as server, time_machine.travel(dt.datetime(2026, 12, 5, 6, tzinfo=dt.UTC)):
        server.enqueue(*(CannedResponse(200, {"Content-Type": "text/calendar"}, body) for _ in range(2)))
        url = f"{server.url}/praxis.ics?key=GEHEIM"
        first = cli("import", "ics", url, "--subscribe")
        second = cli("import", "ics", url.replace("http://", "HTTP://"), "--subscribe")
    shown = f"{server.url}/praxis.ics?key=…"
    assert first[0] == 0, first[2]
    assert f"Abo angelegt: {shown} – der Worker ruft es alle 900 s ab." in first[1]
    assert second[0] == 3, second[2]  # nothing new: same calendar, subscription already there
    assert f"Abo bestand bereits: {shown} (alle 900 s)." in second[1]
    (subscription,) = CalendarSubscription.objects.all()
    assert subscription.url == url  # the worker needs the real URL
    assert subscription.name == shown
    for text in (*first[1:], *second[1:], *(r.getMessage() for r in caplog.records)):
        assert "GEHEIM" not in text


# 6. Secrets in URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("http://user:pw@host/path?key=SECRET", "http://host/path?key=…"),
        ("https://host:8443/a.ics?key=S&token=T#frag", "https://host:8443/a.ics?key=…&token=…#…"),
        ("https://host/a.ics?SECRET", "https://host/a.ics?…"),
        ("https://host/a.ics", "https://host/a.ics"),
        ("/home/praxis/termine.ics", "/home/praxis/termine.ics"),
    ],
)
def test_redact_url(url, redacted):
    assert redact_url(url) == redacted


@DB
def test_credentials_in_a_url_are_refused_without_repeating_them(cli):
    code, out, err = cli("import", "ics", "http://user:pw@example.org/path?key=SECRET")
    assert_usage_error(code, err, "http://example.org/path?key=…: Zugangsdaten in der URL werden nicht")
    assert "pw" not in err and "user" not in err and "SECRET" not in err and out == ""


# 7. Help with the names users type -------------------------------------------------------------------


def test_help_lists_the_commands_as_typed(cli):
    code, out, _ = cli("help")
    assert code == 0
    assert "alphasms import ics DATEI_ODER_URL" in out and "alphasms calendar occurrences" in out
    assert "_" not in out.replace("ALPHASMS_", "").replace("DATEI_ODER_URL", "")
    code, out, _ = cli()
    assert code == 2 and "alphasms sms info" in out


def test_help_in_english(cli, english):
    code, out, _ = cli("help")
    assert code == 0 and "alphasms import csv FILE" in out and "Exit codes" in out


def test_command_help_and_usage_use_two_words(cli):
    code, out, _ = cli("import", "ics", "--help")
    assert code == 0 and "Aufruf: alphasms import ics" in out and "import_ics" not in out
    code, out, _ = cli("help", "import", "ics")
    assert code == 0 and "alphasms import ics" in out
    code, out, _ = cli("help", "sms")
    assert code == 0 and "alphasms sms info" in out and "alphasms sms spend" in out


def test_a_typo_suggests_the_two_word_command(cli):
    code, _, err = cli("improt", "ics", "x.ics")
    assert_usage_error(code, err, "Unbekannter Befehl 'improt'", "Meinten Sie „alphasms import ics|csv“?")
    code, _, err = cli("import_icss", "x.ics")
    assert_usage_error(code, err, "alphasms import ics|csv")
    assert "import_ics" not in err.replace("'import_icss'", "")
