"""Which files `match`, `replay` and `rules eval` read from a folder."""

from __future__ import annotations

from pathlib import Path

from monitor.extract.seed_format import iter_text_files


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
