"""Rule matching cost: 10 vs 1,000 rules on the same articles (seeds + corpus)."""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path

from monitor.extract.seed_format import read_article
from monitor.models import Article
from monitor.rules.matcher import Matcher

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"

_VERBS = [
    "signed",
    "issued",
    "opened",
    "launched",
    "named",
    "appointed",
    "agreed",
    "held",
    "released",
]
_WORDS = [
    "treaty",
    "accord",
    "pact",
    "protocol",
    "memorandum",
    "framework",
    "charter",
    "roadmap",
    "covenant",
    "compact",
    "mechanism",
]


def synthetic_pack(n_rules: int, seed: int = 7) -> str:
    """A rule file with `n_rules` rules, each on its own event (distinct noun phrases)."""
    rng = random.Random(seed)
    lines = [
        "lists:",
        "  us: [United States, Washington, '=US', '=U.S.']",
        "  china: [China, Beijing, Chinese]",
        "events:",
    ]
    for i in range(n_rules):
        noun = f"{rng.choice(_WORDS)} {i} {rng.choice(_WORDS)}"
        verbs = ", ".join(rng.sample(_VERBS, 3))
        lines += [f"  ev{i}:", f"    all: [['{noun}', 'topic{i}*'], [{verbs}]]", "    within: 10"]
    lines.append("rules:")
    for i in range(n_rules):
        lines += [
            f"  - id: r{i}",
            f"    title: Rule {i}",
            f"    condition: ev{i} with ($us and $china)",
        ]
    return "\n".join(lines) + "\n"


def articles() -> list[Article]:
    """The seeds, our corpus and the shared development corpus (dated, two languages)."""
    shared = SEEDS.parent / "corpus"
    files = (
        sorted(SEEDS.glob("*.txt"))
        + sorted((ROOT / "tests" / "corpus").glob("*.txt"))
        + sorted(shared.glob("*/*.txt"))
    )
    return [read_article(p) for p in files]


def _time_shipped(m: Matcher, docs: list[Article], repeat: int) -> float:
    """Median seconds to match every article as the daemon does (dated: news vs background)."""
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        for a in docs:
            m.match_article(a)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def _time_floor(m: Matcher, docs: list[Article], repeat: int) -> float:
    """The floor: one bare Aho-Corasick pass of the pack's trigger terms over lower-cased text."""
    texts = [(a.title + "\n" + a.body).lower() for a in docs]
    automaton = m.c.triggers.automaton
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        for t in texts:
            for _hit in automaton.iter(t):
                pass
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def _time_matcher(m: Matcher, docs: list[Article], repeat: int) -> float:
    """Median seconds to match every article once."""
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        for a in docs:
            m.match(a.title, a.body, ref_year=2026)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def run(quick: bool = False) -> dict[str, float]:
    """Measure and return the figures."""
    docs = articles()
    words = sum(len((a.title + " " + a.body).split()) for a in docs)
    repeat = 5 if quick else 15
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (10, 1000):
            path = Path(tmp) / f"r{n}.yaml"
            path.write_text(synthetic_pack(n), encoding="utf-8")
            started = time.perf_counter()
            m = Matcher.from_path(path)
            out[f"rules_{n}_compile_s"] = round(time.perf_counter() - started, 3)
            out[f"rules_{n}_ms_per_1000_words"] = round(
                _time_matcher(m, docs, repeat) / words * 1000 * 1000, 4
            )
    shipped = Matcher.from_path(ROOT / "rules")
    out["shipped_pack_ms_per_1000_words"] = round(
        _time_shipped(shipped, docs, repeat) / words * 1000 * 1000, 4
    )
    out["rules_floor_ms_per_1000_words"] = round(
        _time_floor(shipped, docs, repeat) / words * 1000 * 1000, 4
    )
    out["shipped_pack_vs_floor_ratio"] = round(
        out["shipped_pack_ms_per_1000_words"] / out["rules_floor_ms_per_1000_words"], 2
    )
    out["rules_1000_vs_10_ratio"] = round(
        out["rules_1000_ms_per_1000_words"] / out["rules_10_ms_per_1000_words"], 3
    )
    out["articles_words"] = words
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=1))
