"""Names of third-party apps (and their models) in the admin for owners, in German and English.

The apps' own configs show "AXES", "OTP_TOTP", "TOTP devices" and "TASKS DATABASE BACKEND". These
subclasses (named in ``INSTALLED_APPS`` instead of the package paths; same app labels, so nothing
changes in the database) give them readable names. Model names are set on ``_meta`` in ``ready()``:
``verbose_name`` only, which migrations do not see (they read ``Meta``'s ``original_attrs``).
"""

from __future__ import annotations

from axes.apps import AppConfig as AxesAppConfig
from django.db.models import Model
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.apps import DefaultConfig as TotpAppConfig
from django_tasks_db.apps import TasksAppConfig


def _rename(model: type[Model], singular: Promise, plural: Promise) -> None:
    model._meta.verbose_name = singular  # type: ignore[assignment]
    model._meta.verbose_name_plural = plural  # type: ignore[assignment]


class AxesConfig(AxesAppConfig):  # type: ignore[misc]  # axes has no type hints
    """django-axes (failed sign-ins and lockouts): kept for owners, who unlock people there."""

    verbose_name = _("Sign-in protection")


class TotpConfig(TotpAppConfig):  # type: ignore[misc]  # django-otp has no type hints
    """django-otp's TOTP devices: the authenticator apps of the second factor."""

    verbose_name = _("Two-factor sign-in")

    def ready(self) -> None:
        super().ready()
        _rename(self.get_model("TOTPDevice"), _("authenticator app"), _("authenticator apps"))


class TasksConfig(TasksAppConfig):
    """django-tasks' database backend: the background jobs (imports, bulk resends) and their results."""

    verbose_name = _("Background tasks")  # type: ignore[assignment]  # lazy, as Django allows

    def ready(self) -> None:
        super().ready()
        _rename(self.get_model("DBTaskResult"), _("task result"), _("task results"))
