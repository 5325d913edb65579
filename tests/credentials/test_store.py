"""The encrypted credential store (DESIGN.md invariant 8): AES-256-GCM with a key file outside the
database (mode 0600), the lookup order of ``gateway_setting`` (settings → environment → store), masking,
and no plaintext and no key in the database, its backups or a support backup."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest
from django.db import connection
from django.test import override_settings

from alphasms.conf import app_settings
from alphasms.credentials import store
from alphasms.credentials.models import StoredSecret
from alphasms.privacy.models import AuditEntry

API_KEY = "sk-live-9f8e7d6c5b4a39281706"
pytestmark = pytest.mark.django_db


def raw_column() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, ciphertext FROM credentials_storedsecret ORDER BY name")
        return [(str(n), str(c)) for n, c in cursor.fetchall()]


def test_a_stored_value_is_encrypted_with_a_key_file_made_0600_and_shown_masked(secret_store):
    assert not secret_store.exists()
    info = store.set_secret("SEVENIO_API_KEY", f"  {API_KEY}\n", actor="test")

    assert secret_store.exists()
    assert stat.S_IMODE(secret_store.stat().st_mode) == 0o600
    [(name, ciphertext)] = raw_column()
    assert name == "SEVENIO_API_KEY" and ciphertext.startswith("v1.")
    assert API_KEY not in ciphertext and API_KEY[-8:] not in ciphertext
    assert info.masked == "••••1706"
    assert store.describe()["SEVENIO_API_KEY"].readable
    assert app_settings.gateway_setting("SEVENIO_API_KEY") == API_KEY  # surrounding whitespace gone
    [entry] = AuditEntry.objects.filter(object_type="credential")
    assert (entry.action, entry.object_id) == ("change", "SEVENIO_API_KEY")
    assert API_KEY not in entry.detail


def test_the_settings_dict_and_the_environment_win_over_the_store(
    secret_store, alphasms_settings, monkeypatch
):
    store.set_secret("SEVENIO_API_KEY", API_KEY, actor="test")
    alphasms_settings["SEVENIO_API_KEY"] = ""
    monkeypatch.delenv("ALPHASMS_SEVENIO_API_KEY", raising=False)
    assert app_settings.gateway_setting_source("SEVENIO_API_KEY") == ("store", API_KEY)

    monkeypatch.setenv("ALPHASMS_SEVENIO_API_KEY", "from-the-environment-1234")
    assert app_settings.gateway_setting_source("SEVENIO_API_KEY") == (
        "environment",
        "from-the-environment-1234",
    )

    secret_file = secret_store.parent.parent / "api-key.txt"
    secret_file.write_text("from-a-file-5678\n")
    monkeypatch.setenv("ALPHASMS_SEVENIO_API_KEY_FILE", str(secret_file))
    assert app_settings.gateway_setting_source("SEVENIO_API_KEY") == ("file", "from-a-file-5678")

    alphasms_settings["SEVENIO_API_KEY"] = "from-settings"
    assert app_settings.gateway_setting_source("SEVENIO_API_KEY") == ("settings", "from-settings")


def test_without_a_key_file_the_store_is_not_even_asked(secret_store, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert app_settings.gateway_setting_source("SEVENIO_API_KEY") == ("", "")


def test_a_value_copied_to_another_name_or_read_with_another_key_does_not_decrypt(secret_store, caplog):
    store.set_secret("SEVENIO_API_KEY", API_KEY, actor="test")
    token = StoredSecret.objects.get(name="SEVENIO_API_KEY").ciphertext
    StoredSecret.objects.create(
        name="GTX_AUTH_KEY", ciphertext=token, hint="", created_at=StoredSecret.objects.get().created_at,
        updated_at=StoredSecret.objects.get().updated_at,
    )  # fmt: skip
    store.clear_cache()
    assert store.stored_value("GTX_AUTH_KEY") == ""  # the name is bound in as associated data
    assert not store.describe()["GTX_AUTH_KEY"].readable

    secret_store.unlink()  # the database moved to another machine without the key file
    store.set_secret("GTX_DLR_SECRET", "another-long-secret-value", actor="test")  # makes a new key
    store.clear_cache()
    assert store.stored_value("SEVENIO_API_KEY") == ""
    assert not store.describe()["SEVENIO_API_KEY"].readable
    assert "SEVENIO_API_KEY" in caplog.text and API_KEY not in caplog.text


def test_short_values_show_no_characters_and_last_use_is_recorded_once(secret_store):
    store.set_secret("SMPP_PASSWORD", "geheim12", actor="test")
    assert store.describe()["SMPP_PASSWORD"].masked == "••••••••"
    assert store.mask("geheim12") == "••••••••" and store.mask("") == ""
    assert StoredSecret.objects.get().last_used_at is None
    assert store.stored_value("SMPP_PASSWORD") == "geheim12"
    first = StoredSecret.objects.get().last_used_at
    assert first is not None
    store.stored_value("SMPP_PASSWORD")
    assert StoredSecret.objects.get().last_used_at == first  # not written again within the interval


def test_a_bad_name_or_an_empty_value_is_refused_naming_the_setting(secret_store):
    with pytest.raises(store.SecretStoreError, match="capital letters"):
        store.set_secret("ALPHASMS_SEVENIO_API_KEY", API_KEY, actor="test")
    with pytest.raises(store.SecretStoreError, match="ALPHASMS_SEVENIO_API_KEY: enter a value"):
        store.set_secret("SEVENIO_API_KEY", "   ", actor="test")
    assert store.clear_secret("SEVENIO_API_KEY", actor="test") is False
    assert not secret_store.exists()  # nothing stored, no key made


def test_a_support_backup_holds_no_credential_and_no_key(secret_store, location):
    from alphasms.support.support_backup import collect_bundle

    store.set_secret("SEVENIO_API_KEY", API_KEY, actor="test")
    document = repr(collect_bundle("2026-0042", pseudonymise=False))
    key_text = store._key(create=False)
    assert API_KEY not in document and "SEVENIO_API_KEY" not in document
    assert key_text is not None and secret_store.read_text().splitlines()[-1] not in document


@pytest.mark.django_db(transaction=True)
def test_a_backup_archive_holds_the_ciphertext_but_no_plaintext_and_not_the_key(secret_store, tmp_path):
    from alphasms.support.backup import Decryption, Encryption, find_tool, read_backup

    store.set_secret("SEVENIO_API_KEY", API_KEY, actor="test")
    ciphertext = StoredSecret.objects.get().ciphertext
    key_line = secret_store.read_text().splitlines()[-1]
    passphrase = "korrekt-pferd-batterie-heftklammer"
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with override_settings(DATA_DIR=data_dir):
        from alphasms.support.backup import create_backup

        result = create_backup(Encryption(passphrase=passphrase), output=tmp_path / "b.age")
        raw = result.path.read_bytes()
        assert API_KEY.encode() not in raw and key_line.encode() not in raw
        with read_backup(result.path, Decryption(passphrase=passphrase)) as backup:
            if connection.vendor == "sqlite":
                dump = backup.dump.read_bytes()
            else:  # pg_dump's custom format is compressed: read it back as SQL text
                sql = tmp_path / "dump.sql"
                subprocess.run([find_tool("pg_restore"), "-f", str(sql), str(backup.dump)], check=True)
                dump = sql.read_bytes()
    assert ciphertext.encode() in dump  # the search looks at the real rows
    assert API_KEY.encode() not in dump and API_KEY[-8:].encode() not in dump
    assert key_line.encode() not in dump
    assert store.KEY_FILE_NAME.encode() not in dump
    assert os.fspath(secret_store).encode() not in dump
