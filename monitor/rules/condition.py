"""Rule conditions: a tiny boolean language, parsed without eval.

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | atom
    atom    := "(" expr ")" | "any of" "(" names ")" | N "of" "(" names ")"
             | EVENT ["with" "(" listexpr ")" | "with" "$list"] | "$list"

`EVENT with (...)` holds when one of the event's evidence sentences, with the sentence
before it and the headline, satisfies the list expression (e.g. both `$us` and `$china` occur there).
`$list` alone holds when a term of the list occurs anywhere in the article.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

MAX_DEPTH = 50
"""Parentheses, `not` and `with` may nest this deep: the parser and every walk over the tree
recurse, and 20,000 nested parentheses would otherwise end in RecursionError."""
_TOKEN = re.compile(r"\s*(?:(\()|(\))|(,)|(\$[A-Za-z0-9_.-]+)|([A-Za-z0-9_.-]+))")


class ConditionError(ValueError):
    """A condition that does not parse; the message says where and why."""


@dataclass(frozen=True)
class Event:
    """An event reference, optionally constrained to a context (list expression)."""

    name: str
    context: Node | None = None


@dataclass(frozen=True)
class ListRef:
    """A term list occurring anywhere (or, inside `with`, in the evidence context)."""

    name: str


@dataclass(frozen=True)
class Not:
    """Negation."""

    arg: Node


@dataclass(frozen=True)
class All:
    """Conjunction."""

    args: tuple[Node, ...]


@dataclass(frozen=True)
class AtLeast:
    """`N of (...)`; `or` and `any of` are AtLeast(1)."""

    n: int
    args: tuple[Node, ...]


Node = Event | ListRef | Not | All | AtLeast


def _tokens(text: str) -> list[str]:
    out = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ConditionError(f"unexpected character {text[pos]!r} at column {pos + 1}")
        out.append(next(g for g in m.groups() if g is not None))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, expected: str | None = None) -> str:
        tok = self.peek()
        if tok is None:
            raise ConditionError(f"condition ends early; expected {expected or 'more'}")
        if expected is not None and tok.lower() != expected:
            raise ConditionError(f"expected {expected!r}, found {tok!r}")
        self.i += 1
        return tok

    def parse(self) -> Node:
        node = self.expr()
        if self.peek() is not None:
            raise ConditionError(f"unexpected {self.peek()!r} after a complete condition")
        return node

    def expr(self) -> Node:
        args = [self.conj()]
        while (self.peek() or "").lower() == "or":
            self.take()
            args.append(self.conj())
        return args[0] if len(args) == 1 else AtLeast(1, tuple(args))

    def conj(self) -> Node:
        args = [self.neg()]
        while (self.peek() or "").lower() == "and":
            self.take()
            args.append(self.neg())
        return args[0] if len(args) == 1 else All(tuple(args))

    def neg(self) -> Node:
        self.depth += 1  # every nesting (parentheses, `not`, `with`, `of`) passes through here
        if self.depth > MAX_DEPTH:
            raise ConditionError(f"condition nests deeper than {MAX_DEPTH} levels")
        try:
            if (self.peek() or "").lower() == "not":
                self.take()
                return Not(self.neg())
            return self.atom()
        finally:
            self.depth -= 1

    def names(self) -> tuple[Node, ...]:
        self.take("(")
        items = [self.expr()]
        while self.peek() == ",":
            self.take(",")
            items.append(self.expr())
        self.take(")")
        return tuple(items)

    def atom(self) -> Node:
        if self.peek() is None:
            raise ConditionError("condition ends early; expected a name, '$list', 'not' or '('")
        tok = self.take()
        low = tok.lower()
        if tok == "(":
            node = self.expr()
            self.take(")")
            return node
        if low == "any" and (self.peek() or "").lower() == "of":
            self.take("of")
            return AtLeast(1, self.names())
        if tok.isdigit() and (self.peek() or "").lower() == "of":
            self.take("of")
            args = self.names()
            if not 1 <= int(tok) <= len(args):
                raise ConditionError(f"'{tok} of' needs between 1 and {len(args)}")
            return AtLeast(int(tok), args)
        if tok.startswith("$"):
            return ListRef(tok[1:])
        if low in ("and", "or", "of", "with") or tok in (")", ","):
            raise ConditionError(f"expected a name, found {tok!r}")
        if (self.peek() or "").lower() == "with":
            self.take()
            return Event(tok, self.neg())
        return Event(tok)


def parse_condition(text: str) -> Node:
    """Parse a condition string into a tree."""
    if not text.strip():
        raise ConditionError("condition is empty")
    return _Parser(text).parse()


def references(node: Node, *, contexts: bool = True) -> tuple[set[str], set[str]]:
    """(event names, list names) a condition refers to (`contexts=False`: not inside `with`)."""
    events: set[str] = set()
    lists: set[str] = set()

    def walk(n: Node) -> None:
        if isinstance(n, Event):
            events.add(n.name)
            if n.context is not None and contexts:
                walk(n.context)
        elif isinstance(n, ListRef):
            lists.add(n.name)
        elif isinstance(n, Not):
            walk(n.arg)
        else:
            for a in n.args:
                walk(a)

    walk(node)
    return events, lists


def evaluate(node: Node, event_ok: Callable[[Event], bool], list_ok: Callable[[str], bool]) -> bool:
    """Evaluate a tree given how to decide its leaves."""
    if isinstance(node, Event):
        return event_ok(node)
    if isinstance(node, ListRef):
        return list_ok(node.name)
    if isinstance(node, Not):
        return not evaluate(node.arg, event_ok, list_ok)
    if isinstance(node, All):
        return all(evaluate(a, event_ok, list_ok) for a in node.args)
    count = 0
    for a in node.args:
        if evaluate(a, event_ok, list_ok):
            count += 1
            if count >= node.n:
                return True
    return False
