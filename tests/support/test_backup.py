"""Backups and restore (issue 7, part 4) on the engine of the test run (SQLite, or PostgreSQL with
DATABASE_URL): round trip of every row, refusal of truncated/altered/wrong-key files before anything
changes, later erasures and restrictions applied again, schema checks, daily schedule and rotation.

Restores replace the whole database, so these tests run outside a test transaction (transactional_db).
On PostgreSQL a CLI call closes the connection: at most one ``main()`` per test."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyrage
import pytest
import time_machine
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from alphasms.appointments.models import Appointment, Customer
from alphasms.cli import main
from alphasms.privacy.audit import verify_chain
from alphasms.privacy.models import AuditEntry, LedgerKind, PrivacyLedger
from alphasms.privacy.subject_rights import RestrictionBasis, erase, restrict, unrestrict
from alphasms.support.backup import (
    BackupFile,
    BackupRefused,
    Decryption,
    Encryption,
    backup_if_due,
    create_backup,
    list_backups,
    read_backup,
    rotate,
    rotation_keep,
)
from alphasms.support.models import BackupRun
from alphasms.support.restore import restore_backup
from tests.conftest import make_customer
from tests.privacy import dbscan
from tests.privacy.people import OTHER, PERSON, populate

pytestmark = pytest.mark.django_db(transaction=True)

IGNORED = {"privacy_audithead"}  # the chain head moves with every audit entry (the restore writes one)


@pytest.fixture
def data_dir(tmp_path, alphasms_settings):
    """A private data directory (key file) and backup folder for the test."""
    folder = tmp_path / "data"
    folder.mkdir()
    alphasms_settings["BACKUP_DIR"] = str(tmp_path / "backups")
    with override_settings(DATA_DIR=folder):
        yield folder


@pytest.fixture
def key():
    identity = pyrage.x25519.Identity.generate()
    return str(identity), str(identity.to_public())


@pytest.fixture
def people(data_dir, location):
    return populate(location)


def all_rows(audit_up_to: int | None = None) -> dict[str, list[str]]:
    """Every row of every table (as sorted reprs), audit entries up to ``audit_up_to``."""
    result = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if table in IGNORED:
                continue
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            columns = [d[0] for d in cursor.description]
            rows = [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]
            if table == "privacy_auditentry" and audit_up_to is not None:
                rows = [row for row in rows if row["id"] <= audit_up_to]
            result[table] = sorted(repr(sorted(row.items())) for row in rows)
    return result


def last_audit_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def backup(key, directory: Path) -> Path:
    return create_backup(Encryption(recipients=(key[1],)), directory=directory).path


def change_everything(person) -> None:
    """Changes a restore must undo: a new customer, an edit, a deletion."""
    make_customer(
        number="9999", given="Neu", family="Nachher", mobile="+4915199999999", email="n@example.org"
    )
    Customer.objects.filter(pk=person.pk).update(family_name="Geändert")
    Appointment.objects.filter(customer=person).first().delete()


class TestRoundTrip:
    def test_a_good_backup_restores_every_row_of_every_table(self, people, key, tmp_path):
        person, _ = people
        path = backup(key, tmp_path / "b")
        before = all_rows()
        audit_before = last_audit_id()  # the backup's own entry, written before its snapshot
        change_everything(person)
        assert all_rows() != before

        result = restore_backup(path, Decryption(identities=(key[0],)), actor="test")

        after = all_rows(audit_up_to=audit_before)
        assert sum(len(rows) for rows in before.values()) > 50
        assert after == before
        assert result.replayed == ()
        assert verify_chain() is None
        backup_entry = AuditEntry.objects.get(pk=audit_before)
        assert (backup_entry.action, backup_entry.object_type) == ("export", "backup")
        restore_entry = AuditEntry.objects.order_by("-id").first()
        assert (restore_entry.object_type, restore_entry.object_id) == ("database", "restore")
        assert "replayed_erase=0" in restore_entry.detail

    def test_the_manifest_holds_counts_hash_schema_and_ledger_without_personal_data(
        self, people, key, tmp_path
    ):
        person, _ = people
        restrict(person, "test", RestrictionBasis.ACCURACY)
        path = backup(key, tmp_path / "b")
        with read_backup(path, Decryption(identities=(key[0],))) as verified:
            manifest = verified.manifest
            text = json.dumps(manifest)
        assert manifest["format"] == "alphasms.backup/1"
        assert manifest["engine"] == connection.vendor
        assert manifest["tables"]["appointments_customer"] == Customer.objects.count()
        assert manifest["latest_migrations"]["support"] == "0004_case_token"
        assert len(manifest["dump"]["sha256"]) == 64
        ledger = PrivacyLedger.objects.get()
        assert manifest["ledger"]["max_id"] == ledger.pk
        assert manifest["ledger"]["entries"] == [
            [
                ledger.pk,
                ledger.at.isoformat(timespec="microseconds").replace("+00:00", "Z"),
                "restrict",
                person.pk,
            ]
        ]
        for value in (PERSON["family"], PERSON["mobile"], OTHER["email"]):
            assert value not in text
        assert path.read_bytes().startswith(b"age-encryption.org/v1\n-> X25519 ")
        assert PERSON["family"].encode() not in path.read_bytes()


class TestRefusal:
    @pytest.mark.parametrize(
        "damage",
        [
            pytest.param(lambda data: data[: len(data) - 100], id="last-100-bytes-cut"),
            pytest.param(lambda data: data[: len(data) // 2], id="cut-in-half"),
            pytest.param(
                lambda data: (
                    data[: len(data) // 2] + bytes([data[len(data) // 2] ^ 0x01]) + data[len(data) // 2 + 1 :]
                ),
                id="one-bit-flipped",
            ),
            pytest.param(
                lambda data: data[:100] + bytes([data[100] ^ 0x80]) + data[101:], id="header-byte-flipped"
            ),
        ],
    )
    def test_a_damaged_file_is_refused_before_anything_changes(self, people, key, tmp_path, damage):
        person, _ = people
        path = backup(key, tmp_path / "b")
        change_everything(person)
        live = all_rows()
        path.write_bytes(damage(path.read_bytes()))

        with pytest.raises(BackupRefused) as refused:
            restore_backup(path, Decryption(identities=(key[0],)), actor="test")

        assert "Nothing was changed" in str(refused.value) or "Nichts wurde geändert" in str(refused.value)
        assert all_rows() == live

    def test_a_wrong_passphrase_is_refused_and_nothing_changes(self, people, tmp_path, monkeypatch):
        monkeypatch.setenv("ALPHASMS_LANGUAGE", "en")
        person, _ = people
        path = create_backup(Encryption(passphrase="richtig lang und geheim"), directory=tmp_path).path
        change_everything(person)
        live = all_rows()

        with pytest.raises(BackupRefused, match="Wrong passphrase"):
            restore_backup(path, Decryption(passphrase="falsch"), actor="test")
        with pytest.raises(BackupRefused, match="encrypted with a passphrase"):
            restore_backup(path, Decryption(identities=(str(pyrage.x25519.Identity.generate()),)), actor="t")
        assert all_rows() == live

    def test_a_backup_for_another_key_is_refused(self, people, key, tmp_path, monkeypatch):
        monkeypatch.setenv("ALPHASMS_LANGUAGE", "en")
        path = backup(key, tmp_path)
        other = str(pyrage.x25519.Identity.generate())
        with pytest.raises(BackupRefused, match="encrypted for another key"):
            restore_backup(path, Decryption(identities=(other,)), actor="test")

    def test_a_backup_from_a_newer_version_is_refused(self, people, key, tmp_path, monkeypatch):
        monkeypatch.setenv("ALPHASMS_LANGUAGE", "en")
        person, _ = people
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO django_migrations (app, name, applied) VALUES ('support', '9999_future', %s)",
                [timezone.now()],
            )
        path = backup(key, tmp_path)
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM django_migrations WHERE name = '9999_future'")
        change_everything(person)
        live = all_rows()

        with pytest.raises(BackupRefused, match=r"newer AlphaSMS version \(migration support.9999_future"):
            restore_backup(path, Decryption(identities=(key[0],)), actor="test")
        assert all_rows() == live

    def test_the_cli_exits_2_on_a_truncated_file_and_names_the_problem(
        self, people, key, tmp_path, capsys, monkeypatch
    ):
        monkeypatch.setenv("ALPHASMS_LANGUAGE", "en")
        path = backup(key, tmp_path)
        path.write_bytes(path.read_bytes()[:-1])
        identity = tmp_path / "key.txt"
        identity.write_text(f"# test\n{key[0]}\n")
        customers = Customer.objects.count()

        code = main(["backup", "restore", str(path), "--identity-file", str(identity), "--yes"])

        assert code == 2
        assert "altered or truncated" in capsys.readouterr().err
        assert Customer.objects.count() == customers


class TestLaterPrivacyActions:
    def test_a_person_erased_after_the_backup_stays_erased_and_one_restricted_stays_restricted(
        self, people, key, tmp_path
    ):
        person, other = people
        third = make_customer(
            number="3003", given="Lena", family="Later", mobile="+4915133333333", email="l@x.org"
        )
        restrict(third, "staff:1", RestrictionBasis.LEGAL_CLAIMS)  # restricted before the backup …
        path = backup(key, tmp_path)
        unrestrict(third, "staff:1")  # … and lifted after it
        erase(person, "staff:1")
        restrict(other, "staff:1", RestrictionBasis.OBJECTION)
        assert other.restricted_at is not None

        result = restore_backup(path, Decryption(identities=(key[0],)), actor="test")

        assert not Customer.objects.filter(pk=person.pk).exists()
        tables = dbscan.snapshot()
        pattern = dbscan.matcher(PERSON["given"], PERSON["family"], PERSON["mobile"], PERSON["email"])
        assert dbscan.rows_about(tables, person.pk, pattern) == []
        other.refresh_from_db()
        assert other.restricted_at is not None
        third.refresh_from_db()
        assert third.restricted_at is None
        assert [(r.kind, r.customer_id, outcome) for r, outcome in result.replayed] == [
            ("unrestrict", third.pk, "unrestricted"),
            ("erase", person.pk, "erased"),
            ("restrict", other.pk, "restricted"),
        ]
        basis = AuditEntry.objects.filter(action="restrict", object_id=str(other.pk)).order_by("-id").first()
        assert basis.detail.startswith("basis=objection")
        kinds = list(PrivacyLedger.objects.filter(customer_id=person.pk).values_list("kind", flat=True))
        assert kinds == [LedgerKind.ERASE]  # the backup had none; the replay wrote it again

    def test_a_second_restore_of_the_same_backup_erases_nothing_twice(self, people, key, tmp_path):
        person, _ = people
        path = backup(key, tmp_path)
        erase(person, "staff:1")
        restore_backup(path, Decryption(identities=(key[0],)), actor="test")

        result = restore_backup(path, Decryption(identities=(key[0],)), actor="test")

        assert not Customer.objects.filter(pk=person.pk).exists()
        # the live ledger now holds the re-application (the original went with the replaced data)
        assert [(r.kind, r.customer_id, outcome) for r, outcome in result.replayed] == [
            ("erase", person.pk, "erased")
        ]


class TestOlderSchema:
    def test_an_older_backup_is_migrated_after_the_restore(self, people, key, tmp_path):
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE support_backuprun")
            cursor.execute("DROP TABLE support_runningprocess")
            cursor.execute("ALTER TABLE support_supportcase DROP COLUMN case_token")
            cursor.execute(
                "DELETE FROM django_migrations WHERE app = 'support' "
                "AND name IN ('0002_backup_runs', '0003_running_processes', '0004_case_token')"
            )
        path = backup(key, tmp_path)
        with read_backup(path, Decryption(identities=(key[0],))) as verified:
            assert verified.manifest["latest_migrations"]["support"] == "0001_initial"
        from django.core.management import call_command

        call_command("migrate", "support", verbosity=0)
        BackupRun.objects.create(day=dt.date(2026, 1, 1), started_at=timezone.now())

        result = restore_backup(path, Decryption(identities=(key[0],)), actor="test")

        assert result.migrated == (
            "support.0002_backup_runs",
            "support.0003_running_processes",
            "support.0004_case_token",
        )
        assert BackupRun.objects.count() == 0  # the table exists again, as the backup's schema plus 0002


class TestSchedule:
    def test_rotation_keeps_seven_daily_and_four_weekly(self, tmp_path):
        start = dt.datetime(2026, 1, 1, 2, 0, tzinfo=dt.UTC)  # 40 days up to Monday 2026-02-09
        for day in range(40):
            name = f"alphasms-daily-{start + dt.timedelta(days=day):%Y%m%dT%H%M%SZ}.age"
            (tmp_path / name).write_bytes(b"x")
        (tmp_path / "notes.txt").write_text("not a backup")

        deleted = rotate(tmp_path, keep_daily=7, keep_weekly=4)

        kept = sorted(b.created_at.date().isoformat() for b in list_backups(tmp_path))
        days = [f"2026-02-0{d}" for d in range(3, 10)]
        assert kept == ["2026-01-25", "2026-02-01", *days]  # weeks 4 and 5 by their Sundays
        assert len(deleted) == 31
        assert (tmp_path / "notes.txt").exists()

    def test_rotation_never_deletes_a_backup_made_by_hand(self, tmp_path):
        start = dt.datetime(2026, 1, 1, 2, 0, tzinfo=dt.UTC)
        for day in range(20):
            stamp = f"{start + dt.timedelta(days=day):%Y%m%dT%H%M%SZ}"
            (tmp_path / f"alphasms-daily-{stamp}.age").write_bytes(b"x")
        manual = [
            tmp_path / "alphasms-backup-20260101T090000Z.age",
            tmp_path / "alphasms-backup-20260115T090000Z.age",
        ]
        legacy = tmp_path / "alphasms-backup-20260102T020000Z.age"  # a daily one from before the rename
        for path in (*manual, legacy):
            path.write_bytes(b"x")

        deleted = rotate(tmp_path, keep_daily=2, keep_weekly=0, legacy_daily={legacy.name})

        assert len(deleted) == 19  # 18 old daily ones and the legacy daily one
        assert legacy in deleted and all(path.exists() for path in manual)
        kinds = sorted((b.kind, b.created_at.date().isoformat()) for b in list_backups(tmp_path))
        assert kinds == [
            ("daily", "2026-01-19"),
            ("daily", "2026-01-20"),
            ("manual", "2026-01-01"),
            ("manual", "2026-01-15"),
        ]

    def test_two_backups_a_day_keep_the_newest_of_the_day(self, tmp_path):
        base = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
        backups = [BackupFile(tmp_path / f"{h}", base + dt.timedelta(hours=h), 1) for h in (1, 5, 30)]
        assert rotation_keep(backups, 7, 0) == {tmp_path / "5", tmp_path / "30"}

    def test_the_worker_backs_up_once_a_day_only_when_a_key_is_set_up_and_rotates(
        self, people, key, alphasms_settings, tmp_path
    ):
        assert backup_if_due() is None  # no recipient, no key file: no daily backup
        alphasms_settings["BACKUP_RECIPIENT"] = key[1]
        alphasms_settings["BACKUP_KEEP_DAILY"] = 2
        alphasms_settings["BACKUP_KEEP_WEEKLY"] = 2
        made = []
        for day in range(9):  # Monday 2026-03-02 … Tuesday 2026-03-10, 03:00 in Berlin
            with time_machine.travel(dt.datetime(2026, 3, 2 + day, 2, 0, tzinfo=dt.UTC), tick=True):
                result = backup_if_due()
                assert result is not None
                made.append(result.path)
                assert backup_if_due() is None  # once a day
        kept = [b.created_at.date().isoformat() for b in list_backups()]
        assert kept == ["2026-03-10", "2026-03-09", "2026-03-08"]  # 2 daily + Sunday of the week before
        runs = list(BackupRun.objects.order_by("day").values_list("day", "file_name", "error"))
        assert [day.isoformat() for day, _, _ in runs] == [f"2026-03-{d:02d}" for d in range(2, 11)]
        assert all(name.startswith("alphasms-daily-202603") and error == "" for _, name, error in runs)
        with read_backup(made[-1], Decryption(identities=(key[0],))) as verified:
            assert verified.manifest["tables"]["appointments_customer"] == Customer.objects.count()

    def test_the_first_manual_backup_survives_the_daily_backup_it_switches_on(
        self, people, data_dir, capsys, monkeypatch, alphasms_settings
    ):
        """The new user's finding: `backup create`, then the worker's cycle seconds later rotated the
        manual file away (a restore then said "no such file")."""
        monkeypatch.setenv("ALPHASMS_LANGUAGE", "de")
        alphasms_settings["BACKUP_KEEP_DAILY"] = 1
        alphasms_settings["BACKUP_KEEP_WEEKLY"] = 0
        assert main(["backup", "create"]) == 0
        out = capsys.readouterr().out
        assert "Ab jetzt legt der Worker täglich eine Sicherung an (alphasms-daily-…" in out
        assert "Von Hand erstellte Sicherungen wie diese (alphasms-backup-…) löscht er nie." in out
        [manual] = list_backups()
        assert manual.kind == "manual" and manual.path.name.startswith("alphasms-backup-")

        daily = []
        for day in range(3):  # the worker on the same day and the next two: the manual one stays
            with time_machine.travel(timezone.now() + dt.timedelta(days=day, seconds=5), tick=True):
                result = backup_if_due()
            assert result is not None
            daily.append(result.path)
        assert manual.path.exists()
        listed = [(b.kind, b.path) for b in list_backups()]
        assert listed == [("daily", daily[-1]), ("manual", manual.path)]  # keep_daily=1 rotated the rest
        assert daily[-1].name.startswith("alphasms-daily-")

        assert main(["backup", "restore", str(manual.path), "--verify-only"]) == 0

    def test_daily_backups_can_be_switched_off(self, people, key, alphasms_settings):
        alphasms_settings["BACKUP_RECIPIENT"] = key[1]
        alphasms_settings["BACKUP_DAILY"] = "false"
        assert backup_if_due() is None
        assert BackupRun.objects.count() == 0 and list_backups() == []


class TestCommandLine:
    def test_backup_create_writes_a_key_file_once_and_prints_progress(
        self, people, data_dir, capsys, monkeypatch
    ):
        monkeypatch.setenv("ALPHASMS_LANGUAGE", "en")
        code = main(["backup", "create"])
        out = capsys.readouterr().out
        assert code == 0
        assert "database snapshot:" in out and "encrypted:" in out
        assert "New backup key:" in out
        key_text = (data_dir / "backup-key.txt").read_text()
        assert "# public key: age1" in key_text
        assert (data_dir / "backup-key.txt").stat().st_mode & 0o777 == 0o600
        [made] = list_backups()
        identity = next(line for line in key_text.splitlines() if line.startswith("AGE-SECRET-KEY-1"))
        with read_backup(made.path, Decryption(identities=(identity,))) as verified:
            assert verified.manifest["tables"]["appointments_customer"] == 2

    def test_backup_list_says_json_and_exit_3_when_empty(self, data_dir, capsys):
        assert main(["backup", "list", "--json"]) == 3
        listed = json.loads(capsys.readouterr().out)
        assert listed["backups"] == [] and listed["scheduled"] is False
        assert (listed["keep_daily"], listed["keep_weekly"]) == (7, 4)

    def test_backup_create_refuses_a_bad_recipient_with_exit_2(self, data_dir, capsys, monkeypatch):
        monkeypatch.setenv("ALPHASMS_LANGUAGE", "en")
        assert main(["backup", "create", "--recipient", "age1nonsense"]) == 2
        assert "--recipient: 'age1nonsense' is not an age recipient" in capsys.readouterr().err

    def test_backup_restore_with_a_wrong_passphrase_file_exits_2_and_changes_nothing(
        self, people, tmp_path, capsys, monkeypatch
    ):
        monkeypatch.setenv("ALPHASMS_LANGUAGE", "en")
        person, _ = people
        path = create_backup(Encryption(passphrase="richtig lang und geheim"), directory=tmp_path).path
        erase(person, "staff:1")
        wrong = tmp_path / "wrong.txt"
        wrong.write_text("falsch\n")
        live = all_rows()

        assert main(["backup", "restore", str(path), "--passphrase-file", str(wrong), "--yes"]) == 2

        assert "Wrong passphrase" in capsys.readouterr().err
        assert all_rows() == live
