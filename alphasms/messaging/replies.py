"""Classify an SMS reply (MO) to a reminder: confirm, cancel, stop (withdraw SMS consent) or unknown.

Framework-free (no Django). ``classify_reply`` never guesses: a text with a word it does not know, or
with signals that contradict each other ("Ja nein", "Nein, ich komme"), is ``UNKNOWN`` and goes to staff.

Algorithm (German and English):

1. Normalise: Unicode NFKC, case folding (also of the upper-cased text, so "ß"/"SS" and "ı"/"I" agree),
   diacritics removed ("bestätige" -> "bestatige", "nö" -> "no"), apostrophes inside words dropped
   ("can't" -> "cant").
2. Tokenise: runs of letters or digits are words; 👍 👌 ✅ ✔ ☑ count as a confirmation, 👎 ❌ ✖ ❎ as an
   unknown word; every other character (spaces, punctuation, other emoji) only separates words. So
   punctuation and case never change the result.
3. Phrases become one token: "sage ab", "keine SMS mehr", "kein Problem", "alles klar", "be there" ….
4. Words are looked up exactly, then with runs of one letter collapsed ("Jaaa", "neinn", "stoppp"), then
   as a typo of a confirm/cancel/stop keyword: one swap of neighbouring letters ("nien"), or for
   keywords of five letters or more any single edit ("absgae", "abmeldn"). A typo that fits keywords of
   two intents is an unknown word.
5. A negation ("nicht", "not", "can't") with an attendance verb ("komme", "kann", "schaffe", "make") is
   a cancellation; a negation next to "nein" only agrees with it; a negation alone is unknown.
6. Decide: more than ``MAX_WORDS`` words -> UNKNOWN (a letter, not an answer). A stop keyword -> STOP
   (withdrawal must not depend on staff reading it), unless the text also names the appointment
   ("vom Termin abmelden" may mean the appointment) -> UNKNOWN. Otherwise any unknown word -> UNKNOWN;
   exactly one of confirm/cancel -> that intent; both or neither -> UNKNOWN.

The reply keywords follow what reminder texts ask for ("Antworten Sie JA oder NEIN, STOP zum Abmelden")
and the usual carrier opt-out words (STOP, UNSUBSCRIBE; CTIA Messaging Principles 2023, §5.1.2).
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable

MAX_WORDS = 25


class ReplyIntent(enum.StrEnum):
    """What a reply asks for."""

    CONFIRM = "confirm"  # the person will come: mark the appointment confirmed
    CANCEL = "cancel"  # the person will not come: cancel the appointment and its pending reminders
    STOP = "stop"  # no more SMS: withdraw SMS consent
    UNKNOWN = "unknown"  # anything else, or contradictory: staff read it


class _Kind(enum.Enum):
    CONFIRM = enum.auto()
    CANCEL = enum.auto()
    STOP = enum.auto()
    ATTEND = enum.auto()  # "komme", "passt": confirms; with a negation it cancels
    ABLE = enum.auto()  # "kann", "schaffe": neutral; with a negation it cancels
    NEGATION = enum.auto()
    APPOINTMENT = enum.auto()  # "Termin": neutral, but makes a stop keyword ambiguous
    NEUTRAL = enum.auto()  # greetings, thanks, pronouns: carry no decision
    CONTENT = enum.auto()  # anything else: the text says more than yes/no/stop


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = unicodedata.normalize("NFKC", text.upper()).casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _collapse(word: str) -> str:
    return re.sub(r"(.)\1+", r"\1", word)


_WORDS: dict[_Kind, str] = {
    _Kind.CONFIRM: """ja jo jap jep jup jawohl jawoll j y yes yeah yea yep yup ok okay okey oki 1
        bestatigt bestatige bestatigen bestaetigt bestaetige bestaetigen zusage zusagen einverstanden
        confirm confirmed confirming sure""",
    _Kind.CANCEL: """nein ne nee no noe nope n 2 absage absagen abgesagt absag stornieren storniere
        storniert storno stornierung verhindert cancel canceled cancelled canceling cancelling canceln""",
    _Kind.STOP: "stop stopp stoppen stoppt stopall abmelden abmeldung abbestellen unsubscribe optout",
    _Kind.ATTEND: "komme kommen passt klappt dabei erscheine coming",
    _Kind.ABLE: """kann konnen koennen schaffe schaffen schaff geht da erscheinen wahrnehmen can could
        make come attend able be""",
    _Kind.NEGATION: "nicht nich not cant cannot couldnt wont dont kein keine nie never",
    _Kind.APPOINTMENT: "termin termine termins appointment appointments",
    _Kind.NEUTRAL: """danke dank dankeschon vielen vielmals herzlichen herzlich bitte bitteschon gerne
        gern ich wir mich mir uns sie ihnen ihr ihre ihren es das den der die dem dann und auch so also
        morgen heute ubermorgen hallo hi hey moin servus guten gute tag abend lg vg mfg gruss grusse
        liebe lieben viele freundliche freundlichen beste besten schon schone schonen wochenende tschuss ciao
        bis leider muss musste mussen sehr gut super prima perfekt toll top klar naturlich
        selbstverstandlich jedenfalls fein mein meine meinen ist bin sind habe hab werde werden
        krank sorry entschuldigung fur erinnerung info alles thanks thank thx ty you please pls plz
        hello i we me us the a an my see tomorrow today unfortunately need to have must will ill im am
        it for reminder regards cheers great good fine""",
    # Near misses of keywords, listed so that they are never read as typos of them.
    _Kind.CONTENT: "sein dein rein wein klein ansagen angesagt aussage anmelden anmeldung",
}

_PHRASES: list[tuple[str, str]] = [
    # Phrases with a negation that is no refusal, and stop phrases with "keine": before the rest.
    (r"kein(?:e)? (?:problem|ursache|thema)|no (?:problem|worries)", "<neutral>"),
    (r"keine (?:weiteren? )?(?:sms|nachrichten?|erinnerungen?|textnachrichten?)(?: mehr)?", "<stop>"),
    (r"no more (?:messages|texts|sms|reminders)|opt out|stop all", "<stop>"),
    (r"sag(?:e|en)? (?:[^ <]+ ){0,3}ab|keine zeit", "<cancel>"),  # "ich sage den Termin ab"
    (r"alles klar|geht klar|bin da|da sein|be there", "<attend>"),
]

_EMOJI_CONFIRM = frozenset("\U0001f44d\U0001f44c\u2705\u2714\u2611")
_EMOJI_CONTENT = frozenset("\U0001f44e\u274c\u2716\u274e")
_MARKERS = {
    "<neutral>": _Kind.NEUTRAL,
    "<stop>": _Kind.STOP,
    "<cancel>": _Kind.CANCEL,
    "<attend>": _Kind.ATTEND,
    "<confirm>": _Kind.CONFIRM,
    "<content>": _Kind.CONTENT,
}
_FUZZY_KINDS = (_Kind.CONFIRM, _Kind.CANCEL, _Kind.STOP)


def _vocabulary() -> tuple[dict[str, _Kind], dict[str, _Kind]]:
    exact: dict[str, _Kind] = {}
    collapsed: dict[str, _Kind] = {}
    for kind, words in _WORDS.items():
        for word in words.split():
            exact.setdefault(_norm(word), kind)  # the first kind listed wins ("ok" is a confirmation)
            collapsed.setdefault(_collapse(_norm(word)), kind)
    return exact, collapsed


_EXACT, _COLLAPSED = _vocabulary()
_KEYWORDS = [(word, kind) for word, kind in _COLLAPSED.items() if kind in _FUZZY_KINDS and len(word) >= 4]


def _tokens(text: str) -> list[str]:
    text = re.sub(r"(?<=\w)['’`ʼ´](?=\w)", "", _norm(text))
    out: list[str] = []
    word: list[str] = []
    for ch in text:
        if ch.isalnum():
            word.append(ch)
            continue
        if word:
            out.append("".join(word))
            word = []
        if ch in _EMOJI_CONFIRM:
            out.append("<confirm>")
        elif ch in _EMOJI_CONTENT:
            out.append("<content>")
    if word:
        out.append("".join(word))
    return out


def _with_phrases(tokens: list[str]) -> list[str]:
    joined = " ".join(tokens)
    for pattern, marker in _PHRASES:
        joined = re.sub(rf"(?<![^ ])(?:{pattern})(?![^ ])", marker, joined)
    return joined.split()


def _one_edit(a: str, b: str, *, swap_only: bool) -> bool:
    """True when ``a`` becomes ``b`` by one swap of neighbouring letters, or (unless ``swap_only``) by
    one insertion, deletion or substitution."""
    if a == b:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        ):
            return True
        return not swap_only and len(diff) == 1
    if swap_only or abs(len(a) - len(b)) != 1:
        return False
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def _kind(token: str) -> _Kind:
    if token in _MARKERS:
        return _MARKERS[token]
    if token in _EXACT:
        return _EXACT[token]
    collapsed = _collapse(token)
    if collapsed in _COLLAPSED:
        return _COLLAPSED[collapsed]
    if token.isdigit() or len(collapsed) > 20:
        return _Kind.CONTENT
    kinds = {kind for word, kind in _KEYWORDS if _one_edit(collapsed, word, swap_only=len(word) < 5)}
    return kinds.pop() if len(kinds) == 1 else _Kind.CONTENT


def _decide(kinds: Iterable[_Kind]) -> ReplyIntent:
    found = set(kinds)
    if _Kind.STOP in found:
        return ReplyIntent.UNKNOWN if _Kind.APPOINTMENT in found else ReplyIntent.STOP
    signals: set[ReplyIntent] = set()
    if _Kind.NEGATION in found:
        if found & {_Kind.ATTEND, _Kind.ABLE}:
            signals.add(ReplyIntent.CANCEL)  # "kann nicht", "komme nicht", "can't make it"
            found -= {_Kind.ATTEND, _Kind.ABLE}
        elif _Kind.CANCEL not in found:
            return ReplyIntent.UNKNOWN  # "leider nicht", "nicht vergessen": not a clear answer
    if _Kind.CONTENT in found:
        return ReplyIntent.UNKNOWN
    if found & {_Kind.CONFIRM, _Kind.ATTEND}:
        signals.add(ReplyIntent.CONFIRM)
    if _Kind.CANCEL in found:
        signals.add(ReplyIntent.CANCEL)
    return signals.pop() if len(signals) == 1 else ReplyIntent.UNKNOWN


def classify_reply(text: str) -> ReplyIntent:
    """The intent of an SMS reply ``text`` (any length, any characters); see the module docstring.

    Examples: "Ja, danke!" and "ok 👍" -> CONFIRM; "neinn", "Ich muss leider absagen" -> CANCEL;
    "Stop bitte", "abmelden!" -> STOP; "Ja nein", "Kann ich verschieben?", "" -> UNKNOWN.
    Raises nothing; no side effects.
    """
    tokens = _with_phrases(_tokens(text))
    if not tokens or len(tokens) > MAX_WORDS:
        return ReplyIntent.UNKNOWN
    return _decide(_kind(token) for token in tokens)
