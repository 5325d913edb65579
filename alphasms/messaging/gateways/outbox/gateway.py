"""The ``outbox`` gateway: each SMS is written as a JSON file into a folder (the embedded default).

Nothing leaves the machine, so a practice can try the product without a provider account. The file
holds exactly what a real gateway would receive (recipient, text, sender ID) plus our reference.
Files are written atomically (temporary file, then rename) so a reader never sees half a message.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from alphasms.conf import app_settings
from alphasms.messaging.gateways.base import DeliveryStatus, Gateway, OutboundSms, SendResult
from alphasms.messaging.gateways.errors import GatewayMisconfigured


class OutboxGateway(Gateway):
    slug = "outbox"
    display_name = "Outbox (Dateien, kein Versand)"
    docs_url = ""
    supports_dlr = False
    supports_mo = False
    max_segments = 255
    max_requests_per_second = 1000.0

    def folder(self) -> Path:
        """The folder messages are written to (setting ALPHASMS_OUTBOX_DIR)."""
        return Path(app_settings.OUTBOX_DIR)

    def send(self, sms: OutboundSms) -> SendResult:
        """Write ``<reference>.json`` into the outbox folder; the reference is the message id.

        Raises GatewayMisconfigured when the folder cannot be created or written.
        """
        folder = self.folder()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            payload = {"to": sms.to_e164, "text": sms.text, "sender_id": sms.sender_id}
            payload["reference"] = sms.reference
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(payload, handle, ensure_ascii=False, indent=2)
            os.replace(tmp, folder / f"{sms.reference}.json")
        except OSError as exc:
            raise GatewayMisconfigured(f"ALPHASMS_OUTBOX_DIR {folder} is not writable: {exc}") from exc
        return SendResult(
            gateway_message_id=sms.reference, status=DeliveryStatus.ACCEPTED, segments=sms.segments
        )
