"""``manage.py check --deploy`` is clean with the production settings (ALPHASMS_PRODUCTION=1)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path, production: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALPHASMS_", "DJANGO_"))}
    env.update(
        ALPHASMS_DATA_DIR=str(tmp_path),
        ALPHASMS_ALLOWED_HOSTS="termine.praxis.example",
        ALPHASMS_PUBLIC_URL="https://termine.praxis.example",
        DJANGO_SETTINGS_MODULE="alphasms.project.settings",
    )
    if production:
        env["ALPHASMS_PRODUCTION"] = "1"
    return env


def _check_deploy(tmp_path: Path, production: bool) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_env(tmp_path, production),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_has_no_warnings_with_the_production_settings(tmp_path):
    result = _check_deploy(tmp_path, production=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_without_the_production_switch_check_deploy_names_what_is_missing(tmp_path):
    result = _check_deploy(tmp_path, production=False)
    assert result.returncode == 1
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in result.stderr  # HSTS, SSL redirect, secure session and CSRF cookies


def test_production_cookies_are_secure_and_host_prefixed(tmp_path):
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; print(json.dumps("
        "[s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SESSION_COOKIE_HTTPONLY, s.SECURE_HSTS_SECONDS, s.CSRF_TRUSTED_ORIGINS, s.SESSION_COOKIE_AGE, "
        "s.SESSION_SAVE_EVERY_REQUEST, s.PASSWORD_HASHERS[0]]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=_env(tmp_path, True), capture_output=True, text=True
    )
    assert json.loads(result.stdout) == [
        "__Host-sessionid",
        "__Host-csrftoken",
        True,
        True,
        True,
        31536000,
        ["https://termine.praxis.example"],
        1800,
        True,
        "django.contrib.auth.hashers.Argon2PasswordHasher",
    ]
