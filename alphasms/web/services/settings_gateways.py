"""Settings → Gateways: every registered SMS gateway with the settings it reads, where each value comes
from and the value masked (DESIGN.md invariant 8), and the stored credentials the owner may set.

Values never leave this module unmasked: a secret setting is shown as ``mask(value)`` (last 4
characters of long values only) whatever its source; a plain setting (a URL, a sender, a mode) is shown
as it is, except that URLs lose user info, query values and key-like path segments
(``credentials.url_guard.shown_value``). The stored value itself is never read back for display
(``credentials.store.describe`` masks from the stored hint).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.module_loading import import_string

from alphasms.conf import app_settings
from alphasms.credentials import store, url_guard
from alphasms.messaging.gateways.base import Gateway, GatewaySetting
from alphasms.messaging.gateways.http import BlockedAddress
from alphasms.messaging.gateways.registry import GATEWAYS

#: Registered only for application tests; shown when it is the active gateway, else left out.
HIDDEN = frozenset({"fake"})


@dataclass(frozen=True)
class SettingRow:
    """One setting of a gateway as shown: ``env_name`` ``ALPHASMS_<name>``; ``source`` one of
    ``settings``/``file``/``environment``/``store``/"" (unset); ``shown`` masked (secret) or clear;
    ``stored``: the stored credential (masked, timestamps) even when another source shadows it."""

    name: str
    env_name: str
    required: bool
    secret: bool
    source: str
    shown: str
    stored: store.StoredInfo | None

    @property
    def shadowed(self) -> bool:
        """A stored value exists but the settings dict or the environment wins over it."""
        return self.stored is not None and self.source not in ("store", "")


@dataclass(frozen=True)
class GatewayRow:
    """One gateway: ``active`` when it is ``ALPHASMS_SMS_GATEWAY``; ``configured`` when every required
    setting has a value (``missing`` lists the variables without one)."""

    slug: str
    display_name: str
    docs_url: str
    active: bool
    settings: list[SettingRow] = field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        return [row.env_name for row in self.settings if row.required and not row.source]

    @property
    def configured(self) -> bool:
        return not self.missing

    @property
    def has_url_setting(self) -> bool:
        """The gateway reads an address (``…_URL``): the page explains the https rule for it."""
        return any(url_guard.is_url_setting(row.name) for row in self.settings)


def gateway_class(slug: str) -> type[Gateway]:
    """The class registered under ``slug`` (KeyError when unknown)."""
    cls: type[Gateway] = import_string(GATEWAYS[slug])
    return cls


def declared_settings(slug: str) -> tuple[GatewaySetting, ...]:
    """The settings gateway ``slug`` declares (``Gateway.settings_spec``); KeyError when unknown."""
    return gateway_class(slug).settings_spec


def shown_slugs() -> list[str]:
    """Registry order, without the test-only gateways unless one of them is active."""
    active = app_settings.SMS_GATEWAY
    return [slug for slug in GATEWAYS if slug not in HIDDEN or slug == active]


def _row(spec: GatewaySetting, stored: dict[str, store.StoredInfo]) -> SettingRow:
    source, value = app_settings.gateway_setting_source(spec.name)
    shown = store.mask(value) if spec.secret else url_guard.shown_value(value)
    return SettingRow(
        name=spec.name,
        env_name=f"ALPHASMS_{spec.name}",
        required=spec.required,
        secret=spec.secret,
        source=source,
        shown=shown,
        stored=stored.get(spec.name),
    )


def gateway_rows() -> list[GatewayRow]:
    """Every shown gateway with its settings. One query for the stored credentials (plus the store's
    cached read behind ``gateway_setting``); decrypts stored values only to tell whether they are set."""
    slugs = shown_slugs()
    classes = {slug: gateway_class(slug) for slug in slugs}
    names = [spec.name for cls in classes.values() for spec in cls.settings_spec]
    stored = store.describe(names)
    active = app_settings.SMS_GATEWAY
    return [
        GatewayRow(
            slug=slug,
            display_name=cls.display_name,
            docs_url=cls.docs_url,
            active=slug == active,
            settings=[_row(spec, stored) for spec in cls.settings_spec],
        )
        for slug, cls in classes.items()
    ]


def secret_values(slug: str) -> list[str]:
    """The current values of ``slug``'s secret settings (to scrub them from any text shown)."""
    values = []
    for spec in declared_settings(slug):
        if spec.secret and (value := app_settings.gateway_setting(spec.name)):
            values.append(value)
    return values


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` with every secret value replaced by its mask (longest first)."""
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, store.mask(secret))
    return text


def url_refusal(slug: str, name: str, value: str) -> tuple[str, str] | None:
    """(German, English) reason why the owner may not store ``value`` for the URL setting ``name`` of
    gateway ``slug``, or None when it may be stored (or ``name`` holds no URL).

    Refused: anything but an https URL of a public host (``url_guard.check_gateway_url``; an admin
    allows private hosts with ALPHASMS_ALLOWED_PRIVATE_HOSTS), and any URL while one of the gateway's
    secrets comes from the settings file or the environment — the owner could otherwise send an
    admin's key to a host of their choosing (DESIGN.md invariant 8)."""
    if not url_guard.is_url_setting(name):
        return None
    try:
        url_guard.check_gateway_url(name, value, app_settings.ALLOWED_PRIVATE_HOSTS)
    except BlockedAddress as exc:
        return exc.user_message, str(exc)
    for spec in declared_settings(slug):
        source = app_settings.gateway_setting_source(spec.name)[0] if spec.secret else ""
        if source and source != "store":
            return (
                f"ALPHASMS_{name} kann hier nicht geändert werden, solange ALPHASMS_{spec.name} aus der "
                "Umgebung oder der Einstellungsdatei kommt: ein Administrator setzt beide dort.",
                f"ALPHASMS_{name} cannot be changed here while ALPHASMS_{spec.name} comes from the "
                "environment or the settings file: an admin sets both there.",
            )
    return None


def clear_secrets_after_url_change(slug: str, name: str, old: str, actor: str) -> list[str]:
    """After the URL setting ``name`` of ``slug`` was stored with a value other than ``old`` (the
    previously stored one, "" if none): delete the gateway's stored secrets, so a key entered for one
    address never goes to another one; the owner enters them again. Returns the deleted setting names
    (``ALPHASMS_…``); empty when ``name`` holds no URL or the value did not change."""
    if not url_guard.is_url_setting(name) or store.stored_value(name) == old:
        return []
    return [
        f"ALPHASMS_{spec.name}"
        for spec in declared_settings(slug)
        if spec.secret and store.clear_secret(spec.name, actor)
    ]
