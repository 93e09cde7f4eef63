"""The rule loader: one broken file per error kind, each with its exact file:line; fuzzing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from monitor.errors import RuleError
from monitor.rules.loader import load_rules
from monitor.rules.schema import DURATION_PATTERN, WINDOW_PATTERN, parse_duration, parse_window

GOOD_EVENT = """events:
  e1:
    all:
      - [hotline]
      - [opened]
    examples: {match: [A hotline opened.], no_match: [No hotline.]}
"""

CASES = {
    "yaml-syntax": ("events:\n  e1:\n    all: [[a, b]\n  e2: {}\n", 4, "invalid YAML"),
    "duplicate-key": ("lists:\n  a: [x]\n  a: [y]\n", 3, "invalid YAML"),
    "unknown-key": (
        GOOD_EVENT + "    colour: red\n",
        7,
        "events.e1.colour: Extra inputs are not permitted",
    ),
    "missing-all": ("events:\n  e1:\n    within: 3\n", 2, "events.e1.all: Field required"),
    "bad-within": (
        "events:\n  e1:\n    all: [[a]]\n    within: zero\n",
        4,
        "events.e1.within: Input should be a valid integer",
    ),
    "bad-qualifier": (
        "events:\n  e1:\n    all: [[a]]\n    qualifiers: [hedged, sarcastic]\n",
        4,
        "events.e1.qualifiers.1: Input should be",
    ),
    "bad-regex": ("lists:\n  l:\n    - ok\n    - 're:(unclosed'\n", 4, "lists.l: invalid regex"),
    "empty-term": ("lists:\n  l:\n    - ok\n    - ''\n", 4, "lists.l: empty term"),
    "unknown-list": ("events:\n  e1:\n    all: [[$nope]]\n", 2, "unknown list $nope"),
    "bad-condition": (
        GOOD_EVENT + "rules:\n  - id: r1\n    title: T\n    condition: e1 and\n",
        8,
        "condition ends early",
    ),
    "unknown-event": (
        GOOD_EVENT + "rules:\n  - id: r1\n    title: T\n    condition: e2\n",
        8,
        "unknown event 'e2'",
    ),
    "bad-rule-id": (
        GOOD_EVENT + "rules:\n  - id: Bad Id\n    title: T\n    condition: e1\n",
        8,
        "rules.0.id: Value error",
    ),
    "bad-realert": (
        GOOD_EVENT
        + "rules:\n  - id: r1\n    title: T\n    condition: e1\n    dedup: {realert: 7 days}\n",
        11,
        "rules.0.dedup.realert: Value error, '7 days' is not a duration like 30m, 24h or 7d",
    ),
    "bad-group-by": (
        GOOD_EVENT + "rules:\n  - id: r1\n    title: T\n    condition: e1\n"
        "    dedup:\n      group_by: [story, bogus]\n",
        12,
        "rules.0.dedup.group_by.1: Input should be 'story', 'source' or 'feed'",
    ),
    "bad-quiet-hours": (
        GOOD_EVENT + "rules:\n  - id: r1\n    title: T\n    condition: e1\n"
        "    dedup:\n      quiet_hours: 22-07\n",
        12,
        "rules.0.dedup.quiet_hours: Value error, '22-07' is not a UTC window",
    ),
    "bad-news-window": (
        GOOD_EVENT + "    news_window: a week\n",
        7,
        "events.e1.news_window: Value error, 'a week' is not a duration",
    ),
    "not-a-mapping": ("- a\n- b\n", 1, "must be a mapping"),
    "follows-unknown": (
        GOOD_EVENT + "rules:\n  - id: r1\n    title: T\n    condition: e1\n    follows: r9\n",
        8,
        "follows unknown rule 'r9'",
    ),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_each_error_kind_reports_exact_file_and_line(tmp_path: Path, kind: str) -> None:
    """A broken rule file names the file, the line, and what is wrong."""
    text, line, message = CASES[kind]
    path = tmp_path / f"{kind}.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(RuleError) as info:
        load_rules(path)

    rendered = [str(p) for p in info.value.problems]
    assert any(r.startswith(f"{path}:{line}: ") and message in r for r in rendered), rendered


def test_every_problem_is_reported_not_only_the_first(tmp_path: Path) -> None:
    """Two broken files and two problems in one: all are listed."""
    (tmp_path / "a.yaml").write_text(
        "events:\n  e1:\n    within: 3\n  e2:\n    all: [[x]]\n    within: -1\n"
    )
    (tmp_path / "b.yaml").write_text("lists: [oops\n")

    with pytest.raises(RuleError) as info:
        load_rules(tmp_path)

    assert len(info.value.problems) == 3


def test_every_kind_of_problem_comes_out_in_one_pass(tmp_path: Path) -> None:
    """Schema errors, duplicate ids, unknown references and group_by values are reported
    together, each at its file:line: fixing one never reveals the next."""
    (tmp_path / "a.yaml").write_text(
        "lists:\n"
        "  china: [China]\n"
        "events:\n"
        "  opened:\n"
        "    all: [[hotline], [opened], [$nowhere]]\n"
        "  broken:\n"
        "    all: [[x]]\n"
        "    within: many\n"
    )
    (tmp_path / "b.yaml").write_text(
        "lists:\n"
        "  china: [PRC]\n"
        "rules:\n"
        "  - id: r1\n"
        "    title: T\n"
        "    condition: opened and missing\n"
        "    dedup: {group_by: [bogus], realert: 7 days}\n"
        "  - id: r1\n"
        "    title: T\n"
        "    condition: broken\n"
    )
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"

    with pytest.raises(RuleError) as info:
        load_rules(tmp_path)

    assert sorted(str(p) for p in info.value.problems) == sorted(
        [
            f"{a}:4: event 'opened' refers to unknown list $nowhere",
            f"{a}:8: events.broken.within: Input should be a valid integer, unable to parse "
            "string as an integer",
            f"{b}:2: list 'china' already defined at {a}:2",
            f"{b}:4: rule 'r1': condition refers to unknown event 'missing'",
            f"{b}:7: rules.0.dedup.realert: Value error, '7 days' is not a duration like 30m, "
            "24h or 7d",
            f"{b}:7: rules.0.dedup.group_by.0: Input should be 'story', 'source' or 'feed'",
            f"{b}:8: rule id 'r1' already used at {b}:4",
        ]
    )


def test_a_reference_to_an_invalid_definition_is_not_called_unknown(tmp_path: Path) -> None:
    """A list or event that fails the schema still exists: only its own error is reported."""
    path = tmp_path / "r.yaml"
    path.write_text(
        "lists:\n  l: {not: a list}\n"
        "events:\n  e:\n    all: [[$l]]\n    within: 0\n"
        "rules:\n  - id: r\n    title: T\n    condition: e and $l\n"
        "  - {id: s, title: S, condition: e, follows: r}\n"
    )

    with pytest.raises(RuleError) as info:
        load_rules(path)

    assert [str(p) for p in info.value.problems] == [
        f"{path}:2: lists.l: Input should be a valid list",
        f"{path}:6: events.e.within: Input should be greater than or equal to 1",
    ]


def test_an_unreadable_file_does_not_make_every_reference_unknown(tmp_path: Path) -> None:
    """When lists.yaml has a YAML syntax error, the rules naming its lists are not flooded
    with 'unknown list' errors: only the syntax error is reported."""
    (tmp_path / "lists.yaml").write_text("lists:\n  china: [China\n")
    (tmp_path / "story.yaml").write_text(
        "events:\n  e:\n    all: [[$china], [hotline]]\n"
        "rules:\n  - {id: r, title: T, condition: e and $china}\n"
    )

    with pytest.raises(RuleError) as info:
        load_rules(tmp_path)

    [problem] = info.value.problems
    assert str(problem).startswith(f"{tmp_path / 'lists.yaml'}:3: invalid YAML")


def test_every_group_by_key_the_alerts_engine_knows_is_accepted(tmp_path: Path) -> None:
    """story, source and feed (what `alerts.engine` groups by) load."""
    path = tmp_path / "r.yaml"
    path.write_text(
        GOOD_EVENT + "rules:\n  - id: r1\n    title: T\n    condition: e1\n"
        "    dedup: {group_by: [story, source, feed], realert: 7d, digest: 1h,"
        " quiet_hours: '22:00-07:00'}\n"
    )

    rules = load_rules(path).rules

    assert rules["r1"].value.dedup.group_by == ["story", "source", "feed"]


def test_duplicate_ids_across_files_point_at_both(tmp_path: Path) -> None:
    """A list defined in two files is an error at the second, naming the first."""
    (tmp_path / "a.yaml").write_text("lists:\n  china: [China]\n")
    (tmp_path / "b.yaml").write_text("\nlists:\n  china: [PRC]\n")

    with pytest.raises(RuleError) as info:
        load_rules(tmp_path)

    assert (
        str(info.value.problems[0])
        == f"{tmp_path / 'b.yaml'}:3: list 'china' already defined at {tmp_path / 'a.yaml'}:2"
    )


def test_non_utf8_file_is_a_clear_error(tmp_path: Path) -> None:
    """Latin-1 bytes are reported, not crashed on."""
    path = tmp_path / "x.yaml"
    path.write_bytes("lists:\n  a: [caf\xe9]\n".encode("latin-1"))

    with pytest.raises(RuleError, match="not UTF-8"):
        load_rules(path)


def test_yaml_tags_cannot_construct_objects(tmp_path: Path) -> None:
    """A python/object tag is refused as invalid YAML (safe loading)."""
    path = tmp_path / "x.yaml"
    marker = tmp_path / "pwned"
    path.write_text(f"lists:\n  a: !!python/object/apply:os.system ['touch {marker}']\n")

    with pytest.raises(RuleError) as info:
        load_rules(path)

    assert str(info.value.problems[0]).startswith(f"{path}:2: YAML tag")
    assert not marker.exists()


yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20))
yaml_values = st.recursive(
    yaml_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=25,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=300))
def test_random_text_never_crashes_the_loader(tmp_path: Path, text: str) -> None:
    """Arbitrary text either loads or raises RuleError with file:line problems."""
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_rules(path)
    except RuleError as exc:
        assert exc.problems and all(str(p).startswith(f"{path}:") for p in exc.problems)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    doc=st.dictionaries(
        st.sampled_from(["lists", "events", "rules", "qualifiers", "x"]), yaml_values, max_size=4
    )
)
def test_random_structures_never_crash_the_loader(tmp_path: Path, doc: dict[str, object]) -> None:
    """Random YAML structures in the rule-file shape only ever give clear errors."""
    import io

    from ruamel.yaml import YAML

    buf = io.StringIO()
    YAML(typ="safe", pure=True).dump(doc, buf)
    path = tmp_path / "fuzz.yaml"
    path.write_text(buf.getvalue(), encoding="utf-8")
    try:
        load_rules(path)
    except RuleError as exc:
        assert exc.problems and all(": " in str(p) for p in exc.problems)


@given(text=st.text(alphabet="0123456789smhdwx :-\t", max_size=14))
@example(text="22:00-07:00")
@example(text=" 23:59-00:00 ")
@example(text="22:00-22:00")
@example(text="24:00-07:00")
@example(text=" 7 d ")
@example(text="7 days")
def test_the_schema_patterns_accept_what_the_loader_accepts(text: str) -> None:
    """An editor and `rules check` agree on durations and windows (but an empty window, which
    a pattern cannot see)."""
    import re

    def loads(parse: Callable[[str], object]) -> bool:
        try:
            parse(text)
        except ValueError as exc:
            return "must not be empty" in str(exc)
        return True

    assert bool(re.search(DURATION_PATTERN, text)) == loads(parse_duration)
    assert bool(re.search(WINDOW_PATTERN, text)) == loads(parse_window)


def test_hidden_means_below_the_given_folder(tmp_path: Path) -> None:
    """Rules under `~/.config/monitor/rules` or `../rules` load; an editor's `.backup/` folder
    or `.x.yaml` swap file inside the rules folder does not."""
    from monitor.rules.loader import rule_files

    folder = tmp_path / ".config" / "rules"
    (folder / ".backup").mkdir(parents=True)
    (folder / "story.yaml").write_text("lists: {a: [x]}\n")
    (folder / ".story.yaml").write_text("lists: {a: [x]}\n")
    (folder / ".backup" / "story.yaml").write_text("lists: {a: [x]}\n")
    (tmp_path / "sub").mkdir()

    assert rule_files(folder) == [folder / "story.yaml"]
    assert rule_files(tmp_path / "sub" / ".." / ".config" / "rules") == [
        tmp_path / "sub" / ".." / ".config" / "rules" / "story.yaml"
    ]
    assert list(load_rules(folder).lists) == ["a"]
