"""The analyst commands as subprocesses: check, test, schema, match, eval, explain."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.builders import SEEDS

ROOT = Path(__file__).resolve().parents[2]


def _monitor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_rules_check_and_test_pass_on_the_pack() -> None:
    """The shipped pack validates and all its examples pass."""
    check = _monitor("rules", "check", "rules/")
    test = _monitor("rules", "test", "rules/")
    assert check.returncode == 0, check.stderr
    assert test.returncode == 0, test.stdout
    assert " 0 failed" in test.stdout


def test_rules_check_fails_with_file_line(tmp_path: Path) -> None:
    """A broken file exits 1 with file:line on stderr."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("events:\n  e:\n    all: [[x]]\n    within: many\n")
    result = _monitor("rules", "check", str(bad))
    assert result.returncode == 1
    assert f"{bad}:4: events.e.within" in result.stderr


def test_rules_test_prints_failures_with_explanations(tmp_path: Path) -> None:
    """A wrong example fails the command and shows why."""
    path = tmp_path / "r.yaml"
    path.write_text(
        "events:\n  e:\n    all: [[hotline], [opened]]\n    examples:\n      no_match: [They opened a hotline.]\n"
    )
    result = _monitor("rules", "test", str(path))
    assert result.returncode == 1
    assert "e/no_match/0" in result.stdout and "event e: 1 match(es)" in result.stdout


def test_match_jsonl_contract_on_seeds() -> None:
    """One line per seed, each with empty events and rules."""
    result = _monitor("match", "--format", "jsonl", str(SEEDS))
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 0
    assert len(lines) == 5
    for line in lines:
        assert set(line) == {"path", "title", "events", "rules"}
        assert line["events"] == [] and line["rules"] == []


def test_match_jsonl_reports_evidence(tmp_path: Path) -> None:
    """A positive file carries event and rule evidence with offsets."""
    result = _monitor("match", "--format", "jsonl", "tests/corpus/101_pos_joint_statement.txt")
    [line] = [json.loads(x) for x in result.stdout.splitlines()]
    assert [e["id"] for e in line["events"]] == ["joint_statement_issued"]
    assert [r["id"] for r in line["rules"]] == ["us-china-joint-statement"]
    ev = line["rules"][0]["evidence"][0]
    assert {t["text"] for t in ev["terms"]} >= {"joint statement"}
    first = ev["terms"][0]
    assert ev["sentence"][first["start"] : first["end"]] == first["text"]


def test_eval_prints_precision_recall_and_explains_errors(tmp_path: Path) -> None:
    """Wrong labels show up as false positives/negatives with explanations."""
    labels = tmp_path / "labels.json"
    labels.write_text(
        json.dumps(
            [
                {"file": "101_pos_joint_statement.txt", "labels": []},
                {"file": "201_neg_preview.txt", "labels": ["us-china-hotline"]},
            ]
        )
    )
    result = _monitor(
        "rules",
        "eval",
        "--labels",
        str(labels),
        "tests/corpus/101_pos_joint_statement.txt",
        "tests/corpus/201_neg_preview.txt",
    )
    assert result.returncode == 0, result.stderr
    assert "false positive us-china-joint-statement in 101_pos_joint_statement.txt" in result.stdout
    assert "false negative us-china-hotline in 201_neg_preview.txt" in result.stdout
    row = next(
        line for line in result.stdout.splitlines() if line.startswith("us-china-joint-statement")
    )
    assert row.split()[1:4] == ["0", "1", "0"]


def test_explain_shows_the_vetoing_qualifier() -> None:
    """The trap in seed 003 is explained as historical."""
    result = _monitor("explain", "us-china-hotline", str(SEEDS / "003_8fd10ebe9d01ea42.txt"))
    assert result.returncode == 0
    assert "vetoed as historical" in result.stdout and "Soviet" in result.stdout


def test_schema_is_json_schema() -> None:
    """The schema command prints a JSON Schema with the four sections."""
    result = _monitor("rules", "schema")
    doc = json.loads(result.stdout)
    assert set(doc["properties"]) == {"lists", "qualifiers", "events", "rules"}


def test_schema_flags_bad_durations_windows_and_group_by_keys() -> None:
    """An editor using the printed schema flags `realert: 7 days`, a bad quiet window and
    `group_by: [bogus]`; every value in the shipped pack passes the same patterns."""
    import re

    from ruamel.yaml import YAML

    doc = json.loads(_monitor("rules", "schema").stdout)
    dedup = doc["$defs"]["Dedup"]["properties"]
    realert = re.compile(dedup["realert"]["pattern"])
    [digest] = [s for s in dedup["digest"]["anyOf"] if s.get("type") == "string"]
    [quiet] = [s for s in dedup["quiet_hours"]["anyOf"] if s.get("type") == "string"]
    window = re.compile(quiet["pattern"])
    news = re.compile(doc["$defs"]["EventDef"]["properties"]["news_window"]["pattern"])

    assert not realert.search("7 days") and realert.search("7d") and realert.search("90 s")
    assert digest["pattern"] == realert.pattern
    assert not window.search("22-07") and not window.search("24:00-07:00")
    assert window.search("22:00-07:00")
    assert dedup["group_by"]["items"]["enum"] == ["story", "source", "feed"]
    for path in sorted((ROOT / "rules").rglob("*.yaml")):
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
        for rule in data.get("rules", []):
            for key, pattern in (
                ("realert", realert),
                ("digest", realert),
                ("quiet_hours", window),
            ):
                if key in rule.get("dedup", {}):
                    assert pattern.search(rule["dedup"][key]), (path, rule["id"], key)
        for name, event in data.get("events", {}).items():
            if "news_window" in event:
                assert news.search(event["news_window"]), (path, name)


def test_match_prints_file_names_with_brackets_as_they_are(tmp_path: Path) -> None:
    """A file name is never read as terminal markup."""
    name = tmp_path / "a[bold]b.txt"
    name.write_text("US and China issue joint statement on AI\nThe text.\n", encoding="utf-8")
    result = _monitor("match", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert f"{name}: rules:" in result.stdout


def test_eval_names_a_missing_labels_file_once(tmp_path: Path) -> None:
    """A missing labels file is one clear line, the path said once."""
    missing = tmp_path / "labels.json"
    result = _monitor("rules", "eval", "--labels", str(missing), "tests/corpus")
    assert result.returncode == 2
    assert (
        result.stderr.strip() == f"error: {missing}: cannot read labels: No such file or directory"
    )
