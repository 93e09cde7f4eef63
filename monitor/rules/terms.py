"""The term notation of rule files (`re:...`, `=Exact`, `^form`, `prefix*`, `*suffix`,
phrases) read into `Term`s, and how the scanner accepts a hit of each."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.rules.morphology import phrase_forms
from monitor.rules.text import display_form, fold, is_cjk, is_word_char


@dataclass(frozen=True)
class Term:
    """One literal or regex term, as written and as matched."""

    written: str
    key: str  # folded text fed to the automaton (or the regex source)
    prefix: bool = False  # `issu*`: no right word boundary
    suffix: bool = False  # `*n't`: no left word boundary
    exact: str | None = None  # `=US`: the display text must equal this
    cjk: bool = False
    regex: bool = False
    forms: tuple[str, ...] = ()  # folded keys: the term and its inflections ("open" -> opened)


def parse_term(written: str, *, inflect: bool = False) -> Term:
    """Read the term notation: `re:...`, `=Exact`, `^form`, `prefix*`, `*suffix`, phrase.

    With `inflect`, a phrase in base form also matches its inflections (morphology.py);
    `^form` and `=Exact` never do.
    """
    if written.startswith("re:"):
        return Term(written, written[3:], regex=True)
    exact = None
    body = written.strip()
    fixed = body.startswith("^")
    if fixed:
        body = body[1:]
    if body.startswith("="):
        body = body[1:]
        exact = body
    prefix = body.endswith("*")
    suffix = body.startswith("*")
    body = display_form(body.strip("*"))
    key = fold(body)
    cjk = is_cjk(body)
    forms: tuple[str, ...] = (key,)
    if inflect and not (fixed or exact or prefix or suffix or cjk):
        forms = tuple(dict.fromkeys(fold(f) for f in phrase_forms(body)))
    return Term(
        written,
        key,
        prefix,
        suffix,
        display_form(exact).strip("*") if exact else None,
        cjk,
        forms=forms,
    )


def plain_term(term: Term) -> bool:
    """A Latin term that starts and ends with a word character, bounded on both sides."""
    if term.cjk or term.prefix or term.suffix or term.exact is not None or not term.key:
        return False
    return is_word_char(term.key[0]) and is_word_char(term.key[-1])


def exact_form(term: Term) -> str | None:
    """The one form of a case-kept Latin term (`=US`) bounded on both sides, else None."""
    if term.cjk or term.prefix or term.suffix or not term.key:
        return None
    return term.exact


def simple_cjk(term: Term) -> bool:
    """A Han term: a substring hit, nothing more to check."""
    return term.cjk and term.exact is None and not term.prefix
