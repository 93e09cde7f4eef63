"""Write seed-format articles with sidecars, as the archive does, for replay tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from monitor.extract.seed_format import write_article
from monitor.models import Article

LEAD = (
    "The United States and China issued a joint statement on artificial intelligence on Friday, "
    "committing both governments to keep humans in control of nuclear launch decisions."
)
BODY = [
    "The statement was released after two days of talks in Beijing between senior officials.",
    "Both sides said they would stay in contact on military uses of AI and exchange points of contact.",
    "Officials described the text as modest but the first of its kind between the two powers.",
]
REWRITES = [
    "Washington and Beijing signed a joint declaration on AI on Friday, pledging human control over nuclear weapons.",
    "China and the U.S. released a joint statement on Friday on the risks of artificial intelligence in military systems.",
    "A joint statement issued by the U.S. and Chinese governments on Friday commits both to human control of nuclear arms and of military AI.",
    "The White House and Beijing adopted a joint statement on AI safety and nuclear command on Friday.",
]


def article(n: int, outlet: str, title: str, paragraphs: list[str]) -> Article:
    """One article from one outlet."""
    return Article(
        title=title,
        paragraphs=tuple(paragraphs),
        url=f"https://{outlet}/news/{n}",
        canonical_url=f"https://{outlet}/news/{n}",
        feed="test",
        source=outlet,
        published=datetime(2026, 6, 5, 10, n, tzinfo=UTC),
        fetched=datetime(2026, 6, 5, 11, n, tzinfo=UTC),
    )


def six_outlets(folder: Path) -> list[Path]:
    """One development in 6 outlets: an original, 2 syndicated copies, 3 rewrites."""
    title = "US and China issue joint statement on AI"
    docs = [
        article(0, "wire.example", title, [LEAD, *BODY]),
        article(1, "daily.example", title, [LEAD, *BODY, "Copyright Daily Example."]),
        article(2, "herald.example", title, [LEAD, *BODY, "Distributed by Wire Example."]),
        article(3, "times.example", "Joint AI declaration signed", [REWRITES[0], *BODY[:1]]),
        article(4, "post.example", "US, China release AI statement", [REWRITES[1]]),
        article(5, "globe.example", "Governments commit to human control", [REWRITES[2]]),
    ]
    paths = []
    for n, doc in enumerate(docs):
        path = folder / f"{n:03d}_{n:016x}.txt"
        write_article(path, doc)
        paths.append(path)
    return paths
