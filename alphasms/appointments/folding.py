"""Search keys: text folded so that a search ignores case, accents and the spelling of umlauts.

Framework-free (no Django import), used by ``Customer.search_key`` and by the searches that read it.
SQLite's LIKE ignores case for ASCII letters only, and PostgreSQL's collations differ between
installations; a stored, folded key makes "öztürk", "ÖZTÜRK", "Ozturk" and "Oeztuerk" find
"Ayşe Öztürk", and "gross"/"GROSS" find "Groß", identically on both databases.

Folding (``fold``): Unicode NFKC, case folding (``str.casefold``: "ß" → "ss", "ẞ" → "ss"), then every
letter decomposed (NFD) with its combining marks (diacritics) removed ("ş" → "s", "é" → "e",
"ö" → "o"), a few letters without a decomposition mapped by hand ("ø" → "o", "ł" → "l", "æ" → "ae",
"đ" → "d", "ı" → "i", "þ" → "th"), and runs of white space collapsed to one space.

German spells umlauts also as "ae", "oe", "ue" (DIN 5007-2 name sorting): ``name_key`` stores a
name in both forms ("ayse ozturk oeztuerk"), so a search folded with ``fold`` matches either spelling.
"""

from __future__ import annotations

import unicodedata

#: Letters with no Unicode decomposition, folded by hand (after casefold, so lower case only).
_LETTERS = str.maketrans(
    {"ø": "o", "ł": "l", "æ": "ae", "œ": "oe", "đ": "d", "ð": "d", "ı": "i", "þ": "th", "ħ": "h"}
)
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})
#: Separates the name part of a key from the e-mail part (never part of a folded search word).
SEPARATOR = "|"
#: Longest key stored (characters); the model field has this ``max_length``.
MAX_LENGTH = 1000


def fold(text: str) -> str:
    """``text`` in search form: case-folded, without diacritics, white space collapsed.

    "  ÖZTÜRK " → "ozturk"; "Groß" → "gross"; "Ayşe" → "ayse"; "" → "". Never raises."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return " ".join(text.translate(_LETTERS).split())


def fold_umlauts(text: str) -> str:
    """``text`` folded like ``fold`` but with the German umlauts spelt out: "Öztürk" → "oeztuerk",
    "Bäcker" → "baecker" (DIN 5007-2)."""
    text = unicodedata.normalize("NFC", unicodedata.normalize("NFKC", text).casefold())
    return fold(text.translate(_UMLAUTS))


def name_part(given_name: str, family_name: str) -> str:
    """The name part of a search key: the folded "given family" and, when the name has umlauts, the
    words spelt with "ae/oe/ue" that differ ("Ayşe Öztürk" → "ayse ozturk oeztuerk")."""
    plain = fold(f"{given_name} {family_name}")
    words = plain.split()
    spelt = [w for w in fold_umlauts(f"{given_name} {family_name}").split() if w not in words]
    return " ".join([*words, *spelt]).replace(SEPARATOR, " ")


def name_key(given_name: str, family_name: str, email: str = "") -> str:
    """The whole key stored on a customer: ``name_part``, ``SEPARATOR``, the folded e-mail address;
    at most ``MAX_LENGTH`` characters. "Jörg", "Bäcker", "J.Baecker@Example.org" →
    "jorg backer joerg baecker|j.baecker@example.org"."""
    return f"{name_part(given_name, family_name)}{SEPARATOR}{fold(email)}"[:MAX_LENGTH]


def search_words(text: str) -> list[str]:
    """The folded words of a search text, split at white space and commas, the separator dropped:
    "Groß, Jürgen" → ["gross", "jurgen"]."""
    return fold(text.replace(",", " ").replace(SEPARATOR, " ")).split()
