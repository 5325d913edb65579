"""Licence numbers: parse, verify offline, store; and the licence status (licensed or evaluation mode).

A licence number (issue 7 protocol) is ``AS1-<b64url(canonical_json(body))>.<b64url(signature)>`` with
``body = {"edition": str, "locations": int, "expires": "YYYY-MM-DD", "serial": int}``. The signature is
the vendor's Ed25519 signature (RFC 8032) over ``canonical_json({**body, "registration_name": NAME})``,
so a number is valid only together with the registration name it was issued for. It is verified with
the vendor's public key shipped in the package (``app_settings.VENDOR_SIGNING_PUBLIC_KEY``); nothing is
sent anywhere. A licence is valid up to and including its ``expires`` day in the installation's time zone.

Errors are :class:`LicenceError` subclasses, one per cause, each a sentence naming the field and the fix
in German and English (``str()`` picks the CLI language; ``.de``/``.en`` for the web page).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import unicodedata
from typing import Any

from django.db import transaction
from django.utils import timezone

from alphasms.cli_text import t
from alphasms.conf import app_settings
from alphasms.licensing import envelope
from alphasms.licensing.models import Licence

PREFIX = "AS1-"
_BODY_KEYS = {"edition", "locations", "expires", "serial"}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class LicenceError(ValueError):
    """A licence was refused; nothing was stored. ``field`` is ``registration_name`` or
    ``licence_number``; ``de``/``en`` are the sentence in each language."""

    field = "licence_number"

    def __init__(self, de: str, en: str) -> None:
        self.de, self.en = de, en
        super().__init__(t(de, en))


class LicenceMalformed(LicenceError):
    """The number is not of the form ``AS1-….…`` or its body is not the expected JSON object."""


class LicenceNameMissing(LicenceError):
    """No registration name was given."""

    field = "registration_name"


class LicenceForged(LicenceError):
    """The signature does not verify for this name: not issued by the vendor, or issued for another
    name (the two cannot be told apart: the name is not inside the number)."""


class LicenceNameMismatch(LicenceForged):
    """The number is genuine but for a different spelling of the name (spaces, capitals, Unicode form);
    ``suggestion`` is the spelling that verifies."""

    field = "registration_name"

    def __init__(self, de: str, en: str, suggestion: str) -> None:
        self.suggestion = suggestion
        super().__init__(de, en)


class LicenceExpired(LicenceError):
    """The signature is genuine but the licence ended before today."""

    def __init__(self, de: str, en: str, expires: dt.date) -> None:
        self.expires = expires
        super().__init__(de, en)


@dataclasses.dataclass(frozen=True)
class LicenceInfo:
    """The verified content of a licence number. ``expires`` is the last valid day (inclusive)."""

    registration_name: str
    licence_number: str
    edition: str
    locations: int
    expires: dt.date
    serial: int


def today() -> dt.date:
    """Today's date in the installation's time zone (``ALPHASMS_TIME_ZONE``)."""
    return timezone.localdate()


def _malformed(detail_de: str, detail_en: str) -> LicenceMalformed:
    return LicenceMalformed(
        f"Lizenznummer: {detail_de} – die Nummer vollständig aus dem Lizenzschreiben kopieren "
        f"(sie beginnt mit „{PREFIX}“).",
        f"licence number: {detail_en} – copy the whole number from the licence letter "
        f"(it starts with '{PREFIX}').",
    )


def decode_number(number: str) -> tuple[dict[str, Any], bytes]:
    """Split a licence number into its body (checked for shape) and the 64-byte signature.

    Raises :class:`LicenceMalformed`. Whitespace and line breaks inside the number (from copying a
    letter) are ignored.
    """
    compact = "".join(number.split())
    if not compact.startswith(PREFIX):
        raise _malformed(f"beginnt nicht mit „{PREFIX}“", f"does not start with '{PREFIX}'")
    parts = compact[len(PREFIX) :].split(".")
    if len(parts) != 2 or not all(parts):
        raise _malformed("Punkt fehlt oder ein Teil ist leer", "the dot is missing or a part is empty")
    try:
        body = json.loads(envelope.b64url_decode(parts[0]).decode("utf-8"))
        signature = envelope.b64url_decode(parts[1])
    except (envelope.EnvelopeError, UnicodeDecodeError, ValueError):
        raise _malformed(
            "unlesbar (abgeschnitten oder verändert?)", "unreadable (cut off or altered?)"
        ) from None
    if not isinstance(body, dict) or set(body) != _BODY_KEYS:
        raise _malformed("Inhalt unvollständig", "its content is incomplete")
    if (
        not isinstance(body["edition"], str)
        or not body["edition"]
        or type(body["locations"]) is not int
        or body["locations"] < 1
        or type(body["serial"]) is not int
        or body["serial"] < 0
        or not isinstance(body["expires"], str)
        or not _DATE.fullmatch(body["expires"])
    ):
        raise _malformed("Inhalt hat falsche Werte", "its content has wrong values")
    try:
        dt.date.fromisoformat(body["expires"])
    except ValueError:
        raise _malformed("Ablaufdatum ungültig", "the expiry date is invalid") from None
    if len(signature) != 64:
        raise _malformed("Signatur unvollständig", "the signature is incomplete")
    return body, signature


def _verifies(body: dict[str, Any], signature: bytes, name: str) -> bool:
    key = envelope.public_key_from_text(app_settings.VENDOR_SIGNING_PUBLIC_KEY)
    try:
        envelope.verify_envelope(
            key,
            {"payload": {**body, "registration_name": name}, "signature": envelope.b64url_encode(signature)},
        )
    except envelope.EnvelopeError:
        return False
    return True


def _spellings(name: str) -> list[str]:
    """Other spellings of a typed name to look for a near miss (never accepted silently)."""
    collapsed = " ".join(name.split())
    forms = [collapsed, unicodedata.normalize("NFC", collapsed), unicodedata.normalize("NFD", collapsed)]
    forms += [collapsed.lower(), collapsed.upper(), collapsed.title()]
    forms += [" ".join(w[:1].upper() + w[1:] for w in collapsed.split(" "))]
    return list(dict.fromkeys(f for f in forms if f != name))


def verify_licence(registration_name: str, licence_number: str, on: dt.date | None = None) -> LicenceInfo:
    """Verify ``licence_number`` for ``registration_name`` offline and return its content.

    The name is used as typed, without leading and trailing spaces. ``on`` is the day the licence must
    still be valid on (default: today in the installation's time zone). Raises
    :class:`LicenceNameMissing`, :class:`LicenceMalformed`, :class:`LicenceNameMismatch` (genuine but for
    another spelling of the name), :class:`LicenceForged` or :class:`LicenceExpired`.
    """
    name = registration_name.strip()
    if not name:
        raise LicenceNameMissing(
            "Registrierungsname fehlt – den Namen genau wie im Lizenzschreiben eingeben (--name).",
            "registration name missing – type the name exactly as in the licence letter (--name).",
        )
    body, signature = decode_number(licence_number)
    if not _verifies(body, signature, name):
        for other in _spellings(name):
            if _verifies(body, signature, other):
                raise LicenceNameMismatch(
                    f"Registrierungsname: die Lizenznummer gilt für „{other}“, nicht für „{name}“ – den "
                    "Namen genau so schreiben wie im Lizenzschreiben.",
                    f"registration name: the licence number is for '{other}', not '{name}' – spell the "
                    "name exactly as in the licence letter.",
                    suggestion=other,
                )
        raise LicenceForged(
            f"Lizenznummer: die Signatur passt nicht zum Registrierungsnamen „{name}“ – den Namen und die "
            "Nummer genau wie im Lizenzschreiben eingeben; stimmen beide, ist die Nummer nicht vom "
            "Hersteller ausgestellt: beim Händler nachfragen.",
            f"licence number: the signature does not match the registration name '{name}' – type name "
            "and number exactly as in the licence letter; if both are right, the number was not issued "
            "by the vendor: ask your dealer.",
        )
    expires = dt.date.fromisoformat(body["expires"])
    if expires < (on or today()):
        raise LicenceExpired(
            f"Lizenznummer: die Lizenz ist am {expires.isoformat()} abgelaufen – eine verlängerte "
            "Lizenznummer beim Hersteller anfordern; bis dahin läuft AlphaSMS im Testmodus.",
            f"licence number: the licence expired on {expires.isoformat()} – ask the vendor for a renewed "
            "licence number; until then AlphaSMS runs in evaluation mode.",
            expires=expires,
        )
    return LicenceInfo(
        registration_name=name,
        licence_number="".join(licence_number.split()),
        edition=body["edition"],
        locations=body["locations"],
        expires=expires,
        serial=body["serial"],
    )


def set_licence(registration_name: str, licence_number: str) -> LicenceInfo:
    """Verify and store a licence (the settings page and ``alphasms licence set`` call this).

    On success the licence is in force at once: messages the evaluation limit deferred are due again.
    Raises a :class:`LicenceError` (nothing stored) as :func:`verify_licence` does. Side effects: one
    ``Licence`` row; deferred messages re-queued (their history records why).
    """
    from alphasms.licensing.evaluation import release_deferred

    info = verify_licence(registration_name, licence_number)
    now = timezone.now()
    with transaction.atomic():
        Licence.objects.create(
            registration_name=info.registration_name,
            licence_number=info.licence_number,
            edition=info.edition,
            locations=info.locations,
            expires=info.expires,
            serial=info.serial,
            entered_at=now,
        )
        release_deferred(now)
    return info


def stored_licence() -> Licence | None:
    """The licence row in force (newest entered), or None."""
    return Licence.objects.order_by("-entered_at", "-id").first()


@dataclasses.dataclass(frozen=True)
class LicenceState:
    """The licence in force: ``state`` is ``licensed``, ``none`` (never entered), ``expired`` or
    ``invalid`` (stored but no longer verifying, e.g. after a key change). ``info`` is set when the
    signature verified (``licensed`` and ``expired``); ``stored`` is the row, if any."""

    state: str
    info: LicenceInfo | None
    stored: Licence | None

    @property
    def licensed(self) -> bool:
        return self.state == "licensed"


def current_licence(on: dt.date | None = None) -> LicenceState:
    """Verify the stored licence again (cheap: one query and one signature check)."""
    row = stored_licence()
    if row is None:
        return LicenceState("none", None, None)
    try:
        info = verify_licence(row.registration_name, row.licence_number, on=on)
    except LicenceExpired as exc:
        expired = dataclasses.replace(_row_info(row), expires=exc.expires)
        return LicenceState("expired", expired, row)
    except LicenceError:
        return LicenceState("invalid", None, row)
    return LicenceState("licensed", info, row)


def _row_info(row: Licence) -> LicenceInfo:
    return LicenceInfo(
        registration_name=row.registration_name,
        licence_number=row.licence_number,
        edition=row.edition,
        locations=row.locations,
        expires=row.expires,
        serial=row.serial,
    )
