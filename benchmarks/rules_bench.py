"""Rule matching cost on the same articles (seeds, our corpus, the shared corpus).

- synthetic packs (10 vs 1,000 rules whose terms never occur: the fixed cost per article);
- realistic packs (10/100/1,000/10,000 rules whose terms are words of the articles
  themselves, so they trigger: the trigger hits per 1,000 words are printed);
- the shipped pack, dated as the daemon dates articles;
- the floor: one bare Aho-Corasick pass of a pack's trigger terms, in the same run.
"""

from __future__ import annotations

import random
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from monitor.extract.seed_format import read_article
from monitor.models import Article
from monitor.rules.load import load_matcher
from monitor.rules.matcher import Matcher
from monitor.rules.text import is_cjk

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

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


_STOP = frozenset(
    ("that", "this", "with", "from", "have", "were", "been", "their", "which", "would", "about", "after", "they", "said", "there", "will", "also", "into", "more", "than", "when", "other", "some", "could", "what", "only", "over", "such", "them", "these", "then", "those", "while", "where", "your", "most", "both", "each", "very", "just", "first", "last")
)  # fmt: skip


def realistic_pack(n_rules: int, docs: list[Article], seed: int = 11, offset: int = 0) -> str:
    """`n_rules` rules, each an event of two groups of two words taken from the articles (so
    they occur in real text), within 8 words, with the default qualifiers."""
    rng = random.Random(seed)
    counts: dict[str, int] = {}
    for a in docs:
        for word in (a.title + " " + a.body).lower().split():
            word = word.strip(".,;:!?\"'()[]")
            if len(word) >= 4 and word.isalpha() and word not in _STOP:
                counts[word] = counts.get(word, 0) + 1
    vocab = sorted(w for w, c in counts.items() if c >= 3)
    lines = ["events:"]
    for i in range(offset, offset + n_rules):
        w1, w2, w3, w4 = rng.sample(vocab, 4)
        lines += [f"  ev{i}:", f"    all: [[^{w1}, ^{w2}], [^{w3}, ^{w4}]]", "    within: 8"]
    lines.append("rules:")
    for i in range(offset, offset + n_rules):
        lines += [f"  - id: r{i}", f"    title: Rule {i}", f"    condition: ev{i}"]
    return "\n".join(lines) + "\n"


def _trigger_hits(m: Matcher, docs: list[Article]) -> int:
    from monitor.rules.text import Doc

    return sum(len(m.scan(m.c.triggers, Doc.build(a.title, a.body))) for a in docs)


def articles() -> list[Article]:
    """The seeds, our corpus and the shared development corpus (dated, two languages)."""
    shared = SEEDS.parent / "corpus"
    files = (
        sorted(SEEDS.glob("*.txt"))
        + sorted((ROOT / "tests" / "corpus").glob("*.txt"))
        + sorted(shared.glob("*/*.txt"))
    )
    return [read_article(p) for p in files]


def _median_s(one_pass: Callable[[], object], repeat: int) -> float:
    """Median CPU seconds of `repeat` passes (matching is single-threaded CPU work: CPU time
    is what it costs, and other processes on the machine disturb it less than wall time)."""
    runs = []
    for _ in range(repeat):
        started = time.process_time()
        one_pass()
        runs.append(time.process_time() - started)
    return statistics.median(runs)


def _time_shipped(m: Matcher, docs: list[Article], repeat: int) -> float:
    """Median seconds to match every article as the daemon does (dated: news vs background)."""
    return _median_s(lambda: [m.match_article(a) for a in docs], repeat)


def _time_floor(m: Matcher, docs: list[Article], repeat: int) -> float:
    """The floor: one bare Aho-Corasick pass of the pack's trigger terms over lower-cased text."""
    texts = [(a.title + "\n" + a.body).lower() for a in docs]
    automaton = m.c.triggers.automaton
    assert automaton is not None
    return _median_s(
        lambda: [len(automaton.find_matches_as_indexes(t, overlapping=True)) for t in texts],
        repeat,
    )


def _time_matcher(m: Matcher, docs: list[Article], repeat: int) -> float:
    """Median seconds to match every article once (undated)."""
    return _median_s(lambda: [m.match(a.title, a.body, ref_year=2026) for a in docs], repeat)


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
            m = load_matcher(path)
            out[f"rules_{n}_compile_s"] = round(time.perf_counter() - started, 3)
            out[f"rules_{n}_ms_per_1000_words"] = round(
                _time_matcher(m, docs, repeat) / words * 1000 * 1000, 4
            )
    sizes = (10, 100, 1000, 10000)  # --quick too: every target's figure, fewer repeats
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"real{n}"
            path.mkdir()
            for part in range(0, n, 1000):  # rule files are capped at 512 KB each
                (path / f"part{part:05d}.yaml").write_text(
                    realistic_pack(min(1000, n - part), docs, seed=11 + part, offset=part),
                    encoding="utf-8",
                )
            started = time.perf_counter()
            m = load_matcher(path)
            out[f"realistic_{n}_compile_s"] = round(time.perf_counter() - started, 3)
            out[f"realistic_{n}_ms_per_1000_words"] = round(
                _time_matcher(m, docs, max(3, repeat // 3)) / words * 1e6, 4
            )
            out[f"realistic_{n}_floor_ms_per_1000_words"] = round(
                _time_floor(m, docs, max(3, repeat // 3)) / words * 1e6, 4
            )
            out[f"realistic_{n}_trigger_hits_per_1000_words"] = round(
                _trigger_hits(m, docs) / words * 1000, 1
            )
    for n in sizes[1:]:
        out[f"realistic_{n}_vs_10_ratio"] = round(
            out[f"realistic_{n}_ms_per_1000_words"] / out["realistic_10_ms_per_1000_words"], 3
        )
    shipped = load_matcher(ROOT / "rules")
    out["shipped_pack_ms_per_1000_words"] = round(
        _time_shipped(shipped, docs, repeat) / words * 1000 * 1000, 4
    )
    # "Words" above are whitespace tokens, so a Chinese article counts as a handful of words
    # while costing like any other: the figure is pessimistic. Per language, honestly counted:
    english = [a for a in docs if not is_cjk(a.title + a.body)]
    chinese = [a for a in docs if is_cjk(a.title + a.body)]
    en_words = sum(len((a.title + " " + a.body).split()) for a in english)
    zh_chars = sum(len(_HAN.findall(a.title + a.body)) for a in chinese)
    out["shipped_pack_en_ms_per_1000_words"] = round(
        _time_shipped(shipped, english, repeat) / en_words * 1e6, 4
    )
    out["shipped_pack_zh_ms_per_1000_chars"] = round(
        _time_shipped(shipped, chinese, repeat) / zh_chars * 1e6, 4
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
