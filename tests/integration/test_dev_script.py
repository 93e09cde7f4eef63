"""`./dev` on a fresh checkout: says what it is doing, hides pip's noise, fails loudly.

Runs the real script with the real pip against a throwaway project in a temporary folder, with
no package index (nothing leaves the machine): upgrading pip then succeeds with what is
installed, and installing the project fails for want of its build backend.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_first_setup_prints_its_steps_hides_noise_and_fails_loudly(tmp_path: Path) -> None:
    """One line per step; a successful pip step shows none of its `Location ... is ignored`
    warnings; a failing one prints pip's whole output and `./dev` exits non-zero."""
    shutil.copy(ROOT / "dev", tmp_path / "dev")
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "devprobe"\nversion = "0.1"\n[project.optional-dependencies]\ndev = []\n'
    )
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": f"file://{tmp_path}/no-such-wheels",  # pip warns it is ignored
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }

    result = subprocess.run(
        ["sh", str(tmp_path / "dev"), "run", "--version"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )

    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert lines[:3] == [
        f"dev: creating .venv with Python {sys.version.split()[0]}",
        "dev: upgrading pip",
        "dev: installing monitor and its dev tools into .venv (1-2 minutes the first time)",
    ], result.stderr
    assert lines[3].startswith("dev: pip install failed (exit "), result.stderr
    assert "setuptools" in result.stderr  # pip's own reason, shown in full
    assert "dev: set-up done" not in result.stderr
    assert not list(tmp_path.glob(".venv/.installed-*"))  # the next run tries again
