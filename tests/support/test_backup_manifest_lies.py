"""A backup whose manifest lies (security review, issue 7): decrypted, its manifest.json edited, re-packed
and re-encrypted with the right key, so every earlier check (age authentication, dump checksum) passes.
The restore must refuse it with BackupRefused — never crash with sqlite3.OperationalError, TypeError or
AttributeError, never put a table name from the manifest unquoted into SQL — and change nothing; the CLI
exits 2. Runs on the engine of the test run (SQLite, or PostgreSQL with DATABASE_URL)."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyrage
import pytest
from django.db import connection
from django.test import override_settings

from alphasms.appointments.models import Customer
from alphasms.cli import main
from alphasms.support.backup import BackupRefused, Decryption, Encryption, create_backup, read_backup
from alphasms.support.restore import restore_backup
from tests.conftest import make_customer

pytestmark = pytest.mark.django_db(transaction=True)

Change = Callable[[dict[str, Any]], None]


def rewrite_manifest(src: Path, dst: Path, identity: str, recipient: str, change: Change) -> dict[str, Any]:
    """Decrypt ``src``, apply ``change`` to its manifest, re-pack and re-encrypt into ``dst``; returns
    the manifest as written."""
    plain = pyrage.decrypt(src.read_bytes(), [pyrage.x25519.Identity.from_str(identity)])
    members: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(plain), mode="r:gz") as tar:
        for member in tar:
            handle = tar.extractfile(member)
            assert handle is not None
            members[member.name] = handle.read()
    manifest = json.loads(members["manifest.json"])
    change(manifest)
    members["manifest.json"] = json.dumps(manifest).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    dst.write_bytes(pyrage.encrypt(buffer.getvalue(), [pyrage.x25519.Recipient.from_str(recipient)]))
    return manifest


def _first_table(manifest: dict[str, Any]) -> str:
    return sorted(manifest["tables"])[0]


LIES: list[Any] = [
    pytest.param(lambda m: m["tables"].update({"no_such_table": 0}), id="extra-table"),
    pytest.param(lambda m: m["tables"].pop(_first_table(m)), id="missing-table"),
    pytest.param(lambda m: m.__setitem__("tables", list(m["tables"])), id="tables-list"),
    pytest.param(lambda m: m.__setitem__("tables", "appointments_customer"), id="tables-string"),
    pytest.param(lambda m: m["tables"].update({_first_table(m): "7"}), id="count-string"),
    pytest.param(lambda m: m["tables"].update({_first_table(m): -1}), id="count-negative"),
    pytest.param(lambda m: m["tables"].update({'x" ; DROP TABLE appointments_customer; --': 0}), id="quote"),
    pytest.param(lambda m: m.__setitem__("migrations", ["support"]), id="migrations-list"),
    pytest.param(lambda m: m["migrations"].update({"support": "0001_initial"}), id="migrations-string"),
    pytest.param(lambda m: m["migrations"].update({"support": [1, 2]}), id="migration-names-ints"),
    pytest.param(lambda m: m.__setitem__("ledger", ["x"]), id="ledger-list"),
    pytest.param(lambda m: m["ledger"].update({"entries": [[1, 2]]}), id="ledger-short-row"),
    pytest.param(lambda m: m["ledger"].update({"entries": [[[1], "a", "b", 1]]}), id="ledger-unhashable"),
    pytest.param(lambda m: m.__setitem__("dump", ["alphasms.sqlite3"]), id="dump-list"),
    pytest.param(lambda m: m.__setitem__("created_at", 5), id="created-at-int"),
]


@pytest.fixture
def key() -> tuple[str, str]:
    identity = pyrage.x25519.Identity.generate()
    return str(identity), str(identity.to_public())


@pytest.fixture
def good_backup(tmp_path, alphasms_settings, location, key) -> Path:
    make_customer(number="1", given="Anna", family="Vorher", mobile="+4915111111111", email="a@example.org")
    with override_settings(DATA_DIR=tmp_path):
        return create_backup(Encryption(recipients=(key[1],)), directory=tmp_path / "b").path


@pytest.mark.parametrize("change", LIES)
def test_a_lying_manifest_is_refused_cleanly_and_nothing_changes(
    tmp_path, good_backup, key, change, monkeypatch, request
):
    if request.node.callspec.id == "missing-table" and connection.vendor == "postgresql":
        pytest.skip("PostgreSQL checks manifest ⊆ dump (pg_restore --list); a table left out is restored")
    monkeypatch.setenv("ALPHASMS_LANGUAGE", "en")
    bad = tmp_path / "bad.age"
    rewrite_manifest(good_backup, bad, key[0], key[1], change)
    make_customer(number="2", given="Bert", family="Nachher", mobile="+4915122222222", email="b@example.org")
    names = sorted(Customer.objects.values_list("family_name", flat=True))
    tables = set(connection.introspection.table_names())

    with pytest.raises(BackupRefused) as refused:
        restore_backup(bad, Decryption(identities=(key[0],)), actor="test")

    assert "Nothing was changed" in str(refused.value)
    assert sorted(Customer.objects.values_list("family_name", flat=True)) == names == ["Nachher", "Vorher"]
    assert set(connection.introspection.table_names()) == tables


def test_a_table_name_with_a_quote_is_not_run_as_sql(tmp_path, good_backup, key, monkeypatch):
    """Even when the set of tables would match, a name from the manifest is only ever quoted: a table
    literally called ``x" …`` is refused for its count, and the live customers table still exists."""
    monkeypatch.setenv("ALPHASMS_LANGUAGE", "en")
    bad = tmp_path / "bad.age"
    rewrite_manifest(
        good_backup, bad, key[0], key[1], lambda m: m["tables"].update({'appointments_customer"--': 0})
    )
    with pytest.raises(BackupRefused, match=r"do not match its manifest|lacks tables"):
        with read_backup(bad, Decryption(identities=(key[0],))):
            pytest.fail("a lying backup was accepted")
    assert Customer.objects.count() == 1


def test_an_unchanged_rewrite_is_still_accepted(tmp_path, good_backup, key):
    """The rewriting itself does not break a backup: only the lie is refused."""
    same = tmp_path / "same.age"
    manifest = rewrite_manifest(good_backup, same, key[0], key[1], lambda m: None)
    with read_backup(same, Decryption(identities=(key[0],))) as verified:
        assert verified.manifest["tables"] == manifest["tables"]
        assert verified.manifest["tables"]["appointments_customer"] == 1


def test_the_cli_exits_2_on_a_lying_manifest_and_names_the_problem(
    tmp_path, good_backup, key, capsys, monkeypatch
):
    monkeypatch.setenv("ALPHASMS_LANGUAGE", "en")
    bad = tmp_path / "bad.age"
    rewrite_manifest(good_backup, bad, key[0], key[1], lambda m: m.__setitem__("tables", list(m["tables"])))
    identity = tmp_path / "key.txt"
    identity.write_text(f"# test\n{key[0]}\n")

    code = main(["backup", "restore", str(bad), "--identity-file", str(identity), "--yes"])

    assert code == 2
    err = capsys.readouterr().err
    assert "'tables' is not a mapping of table → row count" in err
    assert "Traceback" not in err
    assert Customer.objects.count() == 1
