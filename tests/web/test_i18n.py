"""Every template string (and every gettext string of the web app's Python code) has a German and an
English translation; the compiled catalogs match their sources."""

from __future__ import annotations

from alphasms.web import i18n


def test_every_template_string_has_a_german_and_an_english_translation():
    messages = i18n.extract()
    assert len(messages) > 50  # the extractor found the web app's strings
    assert {"Sign in", "Dashboard", "%(counter)s appointment"} <= {m.key for m in messages}
    problems = i18n.problems(messages)
    assert problems == [], "untranslated (fix the .po files, see alphasms/web/i18n.py):\n" + "\n".join(
        problems
    )


def test_the_compiled_catalogs_are_up_to_date():
    for language in i18n.LANGUAGES:
        mo = i18n.po_path(language).with_suffix(".mo")
        assert mo.read_bytes() == i18n.compiled(language), (
            f"{mo} is out of date: run `python -m alphasms.web.i18n compile`"
        )


def test_a_missing_or_fuzzy_translation_is_named(tmp_path, monkeypatch):
    template = tmp_path / "app" / "templates" / "x.html"
    template.parent.mkdir(parents=True)
    template.write_text('{% load i18n %}{% translate "Sign in" %}{% translate "Nowhere translated" %}')
    catalogs = {language: i18n.load(language) for language in i18n.LANGUAGES}
    catalogs["de"]["Sign in"].flags.add("fuzzy")
    monkeypatch.setattr(i18n, "PACKAGE", tmp_path / "app")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path / "locale")
    monkeypatch.setattr(i18n, "PYTHON_DIRS", ())
    for language, catalog in catalogs.items():
        i18n._write_po(language, catalog)
    assert i18n.problems(i18n.extract()) == [
        "de: fuzzy: 'Sign in' (app/templates/x.html:1)",
        "de: missing: 'Nowhere translated' (app/templates/x.html:1)",
        "en: missing: 'Nowhere translated' (app/templates/x.html:1)",
    ]
