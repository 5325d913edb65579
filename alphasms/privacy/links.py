"""A data subject's own link: signed, expiring, carrying only the customer id (GDPR Art. 12(2), 25).

The link lets a person see and download their data (Art. 15, 20), withdraw consent (Art. 7(3)), object
to statistics (Art. 21), request restriction (Art. 18), erasure (Art. 17) and rectification (Art. 16)
without an account. Its token is ``<customer id>:<expiry>:<signature>``:

* the signature is Django's ``TimestampSigner`` (HMAC-SHA256 with ``SECRET_KEY``, ``SECRET_KEY_FALLBACKS``
  accepted while keys rotate); the timestamp it appends is the *expiry* instant (UTC seconds, base 62),
  not the signing instant, so every link carries its own lifetime and nothing else;
* the salt names the purpose and the customer row's creation instant, so a token works for one purpose
  only, and an id that comes back for another person (a restore from an older backup, then new
  customers) does not open that person's data;
* there is no server-side state: a link stops working when it expires, when the key changes, or when
  the person is erased.
"""

from __future__ import annotations

import datetime as dt
import time
from urllib.parse import urljoin

from django.core import signing
from django.urls import reverse

from alphasms.appointments.models import Customer
from alphasms.conf import app_settings

SALT_PREFIX = "alphasms.privacy.links"
DEFAULT_PURPOSE = "self-service"
DEFAULT_MAX_AGE_DAYS = 14
MAX_AGE_DAYS_LIMIT = 90  # a link is a bearer credential: it must not live for ever


class LinkError(Exception):
    """A link that cannot be used; ``http_status`` is what the page answers with."""

    http_status = 403


class LinkInvalid(LinkError):
    """Forged, altered, signed with another key or for another purpose, or for a person no longer
    stored (erased): 403. The cases are not told apart, so the page is no oracle for which ids exist."""

    http_status = 403


class LinkExpired(LinkError):
    """Correctly signed, but its expiry instant has passed: 410."""

    http_status = 410


def _salt(customer: Customer, purpose: str) -> str:
    created = customer.created_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S.%f")
    return f"{SALT_PREFIX}:{purpose}:{created}"


class _ExpiringSigner(signing.TimestampSigner):
    """A TimestampSigner whose timestamp is the expiry instant (now + ``lifetime_s``)."""

    def __init__(self, *, salt: str, lifetime_s: int) -> None:
        super().__init__(salt=salt)
        self.lifetime_s = lifetime_s

    def timestamp(self) -> str:
        return signing.b62_encode(int(time.time()) + self.lifetime_s)


def make_token(
    customer: Customer, purpose: str = DEFAULT_PURPOSE, max_age_days: int = DEFAULT_MAX_AGE_DAYS
) -> str:
    """The token for ``customer`` (saved, with a pk), valid ``max_age_days`` days (1–90) from now.

    Raises ValueError for a lifetime outside 1–90 days or an unsaved customer. No side effects.
    """
    if not 1 <= max_age_days <= MAX_AGE_DAYS_LIMIT:
        raise ValueError(f"max_age_days must be between 1 and {MAX_AGE_DAYS_LIMIT}, not {max_age_days}")
    if customer.pk is None:
        raise ValueError("the customer must be saved before a link can be made")
    signer = _ExpiringSigner(salt=_salt(customer, purpose), lifetime_s=max_age_days * 86400)
    return signer.sign(str(customer.pk))


def make_link(
    customer: Customer, purpose: str = DEFAULT_PURPOSE, max_age_days: int = DEFAULT_MAX_AGE_DAYS
) -> str:
    """The absolute URL of ``customer``'s page, e.g. ``https://praxis.example/datenschutz/12:1abc:…/``.

    The base is ALPHASMS_PUBLIC_URL (``app_settings.PUBLIC_URL``). Errors as ``make_token``.
    """
    path = reverse("privacy:person", kwargs={"token": make_token(customer, purpose, max_age_days)})
    return urljoin(app_settings.PUBLIC_URL.rstrip("/") + "/", path.lstrip("/"))


def expires_at(token: str) -> dt.datetime | None:
    """The expiry instant (UTC) written in ``token``, or None when it has none. Not verified: for display
    only, after ``read_token`` accepted the token."""
    parts = token.split(":")
    if len(parts) != 3:
        return None
    try:
        return dt.datetime.fromtimestamp(signing.b62_decode(parts[1]), tz=dt.UTC)
    except (ValueError, OverflowError):
        return None


def read_token(token: str, purpose: str = DEFAULT_PURPOSE) -> Customer:
    """The customer a token was made for.

    Raises LinkInvalid (403) for a malformed, forged or altered token, one signed with an unknown key or
    for another purpose, or one whose customer is no longer stored; LinkExpired (410) for a correctly
    signed token past its expiry. The signature is checked before the expiry, so an expired *forgery*
    is LinkInvalid. Side effects: one SELECT.
    """
    customer_id, sep, _rest = token.partition(":")
    if not sep or not customer_id.isascii() or not customer_id.isdigit() or len(customer_id) > 19:
        raise LinkInvalid("malformed token")
    customer = Customer.objects.filter(pk=int(customer_id)).first()
    if customer is None:
        raise LinkInvalid("no such customer")
    signer = signing.TimestampSigner(salt=_salt(customer, purpose))
    try:
        value = signer.unsign(token, max_age=0)
    except signing.SignatureExpired as exc:
        raise LinkExpired("link expired") from exc
    except (signing.BadSignature, ValueError) as exc:  # ValueError: a timestamp that is no base-62 number
        raise LinkInvalid("bad signature") from exc
    if value != customer_id:  # cannot happen with a valid signature; belt and braces
        raise LinkInvalid("customer id mismatch")
    return customer
