"""Django settings of the vendor's server (``alphasms vendor-server``, ``alphasms vendor …``).

A separate Django project sharing the code base with the client but nothing else: its own database, its
own data directory, its own keys. Every setting is an environment variable (README "The vendor's server"):

* ``ALPHASMS_VENDOR_DATA_DIR`` — folder for the SQLite database, the keys and received support backups
  (default: the platform's per-user data folder ``alphasms-vendor``, distinct from the client's).
* ``ALPHASMS_VENDOR_DATABASE_URL`` — PostgreSQL (or any dj-database-url URL) instead of SQLite. The
  client's ``DATABASE_URL`` is deliberately ignored: the two databases never mix.
* ``ALPHASMS_VENDOR_CHECK_RETENTION_DAYS`` (default 400) — update checks older than this are deleted
  (billing needs the last months; 400 days cover a year and its invoice run).
* ``ALPHASMS_VENDOR_SUPPORT_RETENTION_DAYS`` (default 30) — a support backup is deleted this long after
  it arrived unless its case was closed earlier.
* ``ALPHASMS_VENDOR_SUPPORT_MAX_MB`` (default 512) — largest support backup accepted.
* ``ALPHASMS_VENDOR_PURGE_INTERVAL_S`` (default 300) — how often the running server applies both
  retention rules.
* ``ALPHASMS_VENDOR_SIGNING_KEY_FILE`` / ``ALPHASMS_VENDOR_AGE_IDENTITY_FILE`` — the Ed25519 signing key
  and the age identity (generated into the data directory with mode 0600 on first use when absent).
* ``ALPHASMS_VENDOR_ALLOWED_HOSTS`` (default loopback names) and ``ALPHASMS_VENDOR_TRUSTED_PROXY`` (the
  address of a reverse proxy whose ``X-Forwarded-For`` gives the client IP).
* ``ALPHASMS_VENDOR_COUNT_CONNECTIONS`` — when true, the server writes the number of TCP connections it
  accepted to ``connections.count`` in the data directory (tests prove that nothing phones home).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
import platformdirs

# Not the client's settings module: importing that would create the client's data folder.
from alphasms.envconf import env, env_bool, env_int, env_or_generated_secret

django_stubs_ext.monkeypatch()


DATA_DIR = Path(
    env("ALPHASMS_VENDOR_DATA_DIR") or platformdirs.user_data_dir("alphasms-vendor", appauthor=False)
)
DATA_DIR.mkdir(parents=True, exist_ok=True)


# Django's own secret (unused by the API, required by Django): env, else a file in the data dir.
SECRET_KEY = env_or_generated_secret("ALPHASMS_VENDOR_SECRET_KEY", DATA_DIR / "django_secret_key")
DEBUG = env_bool("ALPHASMS_VENDOR_DEBUG")
ALLOWED_HOSTS = [
    h for h in env("ALPHASMS_VENDOR_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",") if h.strip()
]

INSTALLED_APPS = ["django.contrib.contenttypes", "alphasms.vendor_server"]
MIDDLEWARE = ["django.middleware.security.SecurityMiddleware"]
ROOT_URLCONF = "alphasms.vendor_server.urls"
TEMPLATES: list[dict[str, Any]] = []
WSGI_APPLICATION = None


def _databases() -> dict[str, Any]:
    """``ALPHASMS_VENDOR_DATABASE_URL`` when set; otherwise SQLite (WAL, synchronous=FULL: a billing
    record or a deletion receipt lost in a power cut is not acceptable) in the data directory."""
    url = env("ALPHASMS_VENDOR_DATABASE_URL")
    if url:
        return {"default": dict(dj_database_url.parse(url, conn_max_age=60))}
    return {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "vendor.sqlite3"),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
            },
        }
    }


DATABASES = _databases()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024  # an update check is four short strings; backups are streamed
USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = False
LANGUAGE_CODE = "en"

ALPHASMS_VENDOR = {
    "CHECK_RETENTION_DAYS": env_int("ALPHASMS_VENDOR_CHECK_RETENTION_DAYS", 400),
    "SUPPORT_RETENTION_DAYS": env_int("ALPHASMS_VENDOR_SUPPORT_RETENTION_DAYS", 30),
    "SUPPORT_MAX_BYTES": env_int("ALPHASMS_VENDOR_SUPPORT_MAX_MB", 512) * 1024 * 1024,
    "SUPPORT_DIR": env("ALPHASMS_VENDOR_SUPPORT_DIR") or str(DATA_DIR / "support"),
    "PURGE_INTERVAL_S": env_int("ALPHASMS_VENDOR_PURGE_INTERVAL_S", 300),
    "SIGNING_KEY_FILE": env("ALPHASMS_VENDOR_SIGNING_KEY_FILE") or str(DATA_DIR / "signing_key.txt"),
    "AGE_IDENTITY_FILE": env("ALPHASMS_VENDOR_AGE_IDENTITY_FILE") or str(DATA_DIR / "age_identity.txt"),
    "TRUSTED_PROXY": env("ALPHASMS_VENDOR_TRUSTED_PROXY"),
    "COUNT_CONNECTIONS": env_bool("ALPHASMS_VENDOR_COUNT_CONNECTIONS"),
    "DATA_DIR": str(DATA_DIR),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {"alphasms": {"handlers": ["console"], "level": env("ALPHASMS_LOG_LEVEL", "INFO")}},
}
