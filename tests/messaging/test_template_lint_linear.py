"""The reason lint runs in linear time (security review: ``\\w*(?:stem)\\w*`` backtracked quadratically;
20,800 × "x" took ~75 s, reached from the rule editor's live preview on every keystroke)."""

from __future__ import annotations

import re
import time

import pytest

from alphasms.messaging import template_lint
from alphasms.messaging.template_lint import lint_sms_template

# The pattern the lint used before the fix, to show the bound below is one the old code fails.
_OLD_STEM_RE = re.compile(
    r"\w*(?:" + "|".join(map(re.escape, template_lint._REASON_STEMS)) + r")\w*", re.IGNORECASE
)


def test_old_pattern_is_quadratic_and_fails_the_bound() -> None:
    # The old pattern backtracks O(n²): measured here 2,000 → ~1 s, 4,000 → ~4 s, so 20,000 characters
    # take it ~60-100 s. 4,000 characters × 25 (quadratic growth to 20,000) is far beyond the 2 s bound
    # below, and already far slower than the new lint on five times the text.
    started = time.perf_counter()
    assert list(_OLD_STEM_RE.finditer("x" * 4_000)) == []
    old_4000 = time.perf_counter() - started
    started = time.perf_counter()
    assert template_lint._reason_warnings("x" * 20_000, []) == []
    new_20000 = time.perf_counter() - started
    assert old_4000 * 25 > 2.0, old_4000
    assert old_4000 > 10 * new_20000, (old_4000, new_20000)


@pytest.mark.parametrize("text", ["x" * 20_000, "ä" * 20_000, "Physio" + "x" * 20_000, "x " * 10_000])
def test_reason_lint_on_20000_characters_is_fast(text: str) -> None:
    started = time.perf_counter()
    template_lint._reason_warnings(text, ["Massage Termin"])
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0, elapsed  # measured: ~10 ms (the old pattern: ~70 s for "x" * 20,000)


def test_whole_lint_on_20000_characters_is_fast() -> None:
    started = time.perf_counter()
    result = lint_sms_template("x" * 20_000)
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0, elapsed
    assert result.longest.segments == -(-20_000 // 153)  # TS 23.040: 153 septets per concatenated part


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("Ihre Physiotherapie am {date}.", ["Physiotherapie"]),
        ("Ihr Check-up-Termin am {date}.", ["Check-up"]),
        ("Zur Blutabnahme und zur Impfung kommen.", ["Blutabnahme", "Impfung"]),
        ("Therapie, therapie und Massage_2", ["Therapie", "Massage_2"]),  # same word once (case folded)
        ("Ihr blood test am {date}", ["blood test"]),
        ("Ihr Termin am {date} bei {practice_name}.", []),
    ],
)
def test_stem_words_are_still_found_whole(template: str, words: list[str]) -> None:
    found = [w.excerpt for w in template_lint._reason_warnings(template, [])]
    assert found == words
