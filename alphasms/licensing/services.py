"""What the settings page calls (one import for the web app); each function is documented where it lives.

* :func:`licence_status` — the licence in force or evaluation mode, with this month's allowance;
  ``.sentence_de``/``.sentence_en`` say it plainly, ``.as_dict()`` for templates/JSON.
* :func:`set_licence` — verify offline and store; raises a ``LicenceError`` subclass whose ``.field``
  (``registration_name``/``licence_number``) and ``.de``/``.en`` sentence go next to the form field.
* :func:`preview_update_request` — URL and the exact four fields, to show before the person confirms.
* :func:`run_update_check` — send them (only on that confirmation; pass the preview shown) and verify
  the signed manifest; raises an ``UpdateCheckError`` subclass (``.code``, ``.de``/``.en``).
* :func:`download_update` / :func:`install_command` — fetch the release, check its SHA-256, say how to
  install it.

Nothing here runs by itself: never call these from the worker, at start-up or on a timer.
"""

from __future__ import annotations

from alphasms.licensing.evaluation import LicenceStatus, licence_status
from alphasms.licensing.licence import LicenceError, LicenceInfo, set_licence
from alphasms.licensing.update import (
    UpdateCheckError,
    UpdatePreview,
    UpdateResult,
    download_update,
    install_command,
    preview_update_request,
    run_update_check,
)

__all__ = [
    "LicenceError",
    "LicenceInfo",
    "LicenceStatus",
    "UpdateCheckError",
    "UpdatePreview",
    "UpdateResult",
    "download_update",
    "install_command",
    "licence_status",
    "preview_update_request",
    "run_update_check",
    "set_licence",
]
