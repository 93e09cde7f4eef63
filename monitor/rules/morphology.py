"""Word families for terms: a term written in its base form matches its inflections.

"open" also matches opens, opened, opening; "hold talks" matches held talks, holding talks.
The forms come from lemminflect (a maintained English inflection lexicon with rules for
unknown words) and are expanded once at compile time, so matching stays one automaton scan.

Only lower-case words that are a lemma in the lexicon are inflected: "opened" or "held" stay
that exact form, capitalised words (names: China, America) and function words are kept as
written, and `^term` turns the expansion off for one term.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

# Words never inflected inside a phrase (they carry no tense or number).
FUNCTION_WORDS = frozenset(
    ("a", "an", "the", "of", "to", "on", "in", "for", "with", "and", "or", "by", "at", "as", "up", "out", "down", "off", "over", "into", "from", "its", "their", "will", "would", "shall", "should", "can", "could", "may", "might", "must", "is", "are", "was", "were", "be", "been", "am", "do", "does", "did", "has", "have", "had", "it", "we", "he", "she", "they", "us", "his", "her", "our", "this", "that", "these", "those", "each", "both", "first", "new")
)  # fmt: skip
_MAX_FORMS = 64  # a phrase's combinations are capped; the first word varies last


@lru_cache(maxsize=8192)
def word_forms(word: str) -> tuple[str, ...]:
    """The word and, when it is a lower-case lemma, every inflection of it ("set" -> sets ...)."""
    if not word.isalpha() or not word.islower() or word in FUNCTION_WORDS or len(word) < 2:
        if "-" in word and word.islower():  # co-chair -> co-chaired: inflect the last part
            head, _, last = word.rpartition("-")
            return tuple(f"{head}-{f}" for f in word_forms(last))
        return (word,)
    from lemminflect import getAllInflections

    forms = {word}
    for variants in getAllInflections(word).values():
        forms.update(v for v in variants if v.isalpha())
    return (word, *sorted(forms - {word}))


def phrase_forms(phrase: str) -> tuple[str, ...]:
    """Every inflected variant of a phrase (each word independently), the phrase first."""
    words = phrase.split(" ")
    if not words or any(not w for w in words):
        return (phrase,)
    choices = [word_forms(w) for w in words]
    out = []
    for combo in itertools.product(*choices):
        out.append(" ".join(combo))
        if len(out) >= _MAX_FORMS:
            break
    return tuple(dict.fromkeys([phrase, *out]))


@lru_cache(maxsize=8192)
def is_base_verb(word: str) -> bool:
    """Whether a word can be a verb in its base form ("establish", "hold"): after "to" it
    makes an infinitive, where "to artificial intelligence" or "to talks" does not."""
    if not word.isalpha():
        return False
    from lemminflect import getAllLemmas

    return word in getAllLemmas(word).get("VERB", ())


@lru_cache(maxsize=8192)
def can_be_noun(word: str) -> bool:
    """Whether a word can be a noun ("channel", "talks"; a word the lexicon does not know, such
    as "hotline", counts): only nouns are repeated by an anaphor ("the channel")."""
    from lemminflect import getAllLemmas

    lemmas = getAllLemmas(word)
    return not lemmas or "NOUN" in lemmas
