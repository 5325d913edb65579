"""Findings of a new user, checked as they met them: `sms info ""`, `update check --json` without a
terminal, and the update check's question in plain text (not styled like an error)."""

from __future__ import annotations

import io
import json

import pytest

from alphasms.cli import main

DB = pytest.mark.django_db(transaction=True)


class Terminal(io.StringIO):
    """A stream that says it is a terminal (as stdin/stdout/stderr are in an interactive shell)."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def german(monkeypatch):
    for name in ("ALPHASMS_LANGUAGE", "LC_ALL", "LC_MESSAGES", "DJANGO_COLORS", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "de_DE.UTF-8")


@DB
def test_sms_info_refuses_an_empty_text(capsys):
    assert main(["sms", "info", ""]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("TEXT ist leer – den Text der SMS in Anführungszeichen angeben")
    assert "Kosten" not in captured.out and "SMS" not in captured.out
    assert main(["sms", "info", "   "]) == 2
    assert "TEXT ist leer" in capsys.readouterr().err


@DB
def test_update_check_json_without_a_terminal_answers_in_json_on_stdout(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # piped: no one to ask

    assert main(["update", "check", "--json"]) == 2

    captured = capsys.readouterr()
    answer = json.loads(captured.out)
    assert answer == {
        "error": "no_terminal",
        "message": "Keine Rückfrage möglich (kein Terminal) – mit --yes bestätigen, dass diese Angaben "
        "gesendet werden dürfen; nichts gesendet.",
    }
    assert answer["message"] in captured.err  # the person reading stderr sees the same sentence
    assert "registration_name" in captured.err or "Registrierungsname" in captured.err  # the preview


@DB
def test_update_check_json_with_a_bad_download_folder_answers_in_json(capsys, tmp_path):
    assert main(["update", "check", "--json", "--download", str(tmp_path / "missing")]) == 2
    answer = json.loads(capsys.readouterr().out)
    assert answer["error"] == "download_folder" and answer["message"].startswith("--download: ")


@DB
def test_update_check_asks_in_plain_text_and_refuses_in_red(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    stdout, stderr = Terminal(), Terminal()
    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    monkeypatch.setattr("sys.stdout", stdout)
    monkeypatch.setattr("sys.stderr", stderr)

    assert main(["update", "check"]) == 3  # answered "no": nothing sent

    assert "Jetzt senden? [j/N] " in stderr.getvalue()
    assert "\x1b[" not in stderr.getvalue()  # the question is not styled (stderr's style is bold red)
    assert "Nichts gesendet." in stdout.getvalue()

    stdout, stderr = Terminal(), Terminal()
    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    monkeypatch.setattr("sys.stdout", stdout)
    monkeypatch.setattr("sys.stderr", stderr)
    assert main(["update", "check", "--json"]) == 3  # with --json the preview goes to stderr: plain too
    assert "Jetzt senden? [j/N] " in stderr.getvalue() and "\x1b[" not in stderr.getvalue()
    assert json.loads(stdout.getvalue())["error"] == "not_confirmed"

    stdout, stderr = Terminal(), Terminal()
    monkeypatch.setattr("sys.stdout", stdout)
    monkeypatch.setattr("sys.stderr", stderr)
    assert main(["update", "check", "--download", "/nonexistent/folder"]) == 2
    assert "\x1b[31;1m--download: " in stderr.getvalue()  # errors keep their colour: the style is on


BAD_ROW_CSV = (
    "Nachname;Vorname;Mobil;Datum;Uhrzeit;Dauer\r\n"
    "Meier;Anna;12345;31.02.2026;09:00;abc\r\n"
    "Weiß;Ben;0171 2345678;07.12.2026;09:30;30\r\n"
).encode()
BAD_ROW_PROBLEMS = [(2, "date"), (2, "duration_min"), (2, "mobile")]


@DB
def test_csv_import_reports_every_problem_of_a_bad_row_on_the_command_line(
    location, tmp_path, capsys, alphasms_settings
):
    path = tmp_path / "termine.csv"
    path.write_bytes(BAD_ROW_CSV)

    assert main(["import", "csv", str(path)]) == 1  # the good row is applied, the bad one reported

    out = capsys.readouterr().out
    assert "abgelehnte Zeilen: 1," in out  # one row, three problems
    assert "  abgelehnt: Zeile 2, Feld date: Datum „31.02.2026“ ungültig, erwartet TT.MM.JJJJ" in out
    assert "  abgelehnt: Zeile 2, Feld duration_min: Dauer „abc“ ungültig, erwartet Minuten" in out
    assert "  abgelehnt: Zeile 2, Feld mobile: Mobilnummer „12345“: Keine gültige Telefonnummer" in out


@pytest.mark.django_db
def test_csv_import_preview_in_the_web_app_lists_every_problem_of_a_bad_row(
    web_client, alphasms_settings, location, tmp_path
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import override_settings

    from alphasms.web.roles import Role

    tasks = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with override_settings(DATA_DIR=tmp_path, TASKS=tasks):
        owner = web_client(Role.OWNER)
        upload = SimpleUploadedFile("termine.csv", BAD_ROW_CSV)
        response = owner.post("/imports/", {"file": upload, "location": location.pk})
        assert response.status_code == 302
        page = owner.get(response["Location"])
    rejected = page.context["preview"]["rejected"]
    assert [(r["line"], r["field"]) for r in rejected] == BAD_ROW_PROBLEMS
    html = page.content.decode()
    assert "31.02.2026" in html and "Dauer „abc“ ungültig" in html and "Mobilnummer „12345“" in html


@DB
def test_preview_until_tomorrow_shows_local_times_with_the_zone(location, alphasms_settings, capsys):
    """08:00 in Berlin is shown as "08:00 MEZ", not "07:00:00Z"; --until morgen means to the end of
    tomorrow in the practice's zone; --json keeps UTC."""
    import datetime as dt

    import time_machine

    from tests.conftest import make_appointment, make_customer, make_rule

    make_rule(offset_s=24 * 3600)  # the day before, window 08:00–20:00
    customer = make_customer()
    # Appointments on Tuesday 09:00 and Wednesday 23:30 Berlin: reminders Monday 09:00 and Tuesday 20:00
    # (23:30 the day before is outside the window, so the reminder moves to its end).
    make_appointment(location, customer, dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC))
    make_appointment(location, customer, dt.datetime(2026, 12, 2, 22, 30, tzinfo=dt.UTC))
    make_appointment(location, customer, dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC))  # Thu 10:00
    with time_machine.travel(dt.datetime(2026, 11, 30, 5, 23, tzinfo=dt.UTC), tick=False):  # Mon 06:23
        assert main(["preview", "--until", "morgen"]) == 0
        out = capsys.readouterr().out
        assert main(["preview", "--until", "tomorrow", "--json"]) == 0
        items = json.loads(capsys.readouterr().out)
        assert main(["preview", "--until", "2026-12-01"]) == 0  # a plain date: to the end of that day
        dated = capsys.readouterr().out
        assert main(["preview", "--until", "02.12.2026"]) == 0
        later = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.endswith("(1 SMS)")]
    assert [line.split("  ")[0] for line in lines] == ["Mo. 30.11.2026 09:00 MEZ", "Di. 01.12.2026 20:00 MEZ"]
    assert ":00Z" not in out and "2026-11-30T" not in out  # no UTC ISO instants for people
    assert [(i["due_at"], i["time_zone"]) for i in items] == [
        ("2026-11-30T08:00:00Z", "Europe/Berlin"),
        ("2026-12-01T19:00:00Z", "Europe/Berlin"),
    ]
    assert dated == out
    assert "Mi. 02.12.2026 10:00 MEZ" in later
    assert (len(lines), later.count("(1 SMS)")) == (2, 3)


@DB
def test_preview_in_english_and_with_a_bad_word(location, alphasms_settings, capsys, monkeypatch):
    import datetime as dt

    import time_machine

    from tests.conftest import make_appointment, make_customer, make_rule

    monkeypatch.setenv("ALPHASMS_LANGUAGE", "en")
    make_rule(offset_s=24 * 3600)
    make_appointment(location, make_customer(), dt.datetime(2026, 7, 1, 8, 0, tzinfo=dt.UTC))
    with time_machine.travel(dt.datetime(2026, 6, 30, 5, 0, tzinfo=dt.UTC), tick=False):
        assert main(["preview", "--until", "today"]) == 0
        out = capsys.readouterr().out
        assert main(["preview", "--until", "next week"]) == 2
        err = capsys.readouterr().err
    assert out.startswith("Tue 30 Jun 2026 10:00 CEST  sms ")
    assert "--until: 'next week' is not understood – today, tomorrow, a date (2026-12-02)" in err
