"""SMS character encoding, length counting and segmentation, free of Django.

Sources:
- 3GPP TS 23.038 §6.2.1 (GSM 7-bit default alphabet) and §6.2.1.1 (default alphabet extension table);
- 3GPP TS 23.040 §9.2.3.24.1 (concatenated short messages, 8-bit reference number).

All lengths are in *units*: GSM-7 septets (an extension-table character costs 2 septets, the escape
0x1B plus its code) or UCS-2/UTF-16 code units (a character outside the BMP is a surrogate pair and
costs 2). Python ``len()`` is not a unit count.

Splitting never cuts an escape pair, a surrogate pair or an extended grapheme cluster (Unicode UAX #29,
via the ``regex`` package's ``\\X``). Only a single cluster longer than a whole part (e.g. a letter
with dozens of combining marks) is cut, between code points.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum

import regex

__all__ = [
    "CONCAT_UNITS",
    "REASONS_DE",
    "SINGLE_UNITS",
    "SMART_TABLE",
    "Replacement",
    "SegmentInfo",
    "SmsEncoding",
    "analyse",
    "concat_udh",
    "count_segments",
    "count_units",
    "encode_part",
    "is_gsm7",
    "reason_de",
    "smart_replace",
    "split_parts",
]


class SmsEncoding(StrEnum):
    """Data coding of an SMS body: GSM 7-bit default alphabet or UCS-2 (sent as UTF-16-BE)."""

    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


# TS 23.038 §6.2.1, indexed by septet value 0x00..0x7F. 0x1B is the escape to the extension table and
# is not a character of its own (the placeholder is removed from the mapping below).
_GSM_BASIC_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
_ESCAPE = 0x1B
_GSM_BASIC: dict[str, int] = {ch: code for code, ch in enumerate(_GSM_BASIC_TABLE) if code != _ESCAPE}
# TS 23.038 §6.2.1.1: characters reached by 0x1B followed by this code (2 septets each).
_GSM_EXTENSION: dict[str, int] = {
    "\f": 0x0A,
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}

#: Units in a single SMS without a User Data Header (140 octets of user data).
SINGLE_UNITS: dict[SmsEncoding, int] = {SmsEncoding.GSM7: 160, SmsEncoding.UCS2: 70}
#: Units per part of a concatenated SMS after the 6-octet concatenation UDH (TS 23.040 §9.2.3.24.1).
CONCAT_UNITS: dict[SmsEncoding, int] = {SmsEncoding.GSM7: 153, SmsEncoding.UCS2: 67}

_GRAPHEME = regex.compile(r"\X")


@dataclass(frozen=True)
class SegmentInfo:
    """Result of :func:`analyse`.

    - ``encoding``: the encoding a gateway must use for the whole message;
    - ``segments``: number of SMS parts billed (1 = single SMS without UDH), equal to ``len(parts)``;
    - ``units``: payload over all parts without UDH, in septets (GSM-7) or UTF-16 code units (UCS-2);
    - ``parts``: the texts of the parts, ``"".join(parts) == text``; ``("",)`` for an empty text;
    - ``non_gsm_chars``: the code points that forced UCS-2, in order of first appearance, deduplicated
      (empty for GSM-7).
    """

    encoding: SmsEncoding
    segments: int
    units: int
    parts: tuple[str, ...]
    non_gsm_chars: tuple[str, ...]


@dataclass(frozen=True)
class Replacement:
    """One change made by :func:`smart_replace`.

    ``position`` is the index (in Python code points) of ``original`` in the *input* text;
    ``replacement`` is what stands in the output instead (``""`` for a removed character).
    """

    position: int
    original: str
    replacement: str
    reason: str


def _is_gsm_char(ch: str) -> bool:
    return ch in _GSM_BASIC or ch in _GSM_EXTENSION


def is_gsm7(text: str) -> bool:
    """Return True if every character of ``text`` is in the GSM 03.38 default alphabet or its
    extension table (TS 23.038 §6.2.1, §6.2.1.1). The empty text is GSM-7. Raises nothing."""
    return all(_is_gsm_char(ch) for ch in text)


def _non_gsm_chars(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(ch for ch in text if not _is_gsm_char(ch)))


def _choose(text: str) -> SmsEncoding:
    return SmsEncoding.GSM7 if is_gsm7(text) else SmsEncoding.UCS2


def count_units(text: str, encoding: SmsEncoding) -> int:
    """Return the length of ``text`` in the units of ``encoding``.

    GSM-7: septets, extension-table characters count 2 (escape + code). UCS-2: UTF-16 code units,
    characters above U+FFFF count 2 (surrogate pair). Raises ValueError if ``encoding`` is GSM-7 and
    ``text`` holds a character GSM-7 cannot encode.
    """
    if encoding is SmsEncoding.UCS2:
        return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)
    bad = _non_gsm_chars(text)
    if bad:
        raise ValueError(f"not encodable in GSM-7: {bad!r}")
    return sum(2 if ch in _GSM_EXTENSION else 1 for ch in text)


def _atoms(text: str, encoding: SmsEncoding, limit: int) -> list[tuple[str, int]]:
    """Split ``text`` into indivisible (piece, units) pairs: grapheme clusters, or the code points of a
    cluster that alone exceeds ``limit`` (a code point is never cut, so neither is a surrogate pair or
    an escape pair)."""
    atoms: list[tuple[str, int]] = []
    for cluster in _GRAPHEME.findall(text):
        size = count_units(cluster, encoding)
        if size <= limit:
            atoms.append((cluster, size))
        else:
            atoms.extend((ch, count_units(ch, encoding)) for ch in cluster)
    return atoms


def _pack(text: str, encoding: SmsEncoding) -> tuple[str, ...]:
    limit = CONCAT_UNITS[encoding]
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for piece, size in _atoms(text, encoding, limit):
        if used + size > limit:
            parts.append("".join(current))
            current, used = [], 0
        current.append(piece)
        used += size
    parts.append("".join(current))
    return tuple(parts)


def split_parts(text: str, encoding: SmsEncoding | None = None) -> tuple[str, ...]:
    """Return the texts of the SMS parts of ``text`` (for gateways that submit parts themselves, e.g.
    SMPP). ``"".join(result) == text``.

    ``encoding`` defaults to the automatic choice (GSM-7 if :func:`is_gsm7`, else UCS-2). A text that
    fits a single SMS (160 septets / 70 code units) is one part; otherwise parts hold at most 153
    septets / 67 code units and a part ends early rather than cut an escape pair, a surrogate pair or
    a grapheme cluster. The empty text gives ``("",)``. Raises ValueError if ``encoding`` is GSM-7 and
    the text is not GSM-encodable.
    """
    enc = _choose(text) if encoding is None else encoding
    if count_units(text, enc) <= SINGLE_UNITS[enc]:
        return (text,)
    return _pack(text, enc)


def analyse(text: str) -> SegmentInfo:
    """Return encoding, segment count, units, part texts and the characters that forced UCS-2.

    Counting is in GSM-7 septets or UCS-2 code units, not Python characters; extension-table characters
    cost 2 septets, characters above U+FFFF cost 2 code units. Limits are 160/153 (GSM-7) and 70/67
    (UCS-2) per 3GPP TS 23.038 and TS 23.040. Raises nothing; an empty body is GSM-7, 1 segment,
    0 units, parts ``("",)``.
    """
    encoding = _choose(text)
    parts = split_parts(text, encoding)
    return SegmentInfo(
        encoding=encoding,
        segments=len(parts),
        units=count_units(text, encoding),
        parts=parts,
        non_gsm_chars=_non_gsm_chars(text),
    )


def count_segments(text: str) -> tuple[SmsEncoding, int]:
    """Return (encoding, segments) for an SMS body. Counting is in GSM-7 septets or UCS-2 code units,
    not Python characters; extension-table characters cost 2 septets. Limits are 160/153 (GSM-7) and
    70/67 (UCS-2) per 3GPP TS 23.038 and TS 23.040. Raises nothing; an empty body is (gsm7, 1)."""
    info = analyse(text)
    return info.encoding, info.segments


def encode_part(part: str, encoding: SmsEncoding) -> bytes:
    """Return the payload bytes of one part, without UDH.

    GSM-7: unpacked septets, one byte (0x00..0x7F) per septet, 0x1B before each extension-table code
    (TS 23.038 §6.2.1.1); packing into octets, and the 1 fill bit after a 6-octet UDH, is left to the
    gateway. UCS-2: UTF-16-BE, 2 bytes per code unit, no BOM. The part length is not checked. Raises
    ValueError for a character GSM-7 cannot encode.
    """
    if encoding is SmsEncoding.UCS2:
        return part.encode("utf-16-be", "surrogatepass")
    out = bytearray()
    for ch in part:
        if ch in _GSM_BASIC:
            out.append(_GSM_BASIC[ch])
        elif ch in _GSM_EXTENSION:
            out += bytes((_ESCAPE, _GSM_EXTENSION[ch]))
        else:
            raise ValueError(f"not encodable in GSM-7: {ch!r}")
    return bytes(out)


def concat_udh(reference: int, total: int, sequence: int) -> bytes:
    """Return the 6-octet User Data Header for part ``sequence`` of ``total`` (TS 23.040 §9.2.3.24.1):
    UDHL 0x05, IEI 0x00 (concatenated SM, 8-bit reference), IEDL 0x03, reference, total, sequence.

    ``reference`` is 0..255 and the same for all parts of one message; ``total`` is 1..255;
    ``sequence`` is 1..total. Raises ValueError outside these ranges.
    """
    if not 0 <= reference <= 0xFF:
        raise ValueError(f"reference must be 0..255, got {reference}")
    if not 1 <= total <= 0xFF:
        raise ValueError(f"total must be 1..255, got {total}")
    if not 1 <= sequence <= total:
        raise ValueError(f"sequence must be 1..{total}, got {sequence}")
    return bytes((0x05, 0x00, 0x03, reference, total, sequence))


_QUOTE, _DQUOTE, _DASH, _SPACE, _INVISIBLE = (
    "typographic single quote or prime",
    "typographic double quote, guillemet or double prime",
    "typographic dash or minus sign",
    "special space",
    "invisible character removed",
)
#: Typographic character -> (GSM replacement, reason). Letters are never transliterated.
SMART_TABLE: dict[str, tuple[str, str]] = {
    **{ch: ("'", _QUOTE) for ch in "\u2018\u2019\u201a\u201b\u2032"},
    **{ch: ('"', _DQUOTE) for ch in "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb"},
    **{ch: ("-", _DASH) for ch in "\u2010\u2011\u2012\u2013\u2014\u2212"},
    "\u2026": ("...", "horizontal ellipsis"),
    # no-break, narrow no-break, en/em/figure/punctuation/thin/hair and medium mathematical spaces
    **{ch: (" ", _SPACE) for ch in "\u00a0\u202f\u205f" + "".join(map(chr, range(0x2000, 0x200B)))},
    # soft hyphen, zero-width space, word joiner, BOM / zero-width no-break space. ZWJ (U+200D) and
    # ZWNJ (U+200C) are kept: they build emoji sequences and shape scripts, removing them changes meaning.
    **{ch: ("", _INVISIBLE) for ch in "\u00ad\u200b\u2060\ufeff"},
}
_NFC_REASON = "NFC normalisation (decomposed letter composed)"
#: German wording of the reasons above, for German output (``alphasms sms info --smart``).
REASONS_DE: dict[str, str] = {
    _QUOTE: "typografisches einfaches Anführungszeichen oder Minutenzeichen",
    _DQUOTE: "typografisches doppeltes Anführungszeichen, Guillemet oder Sekundenzeichen",
    _DASH: "typografischer Gedanken- oder Bindestrich oder Minuszeichen",
    "horizontal ellipsis": "Auslassungspunkte",
    _SPACE: "besonderes Leerzeichen",
    _INVISIBLE: "unsichtbares Zeichen entfernt",
    _NFC_REASON: "NFC-Normalisierung (zerlegter Buchstabe zusammengesetzt)",
}


def reason_de(reason: str) -> str:
    """A :class:`Replacement` reason in German (parts joined by "; " each translated; unknown ones kept)."""
    return "; ".join(REASONS_DE.get(part, part) for part in reason.split("; "))


def _replace_chars(cluster: str, start: int) -> tuple[str, list[Replacement]]:
    out: list[str] = []
    changes: list[Replacement] = []
    for offset, ch in enumerate(cluster):
        new, reason = SMART_TABLE.get(ch, (ch, ""))
        if reason:
            changes.append(Replacement(start + offset, ch, new, reason))
        out.append(new)
    return "".join(out), changes


def smart_replace(text: str, normalize_nfc: bool = True) -> tuple[str, tuple[Replacement, ...]]:
    """Return (new_text, replacements) with typographic characters replaced by GSM equivalents.

    Replaces the characters in ``SMART_TABLE`` (curly quotes and primes -> ``'`` or ``"``, dashes and
    minus -> ``-``, ellipsis -> ``...``, special spaces -> space) and removes soft hyphen, zero-width
    space, word joiner and BOM. With ``normalize_nfc`` the text is NFC-normalised first, per grapheme
    cluster, so a decomposed ``u`` + U+0308 becomes ``ü`` (which is GSM-7); such a cluster is reported
    as one Replacement of the whole cluster. Letters are never transliterated: ``ş``, ``ğ``, ``ı``,
    ``ł``, ``ż``, ``ç`` stay and the message goes UCS-2. ``position`` is the index in ``text``.
    The result need not be GSM-7; check it with :func:`analyse`. Raises nothing.
    """
    out: list[str] = []
    changes: list[Replacement] = []
    start = 0
    for cluster in _GRAPHEME.findall(text):
        composed = unicodedata.normalize("NFC", cluster) if normalize_nfc else cluster
        new, char_changes = _replace_chars(composed, start)
        if composed != cluster:
            reason = "; ".join([_NFC_REASON, *dict.fromkeys(c.reason for c in char_changes)])
            changes.append(Replacement(start, cluster, new, reason))
        else:
            changes.extend(char_changes)
        out.append(new)
        start += len(cluster)
    return "".join(out), tuple(changes)
