"""URLs of the staff web app, mounted at ``/`` (namespace ``web``). One line per page; the navigation
(``templatetags/web.py``, ``NAV``) shows a page once its URL name exists here."""

from __future__ import annotations

from django.urls import path
from django.views.i18n import set_language

from alphasms.web.views import account, auth, dashboard
from alphasms.web.views import appointments as appointment_views
from alphasms.web.views import customers as customer_views
from alphasms.web.views import imports as imports_views
from alphasms.web.views import messages as message_views
from alphasms.web.views import rules as rule_views
from alphasms.web.views import settings_gateways as gateway_settings_views
from alphasms.web.views import settings_general as general_settings_views
from alphasms.web.views import settings_vendor as vendor_settings_views
from alphasms.web.views import tomorrow as tomorrow_views

app_name = "web"

urlpatterns = [
    path("", dashboard.dashboard_view, name="dashboard"),
    path("login/", auth.login_view, name="login"),
    path("login/code/", auth.totp_view, name="login_totp"),
    path("login/setup/", auth.setup_view, name="login_setup"),
    path("logout/", auth.logout_view, name="logout"),
    path("language/", set_language, name="set_language"),
    path("account/password/", account.password_change_view, name="password_change"),
    path("appointments/", appointment_views.list_view, name="appointments"),
    path("appointments/day/", appointment_views.day_view, name="appointments_day"),
    path("appointments/week/", appointment_views.week_view, name="appointments_week"),
    path("appointments/new/", appointment_views.create_view, name="appointment_new"),
    path(
        "appointments/customers/",
        appointment_views.customer_options_view,
        name="appointment_customer_options",
    ),
    path("appointments/<int:pk>/", appointment_views.detail_view, name="appointment"),
    path("appointments/<int:pk>/edit/", appointment_views.edit_view, name="appointment_edit"),
    path("appointments/<int:pk>/cancel/", appointment_views.cancel_view, name="appointment_cancel"),
    path("appointments/<int:pk>/no-show/", appointment_views.no_show_view, name="appointment_no_show"),
    path(
        "appointments/<int:pk>/reactivate/",
        appointment_views.reactivate_view,
        name="appointment_reactivate",
    ),
    path("customers/", customer_views.list_view, name="customers"),
    path("customers/new/", customer_views.create_view, name="customer_new"),
    path("customers/<int:pk>/", customer_views.detail_view, name="customer"),
    path("customers/<int:pk>/edit/", customer_views.edit_view, name="customer_edit"),
    path("customers/<int:pk>/consent/", customer_views.consent_view, name="customer_consent"),
    path("customers/<int:pk>/withdraw/", customer_views.withdraw_view, name="customer_withdraw"),
    path("imports/", imports_views.imports_view, name="imports"),
    path("imports/jobs/<str:job_id>/", imports_views.import_job_view, name="import_job"),
    path("imports/history/<int:pk>/", imports_views.import_record_view, name="import_record"),
    path("imports/jobs/<str:job_id>/progress/", imports_views.import_progress_view, name="import_progress"),
    path("imports/jobs/<str:job_id>/apply/", imports_views.import_apply_view, name="import_apply"),
    path("imports/jobs/<str:job_id>/discard/", imports_views.import_discard_view, name="import_discard"),
    path("imports/subscriptions/add/", imports_views.subscription_add_view, name="subscription_add"),
    path(
        "imports/subscriptions/<int:pk>/interval/",
        imports_views.subscription_interval_view,
        name="subscription_interval",
    ),
    path(
        "imports/subscriptions/<int:pk>/remove/",
        imports_views.subscription_delete_view,
        name="subscription_delete",
    ),
    path(
        "imports/subscriptions/<int:pk>/refresh/",
        imports_views.subscription_refresh_view,
        name="subscription_refresh",
    ),
    path("rules/", rule_views.rules_view, name="rules"),
    path("rules/new/", rule_views.rule_new_view, name="rule_new"),
    path("rules/preview/", rule_views.rule_preview_view, name="rule_preview"),
    path("rules/<int:rule_id>/", rule_views.rule_edit_view, name="rule_edit"),
    path("tomorrow/", tomorrow_views.tomorrow_view, name="tomorrow"),
    path("tomorrow/hold/", tomorrow_views.tomorrow_hold_view, name="tomorrow_hold"),
    path("tomorrow/release/", tomorrow_views.tomorrow_release_view, name="tomorrow_release"),
    path("messages/", message_views.messages_view, name="messages"),
    path("messages/<int:message_id>/", message_views.message_view, name="message"),
    path("messages/<int:message_id>/resend/", message_views.message_resend_view, name="message_resend"),
    path("messages/<int:message_id>/release/", message_views.message_release_view, name="message_release"),
    path("messages/bulk-resend/", message_views.messages_bulk_resend_view, name="messages_bulk_resend"),
    path(
        "messages/bulk-resend/<int:batch_id>/",
        message_views.messages_bulk_progress_view,
        name="messages_bulk_progress",
    ),
    path("settings/", general_settings_views.settings_view, name="settings"),
    path("settings/locations/new/", general_settings_views.location_view, name="settings_location_new"),
    path("settings/locations/<int:pk>/", general_settings_views.location_view, name="settings_location"),
    path("settings/prices/", general_settings_views.price_save_view, name="settings_price_save"),
    path(
        "settings/prices/<int:pk>/remove/",
        general_settings_views.price_delete_view,
        name="settings_price_delete",
    ),
    path("settings/users/", general_settings_views.user_create_view, name="settings_user_create"),
    path("settings/users/<int:pk>/role/", general_settings_views.user_role_view, name="settings_user_role"),
    path(
        "settings/users/<int:pk>/active/",
        general_settings_views.user_active_view,
        name="settings_user_active",
    ),
    path(
        "settings/users/<int:pk>/totp/",
        general_settings_views.user_totp_reset_view,
        name="settings_user_totp",
    ),
    path("settings/gateways/", gateway_settings_views.gateways_view, name="settings_gateways"),
    path(
        "settings/gateways/credential/",
        gateway_settings_views.credential_view,
        name="settings_gateway_credential",
    ),
    path("settings/gateways/test/", gateway_settings_views.test_view, name="settings_gateway_test"),
    path("settings/licence/", vendor_settings_views.licence_view, name="settings_licence"),
    path("settings/licence/update/", vendor_settings_views.update_check_view, name="settings_update_check"),
    path("settings/support/", vendor_settings_views.support_view, name="settings_support"),
    path(
        "settings/support/backup/", vendor_settings_views.support_backup_view, name="settings_support_backup"
    ),
    path(
        "settings/support/receipt/",
        vendor_settings_views.support_receipt_view,
        name="settings_support_receipt",
    ),
    path("settings/support/remote/", vendor_settings_views.remote_view, name="settings_remote"),
]
