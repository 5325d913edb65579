"""Typed access to the ``ALPHASMS`` settings dict, read at call time (so ``override_settings`` works).

Shape of allauth's ``app_settings``: one property per setting, each with its unit and meaning. The
environment variables behind them are documented in README.md ("Settings").
"""

from __future__ import annotations

from typing import Any

from django.conf import settings


class AppSettings:
    def _get(self, name: str) -> Any:
        return settings.ALPHASMS[name]

    @property
    def SMS_GATEWAY(self) -> str:
        """Slug of the SMS gateway in use (``outbox``, ``sevenio``, …)."""
        return str(self._get("SMS_GATEWAY"))

    @property
    def OUTBOX_DIR(self) -> str:
        """Folder the outbox gateway writes message files to."""
        return str(self._get("OUTBOX_DIR"))

    @property
    def MAIL_SINK(self) -> bool:
        """Whether ``alphasms run`` starts the local SMTP sink."""
        return bool(self._get("MAIL_SINK"))

    @property
    def MAIL_SINK_DIR(self) -> str:
        """Maildir the local sink stores mails in."""
        return str(self._get("MAIL_SINK_DIR"))

    @property
    def SMS_SENDER_ID(self) -> str:
        """Sender ID for SMS ("" = the provider's default)."""
        return str(self._get("SMS_SENDER_ID"))

    @property
    def SMS_SENDER_NUMBER(self) -> str:
        """Numeric sender (E.164) for destinations that refuse alphanumeric IDs ("" = none)."""
        return str(self._get("SMS_SENDER_NUMBER"))

    @property
    def SMS_SENDER_REGISTERED_IN(self) -> frozenset[str]:
        """ISO 3166 countries where the alphanumeric sender ID is registered with the carriers."""
        return frozenset(self._get("SMS_SENDER_REGISTERED_IN"))

    @property
    def PUBLIC_URL(self) -> str:
        """Base URL at which providers reach our webhooks."""
        return str(self._get("PUBLIC_URL"))

    @property
    def PLANNING_HORIZON_DAYS(self) -> int:
        """Days ahead for which calendars are expanded and reminders planned."""
        return int(self._get("PLANNING_HORIZON_DAYS"))

    @property
    def WORKER_POLL_S(self) -> float:
        """Seconds the idle worker waits between cycles."""
        return float(self._get("WORKER_POLL_S"))

    @property
    def WORKER_BATCH(self) -> int:
        """Messages claimed per batch."""
        return int(self._get("WORKER_BATCH"))

    @property
    def WORKER_CONCURRENCY(self) -> int:
        """Provider calls in parallel per worker (1 = in the worker's own thread)."""
        return int(self._get("WORKER_CONCURRENCY"))

    @property
    def LEASE_S(self) -> int:
        """Seconds a claim is held before a lost worker's messages are recovered."""
        return int(self._get("LEASE_S"))

    @property
    def MAX_ATTEMPTS(self) -> int:
        """Provider calls per message before it fails."""
        return int(self._get("MAX_ATTEMPTS"))

    @property
    def HTTP_TIMEOUT_S(self) -> float:
        """Timeout of one provider call, in seconds."""
        return float(self._get("HTTP_TIMEOUT_S"))

    @property
    def ALLOWED_PRIVATE_HOSTS(self) -> list[str]:
        """Hosts on private or loopback addresses that staff-entered URLs may use."""
        return list(self._get("ALLOWED_PRIVATE_HOSTS"))

    @property
    def SAMPLE_DATA(self) -> bool:
        """Whether ``alphasms run`` creates sample data on first start."""
        return bool(self._get("SAMPLE_DATA"))

    @property
    def STATISTICS(self) -> bool:
        """Whether anonymised monthly statistics are kept (off by default; GDPR Art. 25(2))."""
        return bool(self._get("STATISTICS"))

    @property
    def RETENTION_MESSAGE_TEXT_DAYS(self) -> int:
        """Days after a message was due until its subject and body are blanked and its recipient is
        reduced to the redacted form; status, times, channel and gateway stay (0 = kept)."""
        return int(self._get("RETENTION_MESSAGE_TEXT_DAYS"))

    @property
    def RETENTION_DELIVERY_REPORTS_DAYS(self) -> int:
        """Days after receipt until a provider's delivery report (raw payload, provider status and
        error code) is deleted; the message keeps its status (0 = kept)."""
        return int(self._get("RETENTION_DELIVERY_REPORTS_DAYS"))

    @property
    def RETENTION_APPOINTMENTS_DAYS(self) -> int:
        """Days after an appointment ended until it is deleted with its messages (0 = kept)."""
        return int(self._get("RETENTION_APPOINTMENTS_DAYS"))

    @property
    def RETENTION_INACTIVE_CUSTOMERS_DAYS(self) -> int:
        """Days without any appointment after which a customer with no pending message is erased
        (GDPR Art. 17 erasure; 0 = kept)."""
        return int(self._get("RETENTION_INACTIVE_CUSTOMERS_DAYS"))

    @property
    def VENDOR_URL(self) -> str:
        """Base URL of the vendor server (update check, support backups); https, or http on loopback."""
        from alphasms.licensing import vendor_keys

        return str(settings.ALPHASMS.get("VENDOR_URL") or vendor_keys.DEFAULT_VENDOR_URL).rstrip("/")

    @property
    def VENDOR_SIGNING_PUBLIC_KEY(self) -> str:
        """The vendor's Ed25519 public key (base64url, 32 bytes) verifying licences and manifests;
        defaults to the production key shipped in ``alphasms.licensing.vendor_keys``."""
        from alphasms.licensing import vendor_keys

        return str(
            settings.ALPHASMS.get("VENDOR_SIGNING_PUBLIC_KEY") or vendor_keys.VENDOR_SIGNING_PUBLIC_KEY
        )

    @property
    def VENDOR_AGE_RECIPIENT(self) -> str:
        """The age recipient (``age1…``) support backups are encrypted to; defaults to the shipped one."""
        from alphasms.licensing import vendor_keys

        return str(settings.ALPHASMS.get("VENDOR_AGE_RECIPIENT") or vendor_keys.VENDOR_AGE_RECIPIENT)

    @property
    def EVALUATION_MONTHLY_LIMIT(self) -> int:
        """Messages per calendar month through real gateways without a licence (outbox: unlimited)."""
        value: Any = settings.ALPHASMS.get("EVALUATION_MONTHLY_LIMIT", 50)
        return int(value)

    def gateway_setting(self, name: str) -> str:
        """A gateway's own setting, e.g. ``SEVENIO_API_KEY`` ("" when unset).

        Lookup order (the first non-empty value wins):

        1. the ``ALPHASMS`` settings dict (tests override it);
        2. the environment: the file named by ``ALPHASMS_<name>_FILE`` (secrets), else the variable
           ``ALPHASMS_<name>``;
        3. the encrypted credential store (values the owner entered under Settings → Gateways;
           ``alphasms.credentials.store``; DESIGN.md invariant 8).

        The environment wins over the store, so deployments configured by environment are unchanged.
        A new gateway needs no edit of settings.py; its variables are documented in its README and
        README.md. :meth:`gateway_setting_source` says where a value came from.

        A stored URL (``…_URL``) must pass ``credentials.url_guard.check_gateway_url`` (https, public
        host unless allowed by ALPHASMS_ALLOWED_PRIVATE_HOSTS) each time it is read; otherwise this raises
        ``GatewayMisconfigured`` naming the setting, so nothing is sent there (DESIGN.md invariant 8).
        """
        source, value = self.gateway_setting_source(name)
        if source == "store":
            from alphasms.credentials.url_guard import check_gateway_url, is_url_setting

            if is_url_setting(name):
                from alphasms.messaging.gateways.errors import GatewayMisconfigured
                from alphasms.messaging.gateways.http import BlockedAddress

                try:
                    check_gateway_url(name, value, self.ALLOWED_PRIVATE_HOSTS)
                except BlockedAddress:
                    raise GatewayMisconfigured(
                        f"ALPHASMS_{name} (stored under Settings → Gateways) is refused: it must be an "
                        "https address of the provider on a public host. Store it again there, or clear it."
                    ) from None
        return value

    def gateway_setting_source(self, name: str) -> tuple[str, str]:
        """(source, value) of :meth:`gateway_setting`: source is ``settings``, ``file`` (via
        ``ALPHASMS_<name>_FILE``), ``environment``, ``store`` or ``""`` (unset, value "")."""
        import os

        value = settings.ALPHASMS.get(name)
        if value not in (None, ""):
            return "settings", str(value)
        from alphasms.project.settings import env

        found = env(f"ALPHASMS_{name}")
        if found:
            return ("file" if os.environ.get(f"ALPHASMS_{name}_FILE") else "environment"), found
        from alphasms.credentials.store import stored_value

        found = stored_value(name)
        return ("store", found) if found else ("", "")


app_settings = AppSettings()
