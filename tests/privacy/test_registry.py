"""DESIGN.md invariant 9: every model that holds personal data is in the privacy registry.

A model holds personal data when a field's name looks like a name, number or address, or when it points
at a customer — directly or through a registered model (a report → its attempt → its message). Each such
model must be registered (exporter and eraser) or listed in NOT_PERSONAL with a reason.
"""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.db import models

from alphasms.appointments.models import Customer
from alphasms.privacy.registry import NOT_PERSONAL, REGISTRY
from tests.privacy.people import populate

PERSONAL_FIELD = re.compile(
    r"name|phone|mobile|msisdn|e164|mail|recipient|address|street|city|postal|zip|birth|contact|repr",
    re.IGNORECASE,
)


def label(model: type[models.Model]) -> str:
    return model._meta.label_lower


def related_models(model: type[models.Model]) -> set[str]:
    """Labels of the models ``model`` points at (foreign key, one-to-one, many-to-many)."""
    return {
        label(field.related_model)
        for field in model._meta.get_fields()
        if field.is_relation
        and (field.many_to_one or field.one_to_one or field.many_to_many)
        and not field.auto_created
        and field.related_model is not None
        and isinstance(field.related_model, type)
    }


def personal_fields(model: type[models.Model]) -> list[str]:
    return [f.name for f in model._meta.get_fields() if not f.is_relation and PERSONAL_FIELD.search(f.name)]


def models_with_personal_data() -> dict[str, str]:
    """Label → why it holds personal data, for every installed model (fixed point over relations)."""
    found = {label(Customer): "is the person"}
    for model in apps.get_models():
        if fields := personal_fields(model):
            found.setdefault(label(model), f"fields {', '.join(fields)}")
    changed = True
    while changed:  # a model pointing at a registered or personal model is linked to the person
        changed = False
        linked = (set(found) - set(NOT_PERSONAL)) | set(REGISTRY)  # staff and practice data do not link
        for model in apps.get_models():
            if label(model) not in found and (targets := related_models(model) & linked):
                found[label(model)] = f"points at {', '.join(sorted(targets))}"
                changed = True
    return found


def test_every_model_with_personal_data_is_registered_or_explained():
    missing = {
        name: why
        for name, why in models_with_personal_data().items()
        if name not in REGISTRY and name not in NOT_PERSONAL
    }
    assert not missing, (
        "models with personal data need an exporter and an eraser in alphasms/privacy/registry.py "
        f"(or a reason in NOT_PERSONAL): {missing}"
    )


def test_the_check_finds_unregistered_models_with_a_phone_field_or_a_link_to_a_person():
    class Pager(models.Model):  # noqa: DJ008
        pager_phone = models.CharField(max_length=20)

        class Meta:
            app_label = "privacy"

    class Remark(models.Model):  # noqa: DJ008 — no personal field, but about a message, so about a person
        message = models.ForeignKey("messaging.OutboundMessage", on_delete=models.CASCADE)
        text = models.TextField()

        class Meta:
            app_label = "privacy"

    try:
        found = models_with_personal_data()
        assert "privacy.pager" in found and "privacy.remark" in found
    finally:
        for name in ("pager", "remark"):
            del apps.all_models["privacy"][name]
        apps.clear_cache()


def test_an_exempt_model_never_points_at_a_person():
    for name in NOT_PERSONAL:
        model = apps.get_model(name)
        assert not related_models(model) & (set(REGISTRY) | {label(Customer)}), name
    assert not set(NOT_PERSONAL) & set(REGISTRY)


def test_registered_labels_are_installed_models_and_parents_are_erased_after_children():
    order = list(REGISTRY)
    for name, registration in REGISTRY.items():
        assert apps.get_model(name) is registration.model
        for target in related_models(registration.model) & set(REGISTRY):
            assert order.index(target) > order.index(name), f"{name} must be erased before {target}"
    assert order[-1] == label(Customer)


@pytest.mark.django_db
def test_every_exporter_returns_every_field_of_every_row_of_the_person(alphasms_settings, location):
    person, _ = populate(location)
    for name, registration in REGISTRY.items():
        rows = registration.exporter(person)
        assert rows, f"the fixture should give {name} at least one row"
        columns = {field.attname for field in registration.model._meta.concrete_fields}
        assert all(set(row) == columns for row in rows), name
