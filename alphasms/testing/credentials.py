"""The encrypted credential store in tests: ``secret_store`` points its key file into the test's tmp
directory (never the shared data directory) and empties the store's read cache before and after."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alphasms.credentials import store


@pytest.fixture
def secret_store(alphasms_settings: dict[str, Any], tmp_path: Path) -> Iterator[Path]:
    """The key file's path (``<tmp>/keys/secrets-key.txt``, not yet created)."""
    path = tmp_path / "keys" / store.KEY_FILE_NAME
    alphasms_settings["SECRETS_KEY_FILE"] = str(path)
    store.clear_cache()
    yield path
    store.clear_cache()
