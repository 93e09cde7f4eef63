"""The command line as a newcomer meets it, in real processes: every command given a missing
path answers with one line and a non-zero exit, never a traceback; `..` paths work; `--config`
is accepted before and after a subcommand; `match` ends with a summary; the progress bar
leaves one."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from monitor.cli import app

ROOT = Path(__file__).resolve().parents[2]
MISSING = "/nonexistent/monitor-test/missing"
CORPUS = "tests/corpus"

CASES: dict[str, list[list[str]]] = {
    "run": [["--config", MISSING], ["--once", "--config", MISSING]],
    "status": [["--config", MISSING]],
    "demo": [["--rules", MISSING]],
    "replay": [[MISSING], ["--dry-run", MISSING], ["--config", MISSING, CORPUS]],
    "rules check": [[MISSING]],
    "rules test": [[MISSING]],
    "rules eval": [
        ["--labels", MISSING, CORPUS],
        ["--labels", f"{CORPUS}/labels.json", MISSING],
        ["--labels", f"{CORPUS}/labels.json", "--rules", MISSING, CORPUS],
    ],
    "match": [[MISSING], ["--rules", MISSING, CORPUS], [CORPUS, MISSING]],
    "explain": [
        ["us-china-hotline", MISSING],
        ["--rules", MISSING, "us-china-hotline", f"{CORPUS}/103_pos_hotline.txt"],
        ["us-china-hotline", CORPUS],  # a folder where a file is expected
    ],
    "alerts list": [["--config", MISSING]],
    "alerts show": [["x", "--config", MISSING]],
    "alerts dead": [["--config", MISSING]],
    "alerts retry": [["--config", MISSING]],
    "items list": [["--config", MISSING]],
    "items requeue": [["--config", MISSING]],
}
NO_PATH = {"rules schema"}
"""Commands that take no path at all."""


def _monitor(
    *args: str, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def _leaves(command: object, prefix: str = "") -> set[str]:
    """Every runnable command path (typer vendors its own click: groups have `.commands`)."""
    subs: dict[str, object] = getattr(command, "commands", {})
    if subs:
        return {
            leaf for name, sub in subs.items() for leaf in _leaves(sub, f"{prefix} {name}".strip())
        }
    return {prefix}


def test_every_command_has_a_missing_path_case() -> None:
    """A command added later must join the missing-path test below."""
    assert _leaves(typer.main.get_command(app)) == set(CASES) | NO_PATH


@pytest.mark.parametrize(
    ("command", "args"),
    [(command, args) for command, cases in CASES.items() for args in cases],
    ids=lambda value: value if isinstance(value, str) else " ".join(value),
)
def test_a_missing_path_is_one_line_and_a_nonzero_exit(command: str, args: list[str]) -> None:
    """Every command and subcommand: one `error:` line naming the path, exit != 0."""
    result = _monitor(*command.split(), *args, env={"MONITOR_CONFIG": ""})

    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and ("/nonexistent/" in lines[0] or CORPUS in lines[0])


def test_paths_with_dot_dot_work(tmp_path: Path) -> None:
    """`--rules ../rules` and `../tests/corpus` from a subfolder (`..` is not a hidden name),
    while hidden files below the given folder are still skipped."""
    hidden = tmp_path / "rules" / ".backup"
    hidden.mkdir(parents=True)
    (hidden / "old.yaml").write_text("not: [valid\n")
    (tmp_path / "rules" / "r.yaml").write_text(
        "events:\n  e:\n    all: [[hotline], [opened]]\n"
        "rules:\n  - {id: r, title: T, condition: e}\n"
    )
    (tmp_path / "sub").mkdir()

    check = _monitor("rules", "check", "../rules", cwd=tmp_path / "sub")
    shipped = _monitor("rules", "check", "../rules", cwd=ROOT / "tests")
    matched = _monitor(
        "match", "--only-matches", "--rules", "../rules", "../tests/corpus", cwd=ROOT / "tests"
    )

    assert check.returncode == 0, check.stderr
    assert check.stdout.startswith("ok: 1 file(s), 0 lists, 1 events, 1 rules")
    assert shipped.returncode == 0, shipped.stderr
    assert matched.returncode == 0, matched.stderr
    assert "../tests/corpus/103_pos_hotline.txt: rules: us-china-hotline" in matched.stdout


def test_config_is_accepted_before_and_after_a_subcommand(tmp_path: Path, redis_url: str) -> None:
    """`alerts --config X dead` and `alerts dead --config X` (and for `items`) both read X; a
    subcommand's --config beats $MONITOR_CONFIG, as the group's does."""
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text(f"redis_url: {redis_url}\nredis_prefix: cfgpos\ndata_dir: data\n")
    broken_env = {"MONITOR_CONFIG": MISSING}

    runs = {
        "alerts before": _monitor("alerts", "--config", str(cfg), "dead", env=broken_env),
        "alerts after": _monitor("alerts", "dead", "--config", str(cfg), env=broken_env),
        "alerts short": _monitor("alerts", "list", "-c", str(cfg), env=broken_env),
        "items before": _monitor("items", "--config", str(cfg), "list", env=broken_env),
        "items after": _monitor("items", "list", "--config", str(cfg), env=broken_env),
        "status": _monitor("status", "--config", str(cfg), env=broken_env),
    }
    from_env = _monitor("alerts", "dead", env={"MONITOR_CONFIG": str(cfg)})

    for name, result in {**runs, "from env": from_env}.items():
        assert result.returncode == 0, (name, result.stderr)
    assert "0 dead message(s)" in runs["alerts after"].stderr
    assert "0 item(s) set aside" in runs["items after"].stderr


def test_match_only_matches_and_summary() -> None:
    """--only-matches prints only files with a rule or event; the summary on stderr counts all
    files and the files per rule."""
    files = sorted((ROOT / CORPUS).glob("*.txt"))
    every = _monitor("match", CORPUS)
    only = _monitor("match", "--only-matches", CORPUS)
    jsonl = _monitor("match", "--only-matches", "--format", "jsonl", CORPUS)

    assert every.returncode == only.returncode == jsonl.returncode == 0
    every_lines = every.stdout.splitlines()
    assert len(every_lines) == len(files)
    hits = [line for line in every_lines if not line.endswith("rules: -; events: -")]
    assert only.stdout.splitlines() == hits and 0 < len(hits) < len(files)
    assert len(jsonl.stdout.splitlines()) == len(hits)
    rules = [line.split(": rules: ")[1].split("; events:")[0].split(", ") for line in hits]
    hotline = sum("us-china-hotline" in names for names in rules)
    summary = re.fullmatch(
        rf"{len(files)} file\(s\) in [0-9.]+ s \([0-9]+ files/s\); files per rule: (.*)\n",
        only.stderr,
    )
    assert summary, only.stderr
    assert f"us-china-hotline {hotline}," in summary.group(1)


def test_the_progress_bar_leaves_a_summary_line_on_a_terminal() -> None:
    """On a TTY the bar is replaced by `matching: N/N files in … s, … files/s`."""
    files = len(list((ROOT / CORPUS).glob("*.txt")))
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "match", "--only-matches", CORPUS],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=secondary,
        env={**os.environ, "COLUMNS": "120", "TERM": "xterm"},
    )
    os.close(secondary)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    assert proc.wait(timeout=120) == 0

    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode(errors="replace"))
    assert re.search(rf"matching: {files}/{files} files in [0-9.]+ s, [0-9]+ files/s", screen), (
        screen
    )
