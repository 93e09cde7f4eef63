"""Rule loading in a sandbox of limits: bombs and degenerate files are `file:line` errors.

Each case here hung, crashed or ate gigabytes before (issue 11, items 1-2).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from monitor.errors import RuleError
from monitor.rules import loader
from monitor.rules.condition import MAX_DEPTH, ConditionError, parse_condition
from monitor.rules.load import load_matcher
from monitor.rules.loader import load_rules
from tests.support.daemon import ROOT

GOOD = "events:\n  e1:\n    all: [[hotline], [opened]]\n"
RULE = "rules:\n  - id: r1\n    title: T\n    condition: {condition}\n"


def alias_bomb(levels: int = 10) -> str:
    """The "billion laughs" of YAML: each list is ten aliases of the one before."""
    lines = ["lists:", "  a0: &a0 [" + ", ".join(["lol"] * 10) + "]"]
    for i in range(1, levels):
        lines.append(f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    lines += ["events:", "  e1:", f"    all: [*a{levels - 1}]"]
    return "\n".join(lines) + "\n"


def reference_bomb(levels: int = 12) -> str:
    """The same through `$list` references, which the compiler follows without memoising."""
    lines = ["lists:", "  l0: [x]"]
    for i in range(1, levels):
        lines.append(f"  l{i}: [" + ", ".join([f"$l{i - 1}"] * 10) + "]")
    lines += ["events:", "  e1:", f"    all: [[$l{levels - 1}]]"]
    return "\n".join(lines) + "\n"


def problems(path: Path) -> list[str]:
    with pytest.raises(RuleError) as info:
        load_rules(path)
    return [str(p) for p in info.value.problems]


def test_an_alias_bomb_is_refused_before_the_tree_is_walked(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb())

    found = problems(path)

    assert len(found) == 1
    assert found[0].startswith(f"{path}:") and "aliases expand to more than" in found[0]


def test_small_aliases_still_work(tmp_path: Path) -> None:
    """Anchors are YAML; only their expansion is capped."""
    path = tmp_path / "ok.yaml"
    path.write_text(
        "lists:\n  a: &verbs [opened, launched]\n  b: *verbs\n"
        "events:\n  e1:\n    all: [[hotline], *verbs]\n"
    )

    rs = load_rules(path)

    assert rs.lists["b"].value == ["opened", "launched"]


def test_a_recursive_alias_is_an_error_not_a_hang(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("lists:\n  a: &a [x, *a]\n  b: &b {k: *b}\n")

    assert all(p.startswith(f"{path}:") for p in problems(path))


def test_deep_yaml_nesting_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("lists:\n  a: " + "[" * 200 + "x" + "]" * 200 + "\n")

    found = problems(path)

    assert found[0].startswith(f"{path}:") and (
        "nested deeper than" in found[0] or "invalid YAML" in found[0]
    )


def test_a_reference_bomb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "refs.yaml"
    path.write_text(reference_bomb())

    found = problems(path)

    assert len(found) == 1 and "expanding $list references takes more than" in found[0]
    assert found[0].startswith(f"{path}:")


def test_a_long_reference_chain_is_refused(tmp_path: Path) -> None:
    """The compiler recurses once per reference: a chain of 2,000 would end in RecursionError."""
    chain = "\n".join(f"  l{i}: [$l{i - 1}]" for i in range(1, 2000))
    path = tmp_path / "chain.yaml"
    path.write_text(f"lists:\n  l0: [x]\n{chain}\n")

    assert any("references nest deeper than" in p for p in problems(path))


@pytest.mark.parametrize(
    ("lists", "group", "reason"),
    [
        ("  a: []\n", "[$a]", "list a is empty"),
        ("  a: [$a]\n", "[$a]", "expands to no terms"),
        ("  a: [$b]\n  b: [$a]\n", "[$a, $b]", "expands to no terms"),
        ("  a: [x]\n", "[]", "group 2 is empty"),
    ],
)
def test_an_event_group_without_terms_is_a_file_line_error(
    tmp_path: Path, lists: str, group: str, reason: str
) -> None:
    """These raised ZeroDivisionError in the compiler, silently killing hot reload."""
    path = tmp_path / "empty.yaml"
    path.write_text(f"lists:\n{lists}events:\n  e1:\n    all: [[x], {group}]\n")

    found = problems(path)

    line = lists.count("\n") + 3
    assert found == [f"{path}:{line}: event 'e1': " + found[0].split("event 'e1': ")[1]]
    assert reason in found[0]


def test_empty_lists_elsewhere_are_harmless(tmp_path: Path) -> None:
    """An empty list in `none` or a condition compiles and matches nothing."""
    path = tmp_path / "ok.yaml"
    path.write_text(
        "lists:\n  a: []\nevents:\n  e1:\n    all: [[hotline], [opened]]\n    none: [$a]\n"
        + RULE.format(condition="e1 and not $a")
    )

    matcher = load_matcher(path)

    assert "r1" in matcher.ruleset.rules


def test_a_deeply_nested_condition_is_a_file_line_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(GOOD + RULE.format(condition="(" * 20_000 + "e1" + ")" * 20_000))

    found = problems(path)

    assert found == [
        f"{path}:5: rule 'r1': condition: condition nests deeper than {MAX_DEPTH} levels"
    ]


@pytest.mark.parametrize("prefix", ["not ", "e1 with ", "any of ("])
def test_every_kind_of_nesting_counts(prefix: str) -> None:
    with pytest.raises(ConditionError, match="nests deeper"):
        parse_condition(prefix * (MAX_DEPTH + 1) + "e1" + ")" * prefix.count("(") * (MAX_DEPTH + 1))


def test_nesting_up_to_the_cap_parses() -> None:
    depth = MAX_DEPTH - 1
    assert parse_condition("(" * depth + "e1" + ")" * depth)


def test_an_oversized_rule_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("lists:\n  big:\n" + "    - word\n" * (loader.MAX_FILE_BYTES // 10 + 1))

    found = problems(path)

    assert found == [
        f"{path}:1: file is {path.stat().st_size} bytes; "
        f"rule files are limited to {loader.MAX_FILE_BYTES}"
    ]


def test_many_files_together_are_capped(tmp_path: Path) -> None:
    body = "lists:\n  l{n}:\n" + "    - word\n" * (loader.MAX_FILE_BYTES // 11)
    for n in range(loader.MAX_TOTAL_BYTES // loader.MAX_FILE_BYTES + 2):
        (tmp_path / f"f{n}.yaml").write_text(body.replace("{n}", str(n)))

    found = problems(tmp_path)

    assert len(found) == 1 and "the limit is" in found[0]


@pytest.mark.parametrize("make", [alias_bomb, reference_bomb])
def test_rules_check_answers_a_bomb_promptly(tmp_path: Path, make: object) -> None:
    """`monitor rules check` as a process: an error and exit 1, not minutes of CPU."""
    path = tmp_path / "bomb.yaml"
    path.write_text(make())  # type: ignore[operator]

    done = subprocess.run(
        [sys.executable, "-m", "monitor", "rules", "check", str(path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert done.returncode == 1
    assert f"{path}:" in done.stdout + done.stderr
