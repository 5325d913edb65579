"""The audit log is append-only and tamper-evident: editing or deleting an entry breaks the chain."""

from __future__ import annotations

import io
import threading

import pytest
from django.core.management import call_command
from django.db import connection

from alphasms.privacy.audit import audit, verify_chain
from alphasms.privacy.models import AppendOnlyError, AuditAction, AuditEntry

pytestmark = pytest.mark.django_db


def write_three():
    return [audit("staff:1", AuditAction.VIEW, "customer", i) for i in (11, 12, 13)]


def test_an_intact_chain_verifies():
    first, second, third = write_three()
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert verify_chain() is None


def test_entries_cannot_be_changed_or_deleted_through_the_application():
    entry, *_ = write_three()
    entry.detail = "x"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()


def test_editing_an_entry_in_the_database_is_found_and_named():
    _, second, _ = write_three()
    AuditEntry.objects.filter(pk=second.pk).update(actor="someone-else")  # bypasses save()
    problem = verify_chain()
    assert problem is not None and problem.entry_id == second.pk
    assert "changed" in problem.reason


def test_deleting_an_entry_in_the_database_is_found():
    _, second, third = write_three()
    AuditEntry.objects.filter(pk=second.pk)._raw_delete(connection.alias)
    problem = verify_chain()
    assert problem is not None and problem.entry_id == third.pk


def test_cutting_off_the_newest_entry_is_found():
    _, second, third = write_three()
    AuditEntry.objects.filter(pk=third.pk)._raw_delete(connection.alias)
    problem = verify_chain()
    assert problem is not None and problem.entry_id == second.pk and "missing" in problem.reason


def test_audit_verify_command_fails_naming_the_entry():
    _, second, _ = write_three()
    out = io.StringIO()
    call_command("privacy_audit_verify", stdout=out)
    assert "3" in out.getvalue()
    AuditEntry.objects.filter(pk=second.pk).update(detail="edited")
    err = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("privacy_audit_verify", stdout=io.StringIO(), stderr=err)
    assert exit_info.value.code == 1
    assert f"#{second.pk}" in err.getvalue()


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_form_one_chain():
    if connection.vendor == "sqlite" and "memory" in str(connection.settings_dict["NAME"]):
        # Threads share one in-memory database here; run the writers one after another instead.
        for i in range(20):
            audit("w", AuditAction.VIEW, "customer", i)
    else:

        def write(n: int) -> None:
            for i in range(10):
                audit(f"w{n}", AuditAction.VIEW, "customer", i)
            connection.close()

        threads = [threading.Thread(target=write, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert AuditEntry.objects.count() == 20
    assert verify_chain() is None
