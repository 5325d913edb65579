"""Table-driven and property tests for alphasms.messaging.encoding (no Django needed)."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import regex
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from alphasms.messaging.encoding import (
    SMART_TABLE,
    Replacement,
    SmsEncoding,
    analyse,
    concat_udh,
    count_segments,
    count_units,
    encode_part,
    is_gsm7,
    smart_replace,
    split_parts,
)

GSM7, UCS2 = SmsEncoding.GSM7, SmsEncoding.UCS2
CASES_FILE = Path(__file__).resolve().parents[1] / "data" / "cases" / "sms_segments.json"

# --- Independent copy of 3GPP TS 23.038 §6.2.1 / §6.2.1.1 (septet -> Unicode code point), typed from the
# spec (same as unicode.org's GSM0338.TXT), not derived from the module under test.
_ASCII_SAME = [*range(0x20, 0x24), *range(0x25, 0x40), *range(0x41, 0x5B), *range(0x61, 0x7B)]
SPEC_BASIC: dict[int, int] = {
    **{0x00: 0x0040, 0x01: 0x00A3, 0x02: 0x0024, 0x03: 0x00A5, 0x04: 0x00E8, 0x05: 0x00E9, 0x06: 0x00F9},
    **{0x07: 0x00EC, 0x08: 0x00F2, 0x09: 0x00C7, 0x0A: 0x000A, 0x0B: 0x00D8, 0x0C: 0x00F8, 0x0D: 0x000D},
    **{0x0E: 0x00C5, 0x0F: 0x00E5, 0x10: 0x0394, 0x11: 0x005F, 0x12: 0x03A6, 0x13: 0x0393, 0x14: 0x039B},
    **{0x15: 0x03A9, 0x16: 0x03A0, 0x17: 0x03A8, 0x18: 0x03A3, 0x19: 0x0398, 0x1A: 0x039E},
    **{0x1C: 0x00C6, 0x1D: 0x00E6, 0x1E: 0x00DF, 0x1F: 0x00C9, 0x24: 0x00A4, 0x40: 0x00A1},
    **{0x5B: 0x00C4, 0x5C: 0x00D6, 0x5D: 0x00D1, 0x5E: 0x00DC, 0x5F: 0x00A7, 0x60: 0x00BF},
    **{0x7B: 0x00E4, 0x7C: 0x00F6, 0x7D: 0x00F1, 0x7E: 0x00FC, 0x7F: 0x00E0},
    **{code: code for code in _ASCII_SAME},
}
SPEC_EXTENSION: dict[int, int] = {
    **{0x0A: 0x000C, 0x14: 0x005E, 0x28: 0x007B, 0x29: 0x007D, 0x2F: 0x005C},
    **{0x3C: 0x005B, 0x3D: 0x007E, 0x3E: 0x005D, 0x40: 0x007C, 0x65: 0x20AC},
}
SPEC_GSM_CHARS = frozenset(map(chr, [*SPEC_BASIC.values(), *SPEC_EXTENSION.values()]))
SPEC_DECODE = {code: chr(cp) for code, cp in SPEC_BASIC.items()}
SPEC_DECODE_EXT = {code: chr(cp) for code, cp in SPEC_EXTENSION.items()}
LIMITS = {(GSM7, True): 160, (GSM7, False): 153, (UCS2, True): 70, (UCS2, False): 67}


def spec_is_gsm(text: str) -> bool:
    return all(ch in SPEC_GSM_CHARS for ch in text)


def spec_units(text: str) -> int:
    if spec_is_gsm(text):
        return sum(2 if ord(ch) in SPEC_EXTENSION.values() else 1 for ch in text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def spec_decode_gsm(payload: bytes) -> str:
    out, escaped = [], False
    for byte in payload:
        if escaped:
            out.append(SPEC_DECODE_EXT[byte])
            escaped = False
        elif byte == 0x1B:
            escaped = True
        else:
            out.append(SPEC_DECODE[byte])
    assert not escaped, "escape septet at the end of a part"
    return "".join(out)


def clusters(text: str) -> list[str]:
    return list(regex.findall(r"\X", text))


def test_spec_table_is_complete() -> None:
    assert len(SPEC_BASIC) == 127  # 128 septets minus the 0x1B escape
    assert len(SPEC_GSM_CHARS) == 137


# --- Table-driven: the reported vectors -------------------------------------------------------------------

with CASES_FILE.open("rb") as fh:  # treated as binary, see tests/data/cases/README.md
    VECTORS: list[dict[str, Any]] = json.loads(fh.read())


@pytest.mark.parametrize(
    "case", VECTORS, ids=[f"{i:02d}-{ascii(c['text'])[1:25]}" for i, c in enumerate(VECTORS)]
)
def test_vectors_from_cases_file(case: dict[str, Any]) -> None:
    info = analyse(case["text"])
    assert (info.encoding.value, info.segments, info.units) == (
        case["encoding"],
        case["segments"],
        case["units"],
    )
    assert count_segments(case["text"]) == (SmsEncoding(case["encoding"]), case["segments"])
    assert "".join(info.parts) == case["text"]


# --- Table-driven: hand-written traps ----------------------------------------------------------------------

A152, C66 = "a" * 152, "ç" * 66
TRAPS: list[tuple[str, str, SmsEncoding, int, int]] = [
    ("empty", "", GSM7, 1, 0),
    ("section sign is GSM", "§ 3", GSM7, 1, 3),
    ("backtick is not GSM", "`code`", UCS2, 1, 6),
    ("capital C cedilla is GSM", "ÇA", GSM7, 1, 2),
    ("small c cedilla is not GSM", "ça", UCS2, 1, 2),
    ("tab", "a\tb", UCS2, 1, 3),
    ("LF and CR are GSM", "a\r\nb\n", GSM7, 1, 5),
    ("form feed costs 2", "a\fb", GSM7, 1, 4),
    ("no-break space", "5.\xa0Mai", UCS2, 1, 6),
    ("narrow no-break space", "5\u202fkg", UCS2, 1, 4),
    ("soft hyphen", "Vor\xadsorge", UCS2, 1, 9),
    ("zero-width space", "Vor\u200bsorge", UCS2, 1, 9),
    ("BOM", "\ufeffHallo", UCS2, 1, 6),
    ("decomposed u umlaut", "Mu\u0308ller", UCS2, 1, 7),
    ("precomposed u umlaut", "Müller", GSM7, 1, 6),
    ("typographic apostrophe", "Anna’s", UCS2, 1, 6),
    ("en dash", "9–10", UCS2, 1, 4),
    ("euro costs 2", "€", GSM7, 1, 2),
    ("all extension chars", "€[]{}\\~^|\f", GSM7, 1, 20),
    ("Greek capitals of the table", "ΔΦΓΛΩΠΨΣΘΞ", GSM7, 1, 10),
    ("Greek small letters are not", "α", UCS2, 1, 1),
    ("currency sign vs dollar", "¤$£¥", GSM7, 1, 4),
    ("160 GSM chars", "a" * 160, GSM7, 1, 160),
    ("161 GSM chars", "a" * 161, GSM7, 2, 161),
    ("80 euros = 160 septets", "€" * 80, GSM7, 1, 160),
    ("159 chars + euro = 161", "a" * 159 + "€", GSM7, 2, 161),
    ("70 UCS-2 units", "ç" * 70, UCS2, 1, 70),
    ("71 UCS-2 units", "ç" * 71, UCS2, 2, 71),
    ("35 emoji = 70 units", "😊" * 35, UCS2, 1, 70),
    ("35 emoji + 1 = 71 units", "😊" * 35 + "a", UCS2, 2, 71),
    ("306 septets in 2 parts", "a" * 306, GSM7, 2, 306),
    ("escape at 153 boundary costs a part", A152 + "[" + "a" * 152, GSM7, 3, 306),
    ("134 units in 2 parts", "ç" * 134, UCS2, 2, 134),
    ("surrogate pair at unit 67 costs a part", C66 + "😊" + "ç" * 66, UCS2, 3, 134),
    ("Turkish name", "Sayın Şükrü Ağaoğlu", UCS2, 1, 19),
    ("Polish name", "Łukasz Żółć", UCS2, 1, 11),
]


@pytest.mark.parametrize(
    ("text", "encoding", "segments", "units"), [t[1:] for t in TRAPS], ids=[t[0] for t in TRAPS]
)
def test_traps(text: str, encoding: SmsEncoding, segments: int, units: int) -> None:
    info = analyse(text)
    assert (info.encoding, info.segments, info.units) == (encoding, segments, units)
    assert is_gsm7(text) is (encoding is GSM7)
    assert info.parts == split_parts(text)
    assert len(info.parts) == info.segments


# (name, text, expected first part) - the indivisible piece straddling the boundary moves to part 2.
BOUNDARIES: list[tuple[str, str, str]] = [
    ("escape pair at septet 153", A152 + "[" + "a" * 10, A152),
    ("escape pair ending at septet 153 stays", "a" * 151 + "€" + "a" * 10, "a" * 151 + "€"),
    ("CR LF is one grapheme cluster", A152 + "\r\n" + "a" * 10, A152),
    ("surrogate pair at unit 67", C66 + "😊" + "ç" * 10, C66),
    ("surrogate pair ending at unit 67 stays", "ç" * 65 + "😊" + "ç" * 10, "ç" * 65 + "😊"),
    ("flag", "ç" * 65 + "🇩🇪" + "ç" * 10, "ç" * 65),
    ("ZWJ family", "ç" * 62 + "👨\u200d👩\u200d👧" + "ç" * 10, "ç" * 62),
    ("keycap", "ç" * 65 + "1\ufe0f\u20e3" + "ç" * 10, "ç" * 65),
    ("skin tone", "ç" * 64 + "👍🏽" + "ç" * 10, "ç" * 64),
    ("combining mark", C66 + "e\u0301" + "ç" * 10, C66),
]


@pytest.mark.parametrize(("text", "first"), [b[1:] for b in BOUNDARIES], ids=[b[0] for b in BOUNDARIES])
def test_boundary_pieces_move_to_next_part(text: str, first: str) -> None:
    parts = split_parts(text)
    assert parts[0] == first
    assert "".join(parts) == text
    assert clusters(text) == [c for part in parts for c in clusters(part)]


def test_oversized_cluster_is_cut_between_code_points() -> None:
    text = "a" + "\u0301" * 100  # one grapheme cluster of 101 units, more than a part holds
    parts = split_parts(text)
    assert [count_units(p, UCS2) for p in parts] == [67, 34]
    assert "".join(parts) == text


def test_non_gsm_chars_in_order_of_first_appearance_deduplicated() -> None:
    assert analyse("Anna’s „Termin“ – ’").non_gsm_chars == ("’", "„", "“", "–")
    assert analyse("Mu\u0308ller 👍🏽").non_gsm_chars == ("\u0308", "👍", "🏽")
    assert analyse("Müller € [x]").non_gsm_chars == ()


def test_empty_text() -> None:
    info = analyse("")
    assert (info.encoding, info.segments, info.units, info.parts, info.non_gsm_chars) == (
        GSM7,
        1,
        0,
        ("",),
        (),
    )
    assert count_segments("") == (GSM7, 1)


def test_forced_encodings() -> None:
    assert split_parts("a" * 71, UCS2) == ("a" * 67, "aaaa")
    assert split_parts("ä" * 160, GSM7) == ("ä" * 160,)
    with pytest.raises(ValueError):
        split_parts("ç", GSM7)
    with pytest.raises(ValueError):
        count_units("`", GSM7)
    assert count_units("😊a", UCS2) == 3
    assert count_units("€a", GSM7) == 3


@pytest.mark.parametrize(
    ("part", "encoding", "payload"),
    [
        ("@£$¥", GSM7, b"\x00\x01\x02\x03"),
        ("Hi§", GSM7, b"\x48\x69\x5f"),
        ("€", GSM7, b"\x1b\x65"),
        ("[\f]", GSM7, b"\x1b\x3c\x1b\x0a\x1b\x3e"),
        ("\r\n", GSM7, b"\x0d\x0a"),
        ("ç", UCS2, b"\x00\xe7"),
        ("😊", UCS2, b"\xd8\x3d\xde\x0a"),
        ("", UCS2, b""),
        ("", GSM7, b""),
    ],
)
def test_encode_part(part: str, encoding: SmsEncoding, payload: bytes) -> None:
    assert encode_part(part, encoding) == payload


def test_encode_part_rejects_non_gsm() -> None:
    with pytest.raises(ValueError):
        encode_part("ça", GSM7)


def test_concat_udh() -> None:
    assert concat_udh(0x2A, 3, 1) == b"\x05\x00\x03\x2a\x03\x01"
    assert concat_udh(255, 255, 255) == b"\x05\x00\x03\xff\xff\xff"
    assert len(concat_udh(0, 1, 1)) == 6


@pytest.mark.parametrize(
    ("reference", "total", "sequence"),
    [(-1, 2, 1), (256, 2, 1), (1, 0, 1), (1, 256, 1), (1, 2, 0), (1, 2, 3)],
)
def test_concat_udh_rejects_out_of_range(reference: int, total: int, sequence: int) -> None:
    with pytest.raises(ValueError):
        concat_udh(reference, total, sequence)


# --- smart_replace -----------------------------------------------------------------------------------------

SMART_CASES: list[tuple[str, str]] = [
    ("Anna‘s ’x‚ ‛ 5′", "Anna's 'x' ' 5'"),
    ("“a” „b“ ‟c″ «d» »e«", '"a" "b" "c" "d" "e"'),
    ("9–10 a—b ‒ 3−2", "9-10 a-b - 3-2"),
    ("Bis bald…", "Bis bald..."),
    ("5.\xa0Mai 5\u202fkg a\u2009b a\u200ab", "5. Mai 5 kg a b a b"),
    ("Vor\xadsorge\u200b\ufeff", "Vorsorge"),
    ("Frau Mu\u0308ller", "Frau Müller"),
    ("Sayın Şükrü Ağaoğlu, Łukasz Żółć, François", "Sayın Şükrü Ağaoğlu, Łukasz Żółć, François"),
    ("👨\u200d👩\u200d👧 1\ufe0f\u20e3", "👨\u200d👩\u200d👧 1\ufe0f\u20e3"),  # ZWJ and VS16 kept
    ("", ""),
]


@pytest.mark.parametrize(("text", "expected"), SMART_CASES)
def test_smart_replace(text: str, expected: str) -> None:
    assert smart_replace(text)[0] == expected


def test_smart_replace_reports_positions_in_input() -> None:
    new, changes = smart_replace("Mu\u0308ller „x“\xad")
    assert new == 'Müller "x"'
    assert changes == (
        Replacement(1, "u\u0308", "ü", changes[0].reason),
        Replacement(8, "„", '"', changes[1].reason),
        Replacement(10, "“", '"', changes[2].reason),
        Replacement(11, "\xad", "", changes[3].reason),
    )
    assert "NFC" in changes[0].reason
    assert all(c.reason for c in changes)


def test_smart_replace_makes_reported_vectors_gsm() -> None:
    for text in [
        "Ihr Termin „Zahnreinigung“ ist am 12.07.",
        "Anna’s Studio",
        "5.\xa0Mai",
        "Vor\xadsorge",
        "Mu\u0308ller",
    ]:
        assert analyse(smart_replace(text)[0]).encoding is GSM7
    assert analyse(smart_replace("Termin für François")[0]).encoding is UCS2


def test_smart_replace_without_nfc_keeps_decomposed() -> None:
    assert smart_replace("Mu\u0308ller", normalize_nfc=False) == ("Mu\u0308ller", ())


# --- Properties --------------------------------------------------------------------------------------------

SPECIAL_PIECES = [
    "€", "[", "]", "{", "}", "\\", "~", "^", "|", "\f", "\r\n", "\n", "ç", "`", "\t", "\xa0", "\xad",
    "\u200b", "\ufeff", "u\u0308", "e\u0301", "😊", "🦷", "👍🏽", "🇩🇪", "🇦🇹", "👨\u200d👩\u200d👧",
    "1\ufe0f\u20e3", "#\ufe0f\u20e3", "„", "“", "’", "–", "…", "Ş", "ı", "ł", "ż", "Д", "\U00020000",
]  # fmt: skip
gsm_chars = st.sampled_from(sorted(SPEC_GSM_CHARS))
# Text decoded from UTF-8 never holds a lone surrogate, so the strategy leaves them out (category Cs).
any_char = st.characters(exclude_categories=("Cs",))
pieces = st.one_of(gsm_chars, gsm_chars, gsm_chars, st.sampled_from(SPECIAL_PIECES), any_char)
# Runs of filler put the interesting pieces at many different offsets, across part boundaries.
runs = st.tuples(st.integers(0, 90), st.sampled_from(["a", "ç", "€", "😊", "a€", "aç"]), pieces)
gsm_runs = st.tuples(st.integers(0, 90), st.sampled_from(["a", "€", "a€", "\r\n"]), gsm_chars)
sms_texts = st.one_of(
    st.lists(runs, max_size=12).map(lambda xs: "".join(fill * n + piece for n, fill, piece in xs)),
    st.lists(gsm_runs, max_size=12).map(lambda xs: "".join(fill * n + piece for n, fill, piece in xs)),
    st.lists(pieces, max_size=400).map("".join),
    st.text(max_size=200),
)


@settings(deadline=None, max_examples=300)
@given(sms_texts)
def test_property_parts_rejoin_and_fit(text: str) -> None:
    info = analyse(text)
    assert "".join(info.parts) == text
    assert info.segments == len(info.parts) >= 1
    assert info.units == spec_units(text) == sum(count_units(p, info.encoding) for p in info.parts)
    limit = LIMITS[(info.encoding, info.segments == 1)]
    assert all(count_units(p, info.encoding) <= limit for p in info.parts)
    if info.segments > 1:
        assert all(p for p in info.parts)
        assert info.units > LIMITS[(info.encoding, True)]


@settings(deadline=None, max_examples=300)
@given(sms_texts)
def test_property_nothing_indivisible_is_split(text: str) -> None:
    info = analyse(text)
    assume(all(spec_units(c) <= 67 for c in clusters(text)))  # only an oversized cluster may be cut
    assert [c for p in info.parts for c in clusters(p)] == clusters(text)
    payloads = [encode_part(p, info.encoding) for p in info.parts]
    assert b"".join(payloads) == encode_part(text, info.encoding)
    for payload in payloads:  # each part decodes alone: no lone surrogate, no trailing escape
        if info.encoding is UCS2:
            payload.decode("utf-16-be")
        else:
            spec_decode_gsm(payload)


@settings(deadline=None, max_examples=300)
@given(sms_texts)
def test_property_gsm_chosen_exactly_when_encodable(text: str) -> None:
    expected = GSM7 if spec_is_gsm(text) else UCS2
    assert analyse(text).encoding is expected
    assert analyse(text).non_gsm_chars == tuple(dict.fromkeys(c for c in text if c not in SPEC_GSM_CHARS))
    if expected is GSM7:
        assert spec_decode_gsm(encode_part(text, GSM7)) == text


def _letters(text: str) -> list[str]:
    return [c for c in text if unicodedata.category(c)[0] in "LM"]


@settings(deadline=None, max_examples=300)
@given(sms_texts)
def test_property_smart_replace_only_touches_table(text: str) -> None:
    raw, raw_changes = smart_replace(text, normalize_nfc=False)
    assert raw == "".join(SMART_TABLE.get(c, (c, ""))[0] for c in text)
    assert all(c.original in SMART_TABLE for c in raw_changes)
    new, changes = smart_replace(text)
    assert _letters(new) == _letters(unicodedata.normalize("NFC", text))
    rebuilt, cursor = [], 0
    for change in changes:  # positions index the input; applying the changes rebuilds the output
        assert text[change.position : change.position + len(change.original)] == change.original
        rebuilt += [text[cursor : change.position], change.replacement]
        cursor = change.position + len(change.original)
    assert "".join([*rebuilt, text[cursor:]]) == new


@given(st.lists(st.one_of(gsm_chars, st.sampled_from(sorted(SMART_TABLE))), max_size=200).map("".join))
def test_property_smart_replace_of_typography_gives_gsm(text: str) -> None:
    assert is_gsm7(smart_replace(text)[0])
