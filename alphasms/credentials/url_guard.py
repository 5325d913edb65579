"""The address guard for gateway URLs entered in the staff web app (DESIGN.md invariant 8: "URLs that
staff enter (calendar subscriptions, CalDAV, HTTP gateways) are fetched with a guard against loopback and
private addresses, unless an admin allows that host").

A URL-valued gateway setting (a name ending in ``_URL``, e.g. ``SEVENIO_BASE_URL``) stored in the
encrypted store must be ``https`` and its host must resolve to public addresses only
(``messaging.gateways.http.check_public_url``), unless an admin listed the host in
``ALPHASMS_ALLOWED_PRIVATE_HOSTS``. Plain ``http`` is refused even for an allowed host: an address
without TLS (a phone running SMS Gate in the practice's network) is an admin's to set, in the
environment (``ALPHASMS_ANDROID_BASE_URL``). It is checked when the owner stores it (Settings → Gateways)
and again each time a gateway reads it (``AppSettings.gateway_setting``), so a value stored before this
guard existed, or whose host now resolves elsewhere, is refused too. Values from the settings file or
the environment are an admin's and are not checked.

Without the guard an owner session could point a gateway at ``http://127.0.0.1:…`` or any host and
"Send test" would send the stored API key there (security review).
"""

from __future__ import annotations

import re
import urllib.parse

from alphasms.messaging.gateways.http import BlockedAddress, check_public_url, redact_url, url_for_log

#: A path segment that may be a credential: 16+ characters of letters, digits, "-" or "_" with a digit
#: (GTX puts its auth key in the path; Google and Nextcloud calendar URLs carry tokens there).
_KEY_LIKE = re.compile(r"(?=[A-Za-z0-9_\-]*\d)[A-Za-z0-9_\-]{16,}")


def is_url_setting(name: str) -> bool:
    """True for a gateway setting that holds a URL (``…_URL``, e.g. ``TWILIO_BASE_URL``)."""
    return name.endswith("_URL")


def check_gateway_url(name: str, value: str, allowed_hosts: list[str] | tuple[str, ...]) -> None:
    """Raise :class:`BlockedAddress` unless ``value`` may be used for gateway setting ``name``: an
    ``https`` URL whose host resolves to public addresses only or is in ``allowed_hosts``
    (``ALPHASMS_ALLOWED_PRIVATE_HOSTS``). ``str(exc)`` is English, ``user_message`` German; both name
    ``ALPHASMS_<name>`` and the fix, never the URL's path, query or user info."""
    try:
        scheme = urllib.parse.urlsplit(value.strip()).scheme
    except ValueError:
        scheme = ""
    setting = f"ALPHASMS_{name}"
    if scheme != "https":
        raise BlockedAddress(
            f"{setting}: enter an https address of the provider (https://…); plain http and other schemes "
            "are refused, because the gateway's key would travel unencrypted.",
            f"{setting}: eine https-Adresse des Anbieters eingeben (https://…); http und andere Schemata "
            "werden abgelehnt, weil der Schlüssel des Gateways sonst unverschlüsselt übertragen würde.",
        )
    try:
        check_public_url(value.strip(), list(allowed_hosts))
    except BlockedAddress as exc:
        raise BlockedAddress(f"{setting}: {exc}", f"{setting}: {exc.user_message}") from None


def shown_value(value: str) -> str:
    """A non-secret setting's value as shown in the "Value" column: URLs without user info and query
    values (``redact_url``), reduced to scheme and host (``url_for_log``) when a path segment looks like
    a key; anything else unchanged."""
    if "://" not in value:
        return value
    shown = redact_url(value)
    try:
        path = urllib.parse.urlsplit(value).path
    except ValueError:
        return shown
    if any(_KEY_LIKE.fullmatch(segment) for segment in path.split("/")):
        return url_for_log(value)
    return shown
