"""Half-written archive files of a dead writer are removed; a live writer's are kept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from monitor.extract.seed_format import remove_orphan_temp_files


def test_only_a_dead_writers_temp_files_are_removed(tmp_path: Path) -> None:
    """A `.tmp-<pid>-` file of an exited process goes; ours and finished files stay."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    day = tmp_path / "2026-11-23"
    day.mkdir()
    orphan = day / f".tmp-{dead.stdout.strip()}-abc.txt"
    mine = day / f".tmp-{os.getpid()}-def.txt"
    done = day / "001_0123456789abcdef.txt"
    for f in (orphan, mine, done):
        f.write_text("x", encoding="utf-8")

    assert remove_orphan_temp_files(tmp_path) == 1
    assert (orphan.exists(), mine.exists(), done.exists()) == (False, True, True)
