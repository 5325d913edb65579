"""The client against the real vendor server (``python -m alphasms vendor-server`` in a subprocess):
a licence it issues verifies offline, the update check it records has exactly the four fields, and its
signed manifest is accepted — a replayed older one refused."""

from __future__ import annotations

import platform

import pytest

from alphasms.licensing import update
from alphasms.licensing.licence import current_licence, set_licence

pytestmark = pytest.mark.django_db
NAME = "Praxis Sonnenhof Dr. Öztürk"


@pytest.fixture
def vendor_settings(alphasms_settings, vendor_server):
    alphasms_settings.update(
        VENDOR_URL=vendor_server.url,
        VENDOR_SIGNING_PUBLIC_KEY=vendor_server.public_key_text,
        VENDOR_AGE_RECIPIENT=vendor_server.age_recipient,
    )
    return alphasms_settings


def test_licence_and_update_check_end_to_end(vendor_settings, vendor_server):
    number = vendor_server.issue_licence(NAME, edition="gruppe", locations=3, expires="2099-12-31")
    info = set_licence(NAME, number)
    assert (info.edition, info.locations, info.expires.isoformat()) == ("gruppe", 3, "2099-12-31")
    assert current_licence().licensed

    vendor_server.publish_manifest(version="0.2.0", notes="Neu", sha256="ab" * 32, counter=5)
    before = vendor_server.connection_count()
    result = update.run_update_check()
    assert vendor_server.connection_count() == before + 1
    assert (result.manifest.latest_version, result.manifest.counter, result.update_available) == (
        "0.2.0",
        5,
        True,
    )
    assert result.manifest.release_notes == "Neu"

    [check] = vendor_server.update_checks()
    sent = {key: check[key] for key in ("client_version", "os", "registration_name", "licence_number")}
    assert sent == {
        "client_version": "0.1.0",
        "os": f"{platform.system()} {platform.release()}",
        "registration_name": NAME,
        "licence_number": number,
    }
    assert sent == result.sent

    # The vendor (or someone replaying its old answers) now serves an older manifest: refused.
    vendor_server.publish_manifest(version="0.1.5", counter=4)
    with pytest.raises(update.ManifestRolledBack):
        update.run_update_check()
    assert update.highest_counter() == 5


def test_a_licence_for_another_name_is_refused(vendor_settings, vendor_server):
    from alphasms.licensing.licence import LicenceForged

    number = vendor_server.issue_licence("Praxis Sonnenhof")
    with pytest.raises(LicenceForged):
        set_licence("Praxis Mondschein", number)
