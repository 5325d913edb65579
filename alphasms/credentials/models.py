"""The encrypted credential store's one table (``alphasms.credentials.store`` reads and writes it)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class StoredSecret(models.Model):
    """One gateway setting entered in the web app, encrypted (DESIGN.md invariant 8).

    ``name`` is the setting's name without the ``ALPHASMS_`` prefix (``SEVENIO_API_KEY``).
    ``ciphertext`` is ``v1.`` + base64url(12-byte nonce ‖ AES-256-GCM ciphertext and tag), the name
    bound in as associated data (NIST SP 800-38D), under the key in the key file outside the database
    (``store.key_path``). ``hint`` holds the last 4 characters for masking, and only for values of at
    least ``store.HINT_MIN_LENGTH`` characters ("" otherwise). Instants are UTC; ``last_used_at`` is
    when a lookup last returned the value, written at most every ``store.LAST_USED_EVERY_S`` seconds.
    Holds no personal data.
    """

    name = models.CharField(_("Einstellung"), max_length=100, unique=True)
    ciphertext = models.TextField(_("verschlüsselter Wert"))
    hint = models.CharField(_("letzte 4 Zeichen"), max_length=4, blank=True)
    created_at = models.DateTimeField(_("angelegt (UTC)"))
    updated_at = models.DateTimeField(_("geändert (UTC)"))
    last_used_at = models.DateTimeField(_("zuletzt benutzt (UTC)"), null=True, blank=True)

    class Meta:
        verbose_name = _("gespeicherte Zugangsdaten")
        verbose_name_plural = _("gespeicherte Zugangsdaten")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
