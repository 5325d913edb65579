from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from alphasms.licensing.testing import TestVendor


@pytest.fixture
def vendor() -> TestVendor:
    return TestVendor()


@pytest.fixture
def licensing_settings(vendor: TestVendor) -> Iterator[dict[str, Any]]:
    """ALPHASMS settings trusting the test vendor's key; the vendor URL is a closed loopback port."""
    values = {
        **settings.ALPHASMS,
        "VENDOR_SIGNING_PUBLIC_KEY": vendor.public_key_text,
        "VENDOR_URL": "http://127.0.0.1:9",
        "EVALUATION_MONTHLY_LIMIT": 50,
    }
    with override_settings(ALPHASMS=values):
        yield values
