"""Translation catalogs of the staff web app, without GNU gettext (works on Windows too).

Convention: **msgids are English**; ``alphasms/locale/de/LC_MESSAGES/django.po`` holds the German texts
and ``alphasms/locale/en/…`` the English ones (msgstr = msgid, so a missing entry is visible as missing
rather than silently falling back). The compiled ``.mo`` files are committed beside the ``.po`` files, so
a fresh clone needs no compile step; a test fails when a ``.mo`` is out of date. (Older apps use German
msgids in model labels; the web app shows its own English-msgid labels for those values.)

Strings come from every ``{% translate %}``/``{% trans %}``/``{% blocktranslate %}`` in the templates under
``alphasms/`` (through Django's ``templatize``, exactly as ``makemessages`` reads them) and from
gettext calls in ``alphasms/web/`` Python code (Babel's extractor).

    python -m alphasms.web.i18n check     # list strings missing, empty or fuzzy in a catalog (exit 1)
    python -m alphasms.web.i18n update    # add missing msgids (English filled in, German left empty)
    python -m alphasms.web.i18n compile   # write the .mo files from the .po files
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file, extract_python
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

PACKAGE = Path(__file__).resolve().parent.parent
LOCALE_DIR = PACKAGE / "locale"
LANGUAGES = ("de", "en")
PYTHON_DIRS = (PACKAGE / "web",)
KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}


@dataclass(frozen=True)
class Message:
    """One translatable string: ``msgid`` (a tuple (singular, plural) for plurals), its context and
    where it was found (path relative to the package, line)."""

    msgid: str | tuple[str, str]
    context: str | None
    where: str

    @property
    def key(self) -> str:
        """The singular msgid, as catalogs index it."""
        return self.msgid[0] if isinstance(self.msgid, tuple) else self.msgid


def po_path(language: str) -> Path:
    """``alphasms/locale/<language>/LC_MESSAGES/django.po``."""
    return LOCALE_DIR / language / "LC_MESSAGES" / "django.po"


def template_files() -> Iterator[Path]:
    """Every Django template under ``alphasms/`` (``templates/`` folders; .html and .txt)."""
    for path in sorted(PACKAGE.rglob("templates/**/*")):
        if path.suffix in {".html", ".txt"} and path.is_file():
            yield path


def extract() -> list[Message]:
    """All translatable strings of the templates and of the web app's Python code."""
    from django.utils.translation.template import templatize

    found: list[Message] = []
    for path in template_files():
        source = path.read_text(encoding="utf-8")
        if "{% load" not in source or "i18n" not in source:
            continue
        # templatize blanks out everything but the gettext calls (repr strings, one line each) and
        # keeps line numbers; its indentation is not Python's, so lines are left-stripped.
        python = "\n".join(line.lstrip() for line in templatize(source, origin=str(path)).splitlines())
        found += _from_python(io.BytesIO(python.encode("utf-8")), path)
    for folder in PYTHON_DIRS:
        for path in sorted(folder.rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for line, msgid, _comments, context in extract_from_file("python", str(path), keywords=KEYWORDS):
                found.append(Message(_msgid(msgid), context, f"{_rel(path)}:{line}"))
    return found


def _from_python(fileobj: io.BytesIO, path: Path) -> list[Message]:
    messages = []
    for line, _func, msgid, _comments in extract_python(fileobj, KEYWORDS, [], {}):
        context = None
        if isinstance(msgid, tuple) and _func in {"pgettext", "npgettext"}:
            context, msgid = msgid[0], (msgid[1:] if len(msgid) > 2 else msgid[1])
        messages.append(Message(_msgid(msgid), context, f"{_rel(path)}:{line}"))
    return messages


def _msgid(value: str | list[str] | tuple[str | None, ...]) -> str | tuple[str, str]:
    if isinstance(value, tuple | list):
        parts = [str(v) for v in value if v is not None]
        return (parts[0], parts[1]) if len(parts) > 1 else parts[0]
    return value


def _rel(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


def load(language: str) -> Catalog:
    """The catalog of ``language`` (an empty one when the file does not exist yet)."""
    path = po_path(language)
    if not path.exists():
        return Catalog(locale=language, project="AlphaSMS", fuzzy=False)
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


def problems(messages: list[Message] | None = None) -> list[str]:
    """One line per string that is missing, empty or fuzzy in a catalog, naming language and place."""
    messages = extract() if messages is None else messages
    found = []
    for language in LANGUAGES:
        catalog = load(language)
        for message in messages:
            entry = catalog.get(message.key, context=message.context)
            if entry is None:
                state = "missing"
            elif entry.fuzzy:
                state = "fuzzy"
            elif not all(entry.string) if isinstance(entry.string, tuple | list) else not entry.string:
                state = "empty"
            else:
                continue
            found.append(f"{language}: {state}: {message.key!r} ({message.where})")
    return sorted(set(found))


def update() -> int:
    """Add every extracted msgid missing from a catalog; English gets msgstr = msgid, German stays
    empty for a translator. Returns the number of entries added. Side effect: rewrites the .po files."""
    messages = extract()
    added = 0
    for language in LANGUAGES:
        catalog = load(language)
        for message in messages:
            if catalog.get(message.key, context=message.context) is not None:
                continue
            string: str | tuple[str, str] = "" if language != "en" else message.msgid
            if language != "en" and isinstance(message.msgid, tuple):
                string = ("", "")
            catalog.add(message.msgid, string, context=message.context, flags=_flags(message))
            added += 1
        _write_po(language, catalog)
    return added


def _flags(message: Message) -> tuple[str, ...]:
    return ("python-format",) if "%(" in "".join(message.msgid) else ()


def _write_po(language: str, catalog: Catalog) -> None:
    path = po_path(language)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=0, no_location=True, sort_output=True, omit_header=False)
    path.write_bytes(buffer.getvalue())


def compiled(language: str) -> bytes:
    """The .mo bytes for ``language``'s .po file (fuzzy entries left out, as msgfmt does)."""
    buffer = io.BytesIO()
    write_mo(buffer, load(language), use_fuzzy=False)
    return buffer.getvalue()


def compile_all() -> list[Path]:
    """Write every catalog's .mo beside its .po. Returns the paths written."""
    written = []
    for language in LANGUAGES:
        target = po_path(language).with_suffix(".mo")
        target.write_bytes(compiled(language))
        written.append(target)
    return written


def main(argv: list[str]) -> int:
    import django

    django.setup()
    command = argv[0] if argv else "check"
    if command == "update":
        print(f"{update()} entries added; translate the empty German ones, then run `compile`.")
        return 0
    if command == "compile":
        for path in compile_all():
            print(f"wrote {_rel(path)}")
        return 0
    if command == "check":
        found = problems()
        print("\n".join(found) or "all strings translated")
        return 1 if found else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alphasms.project.settings")
    sys.exit(main(sys.argv[1:]))
