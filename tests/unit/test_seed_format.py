"""Which files `match`, `replay` and `rules eval` read from a folder."""

from __future__ import annotations

from pathlib import Path

from monitor.extract.seed_format import iter_text_files, read_article


def test_text_files_below_a_folder_skip_hidden_ones_only_below_it(tmp_path: Path) -> None:
    """`../archive` and `~/.local/archive` are read; `.tmp-*` files and hidden folders inside
    the given folder are not; a file named directly is always read."""
    folder = tmp_path / ".local" / "archive"
    (folder / "2026-01-01").mkdir(parents=True)
    (folder / ".trash").mkdir()
    (folder / "2026-01-01" / "001_a.txt").write_text("A\n")
    (folder / "2026-01-01" / ".tmp-x.txt").write_text("half\n")
    (folder / ".trash" / "002_b.txt").write_text("B\n")
    (tmp_path / "sub").mkdir()
    via_dots = tmp_path / "sub" / ".." / ".local" / "archive"

    assert list(iter_text_files([folder])) == [folder / "2026-01-01" / "001_a.txt"]
    assert list(iter_text_files([via_dots])) == [via_dots / "2026-01-01" / "001_a.txt"]
    assert list(iter_text_files([folder / ".trash" / "002_b.txt"])) == [
        folder / ".trash" / "002_b.txt"
    ]


def test_where_the_text_came_from_survives_the_sidecar(tmp_path: Path) -> None:
    """ "page" and "feed" come back as written; no sidecar or an unknown word reads as "file"."""
    for name, sidecar, expected in (("a", '{"extraction": "feed"}', "feed"),
                                    ("b", '{"extraction": "scraped"}', "file"),
                                    ("c", None, "file")):  # fmt: skip
        (tmp_path / f"{name}.txt").write_text("Headline\nBody.\n", encoding="utf-8")
        if sidecar is not None:
            (tmp_path / f"{name}.json").write_text(sidecar, encoding="utf-8")

        assert read_article(tmp_path / f"{name}.txt").extraction == expected
