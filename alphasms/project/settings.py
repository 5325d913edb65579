"""Django settings for AlphaSMS, read from environment variables.

Every setting a user may change is an environment variable documented in README.md ("Settings").
Secrets also accept ``NAME_FILE`` (the path of a file holding the value), as hc's ``envsecret`` does.
The embedded default needs none of them: SQLite in WAL mode in the per-user data directory, the
``outbox`` SMS gateway and a local mail sink on 127.0.0.1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
import platformdirs

from alphasms.envconf import env as env
from alphasms.envconf import env_bool as env_bool
from alphasms.envconf import env_int as env_int
from alphasms.envconf import env_or_generated_secret

django_stubs_ext.monkeypatch()  # lets admin and querysets be subscripted for mypy (ModelAdmin[Model])


BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env("ALPHASMS_DATA_DIR") or platformdirs.user_data_dir("alphasms", appauthor=False))
DATA_DIR.mkdir(parents=True, exist_ok=True)


# The signing key: ALPHASMS_SECRET_KEY, else one generated once and kept in the data directory.
SECRET_KEY = env_or_generated_secret("ALPHASMS_SECRET_KEY", DATA_DIR / "secret_key")
DEBUG = env_bool("ALPHASMS_DEBUG")
ALLOWED_HOSTS = [h for h in env("ALPHASMS_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "alphasms.appointments",
    "alphasms.messaging",
    "alphasms.privacy",
    "alphasms.licensing",
    "alphasms.support",
    "alphasms.credentials",
    "django_otp",
    "alphasms.web.admin_apps.TotpConfig",  # django_otp.plugins.otp_totp, named for the admin
    "alphasms.web.admin_apps.AxesConfig",  # axes, named for the admin
    "alphasms.web",
    "django_tasks",
    "alphasms.web.admin_apps.TasksConfig",  # django_tasks_db, named for the admin
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "alphasms.web.middleware.SessionMaxAgeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: turns a lockout into its page
]

ROOT_URLCONF = "alphasms.project.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
WSGI_APPLICATION = "alphasms.project.wsgi.application"


def _databases() -> dict[str, Any]:
    """PostgreSQL when DATABASE_URL is set; otherwise SQLite in WAL mode in the data directory.

    SQLite runs with ``synchronous=FULL`` (a "sent" mark lost in a power cut means a duplicate SMS),
    ``BEGIN IMMEDIATE`` transactions (the claim of due messages takes the write lock at once, so two
    workers never read the same rows as free) and a busy timeout instead of "database is locked".
    """
    url = env("DATABASE_URL")
    if url:
        config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
        if config["ENGINE"] == "django.db.backends.postgresql":
            config.setdefault("TEST", {})["NAME"] = env("ALPHASMS_TEST_DATABASE", "test_alphasms")
        return {"default": config}
    return {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "alphasms.sqlite3"),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
            },
        }
    }


DATABASES = _databases()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = env("ALPHASMS_LANGUAGE", "de")
LANGUAGES = [("de", "Deutsch"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Storage is always UTC (USE_TZ); TIME_ZONE is only how the admin shows and reads times.
TIME_ZONE = env("ALPHASMS_TIME_ZONE", "Europe/Berlin")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns about a missing folder before collectstatic ran
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Background jobs (Django's Tasks API through the django-tasks backport) ---
# Imports (and other long work) are queued in the database (django-tasks-db) and run by the worker
# process (alphasms.jobs, started by `alphasms worker` and `alphasms run`), never one job per message.
# Tests switch to the immediate backend with override_settings(TASKS=…) where they want it inline.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# --- E-mail (Django's SMTP backend; `alphasms run` starts a local sink when no host is set) ---
EMAIL_BACKEND = "alphasms.messaging.email.SmtpUtf8EmailBackend"
EMAIL_HOST = env("ALPHASMS_SMTP_HOST", "127.0.0.1")
EMAIL_PORT = env_int("ALPHASMS_SMTP_PORT", 8025)
EMAIL_HOST_USER = env("ALPHASMS_SMTP_USER")
EMAIL_HOST_PASSWORD = env("ALPHASMS_SMTP_PASSWORD")
EMAIL_USE_TLS = env_bool("ALPHASMS_SMTP_STARTTLS")
EMAIL_USE_SSL = env_bool("ALPHASMS_SMTP_SSL")
EMAIL_TIMEOUT = env_int("ALPHASMS_SMTP_TIMEOUT_S", 30)
DEFAULT_FROM_EMAIL = env("ALPHASMS_MAIL_FROM", "Praxis <termine@praxis.example>")

# --- AlphaSMS ---
ALPHASMS = {
    "SMS_GATEWAY": env("ALPHASMS_SMS_GATEWAY", "outbox"),
    "OUTBOX_DIR": env("ALPHASMS_OUTBOX_DIR") or str(DATA_DIR / "outbox"),
    "MAIL_SINK": env_bool("ALPHASMS_MAIL_SINK", default=not env("ALPHASMS_SMTP_HOST")),
    "MAIL_SINK_DIR": str(DATA_DIR / "mail"),
    "SEVENIO_API_KEY": env("ALPHASMS_SEVENIO_API_KEY"),
    "SEVENIO_BASE_URL": env("ALPHASMS_SEVENIO_BASE_URL", "https://gateway.seven.io/api"),
    "SEVENIO_SIGNING_SECRET": env("ALPHASMS_SEVENIO_SIGNING_SECRET"),
    "SMS_SENDER_ID": env("ALPHASMS_SMS_SENDER_ID"),
    "SMS_SENDER_NUMBER": env("ALPHASMS_SMS_SENDER_NUMBER"),
    "SMS_SENDER_REGISTERED_IN": [
        c.strip().upper() for c in env("ALPHASMS_SMS_SENDER_REGISTERED_IN").split(",") if c.strip()
    ],
    "PUBLIC_URL": env("ALPHASMS_PUBLIC_URL", "http://127.0.0.1:8000"),
    "PLANNING_HORIZON_DAYS": env_int("ALPHASMS_PLANNING_HORIZON_DAYS", 60),
    "WORKER_POLL_S": env_int("ALPHASMS_WORKER_POLL_S", 5),
    "WORKER_BATCH": env_int("ALPHASMS_WORKER_BATCH", 100),
    "WORKER_CONCURRENCY": env_int("ALPHASMS_WORKER_CONCURRENCY", 4),
    "LEASE_S": env_int("ALPHASMS_LEASE_S", 120),
    "MAX_ATTEMPTS": env_int("ALPHASMS_MAX_ATTEMPTS", 6),
    "HTTP_TIMEOUT_S": env_int("ALPHASMS_HTTP_TIMEOUT_S", 15),
    "ALLOWED_PRIVATE_HOSTS": [h for h in env("ALPHASMS_ALLOWED_PRIVATE_HOSTS").split(",") if h],
    "SAMPLE_DATA": env_bool("ALPHASMS_SAMPLE_DATA", default=True),
    "STATISTICS": env_bool("ALPHASMS_STATISTICS"),
    # Retention in days (0 = rule off); enforced daily by the worker and by `alphasms privacy purge`.
    "RETENTION_MESSAGE_TEXT_DAYS": env_int("ALPHASMS_RETENTION_MESSAGE_TEXT_DAYS", 90),
    "RETENTION_DELIVERY_REPORTS_DAYS": env_int("ALPHASMS_RETENTION_DELIVERY_REPORTS_DAYS", 30),
    "RETENTION_APPOINTMENTS_DAYS": env_int("ALPHASMS_RETENTION_APPOINTMENTS_DAYS", 180),
    "RETENTION_INACTIVE_CUSTOMERS_DAYS": env_int("ALPHASMS_RETENTION_INACTIVE_CUSTOMERS_DAYS", 1095),
    # Licensing and the manual update check (alphasms.licensing); "" = the keys shipped in vendor_keys.py.
    "VENDOR_URL": env("ALPHASMS_VENDOR_URL", "https://update.alphasms.de"),
    "VENDOR_SIGNING_PUBLIC_KEY": env("ALPHASMS_VENDOR_SIGNING_PUBLIC_KEY"),
    "VENDOR_AGE_RECIPIENT": env("ALPHASMS_VENDOR_AGE_RECIPIENT"),
    "EVALUATION_MONTHLY_LIMIT": env_int("ALPHASMS_EVALUATION_MONTHLY_LIMIT", 50),
}

# --- Staff web app (issue 5): sign-in, sessions, and the production switch (alphasms/web/) ---
# Argon2id first (new and changed passwords); the others only verify old hashes and upgrade them.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses while locked out, counts failures
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "web:login"
# django-axes: N wrong passwords for one user name from one address block that pair for M minutes
# (a colleague's typos at the shared reception PC do not lock everyone out). REMOTE_ADDR only: behind a
# reverse proxy set AXES_IPWARE_* in a settings module of your own, never trust X-Forwarded-For blindly.
AXES_FAILURE_LIMIT = env_int("ALPHASMS_SIGNIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("ALPHASMS_SIGNIN_LOCKOUT_MIN", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "alphasms.web.views.lockout.lockout"
AXES_VERBOSE = False  # axes would log user names; ours log ids only
OTP_TOTP_ISSUER = "AlphaSMS"
# Idle timeout: the session ends after SESSION_COOKIE_AGE seconds without a request; every request
# renews it. The absolute limit since sign-in is ALPHASMS["SESSION_MAX_AGE_S"] (alphasms.web.middleware).
SESSION_COOKIE_AGE = env_int("ALPHASMS_SESSION_IDLE_S", 30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600  # the language chosen in the web app is remembered for a year
LANGUAGE_COOKIE_SAMESITE = "Lax"
ALPHASMS["SESSION_MAX_AGE_S"] = env_int("ALPHASMS_SESSION_MAX_S", 12 * 3600)

# ALPHASMS_PRODUCTION=1: served over HTTPS (directly or behind a TLS-terminating proxy); `manage.py check
# --deploy` is clean. Cookies are Secure and __Host- prefixed (no Domain, Path=/, HTTPS only: a sibling
# subdomain cannot set or read them), HSTS for a year, HTTP redirected to HTTPS.
PRODUCTION = env_bool("ALPHASMS_PRODUCTION")
if PRODUCTION:
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = LANGUAGE_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SECURE_SSL_REDIRECT = env_bool("ALPHASMS_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env_int("ALPHASMS_HSTS_SECONDS", 365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("ALPHASMS_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env_bool("ALPHASMS_HSTS_PRELOAD", default=True)
    if env_bool("ALPHASMS_BEHIND_PROXY"):  # the proxy sets X-Forwarded-Proto and strips it from clients
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    _public_url = env("ALPHASMS_PUBLIC_URL")
    CSRF_TRUSTED_ORIGINS = [_public_url] if _public_url.startswith("https://") else []

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {"alphasms": {"handlers": ["console"], "level": env("ALPHASMS_LOG_LEVEL", "INFO")}},
}
