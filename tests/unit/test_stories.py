"""Near-duplicate clustering parts: shingles, LSH band sizing, signatures and buckets."""

from __future__ import annotations

from monitor.alerts.stories import StoryIndex, lsh_params, shingles
from tests.support.articles import BODY, LEAD, REWRITES


def test_latin_text_gives_word_grams_and_cjk_gives_character_grams() -> None:
    """`a b c d` -> two 3-word grams; 中美对话 -> two 3-character grams (no spaces to split on)."""
    assert shingles("A b c D") == {b"a b c", b"b c d"}
    assert shingles("中美对话") == {"中美对".encode(), "美对话".encode()}
    assert shingles("") == set()


def test_lsh_bands_put_the_s_curve_midpoint_near_the_threshold() -> None:
    """(1/b)^(1/r) is the closest to the threshold of all splits of num_perm."""
    bands, rows = lsh_params(0.5, 128)

    assert bands * rows <= 128
    assert abs((1 / bands) ** (1 / rows) - 0.5) < 0.05


def _similarity(index: StoryIndex, a: str, b: str) -> float:
    sa, sb = index.signature(a), index.signature(b)
    return float((sa == sb).mean())


def test_a_syndicated_copy_shares_a_bucket_and_a_rewrite_does_not() -> None:
    """A copy with one line changed is close (a shared band bucket); a rewrite is far."""
    index = StoryIndex(state=None, threshold=0.5)  # type: ignore[arg-type]  # no Redis needed
    original = "\n".join([LEAD, *BODY])
    copy = "\n".join([LEAD, *BODY[:2], "Reporting by the wire desk."])
    rewrite = REWRITES[0]

    assert _similarity(index, original, copy) > 0.5 > _similarity(index, original, rewrite)
    assert set(index.buckets(index.signature(original))) & set(index.buckets(index.signature(copy)))
    assert len(index.buckets(index.signature(rewrite))) == index.bands
