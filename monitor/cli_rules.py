"""`monitor rules ...`, `monitor match`, `monitor explain`: the analyst's commands (no Redis)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.text import Text

from monitor.console import exit_if_missing, progress
from monitor.errors import RuleError
from monitor.extract.seed_format import iter_text_files, read_article
from monitor.models import Article, MatchResult
from monitor.rules.condition import references
from monitor.rules.evaluate import Score, micro, read_label_set, score, score_developments
from monitor.rules.examples import run_examples
from monitor.rules.explain import explain
from monitor.rules.load import load_matcher
from monitor.rules.matcher import Matcher
from monitor.rules.schema import RuleFile
from monitor.rules.trace import deciding, leaves

rules_app = typer.Typer(no_args_is_help=True, help="Validate, test, document and evaluate rules.")
RulesArg = Annotated[Path, typer.Argument(help="rule file or folder")]
RulesOpt = Annotated[Path, typer.Option("--rules", "-r", help="rule file or folder")]


def _console(err: bool = False) -> Console:
    return Console(stderr=err, highlight=False, soft_wrap=True)


def matcher_or_exit(path: Path, *, refusing: bool = False) -> Matcher:
    """The rules at `path`, or exit 1 listing every problem as file:line (2 when there are
    none there). `refusing`: the command would have run with them (`run`, `replay`)."""
    exit_if_missing([path], "rule file or folder")
    try:
        return load_matcher(path)
    except RuleError as exc:
        _problems_exit(exc, path, refusing)


def _problems_exit(exc: RuleError, path: Path, refusing: bool) -> NoReturn:
    for problem in exc.problems:
        typer.echo(str(problem), err=True)
    lead = "refusing to start: " if refusing else ""
    typer.echo(f"{lead}{len(exc.problems)} problem(s) in rules at {path}", err=True)
    raise typer.Exit(1) from None


def rules_checked_or_exit(path: Path) -> None:
    """`matcher_or_exit` for a role that matches nothing: the same checks, messages and exit
    codes, with the rules compiled in a process of their own and none kept here."""
    from monitor.daemon.reloader import check_apart

    exit_if_missing([path], "rule file or folder")
    try:
        check_apart(path)
    except RuleError as exc:
        _problems_exit(exc, path, refusing=True)


def _explain_id(m: Matcher, result: MatchResult, target: str) -> Text:
    """Explain a rule (with the events its condition uses) or a single event."""
    if target in m.ruleset.rules:
        events, _lists = references(m.ruleset.conditions[target], contexts=False)
        return explain(result, rule=target, events=sorted(events))
    return explain(result, events=[target])


@rules_app.command("check")
def check(path: RulesArg = Path("rules")) -> None:
    """Validate rule files; exit 1 with `file:line: what is wrong` for each problem."""
    m = matcher_or_exit(path)
    typer.echo(
        f"ok: {len(m.ruleset.files)} file(s), {len(m.ruleset.lists)} lists, {len(m.ruleset.events)} events, {len(m.ruleset.rules)} rules"
    )


@rules_app.command("test")
def test(path: RulesArg = Path("rules")) -> None:
    """Run every inline example; print each failure with its explanation."""
    m = matcher_or_exit(path)
    outcomes = run_examples(m)
    failed = [o for o in outcomes if not o.passed]
    console = _console()
    for o in failed:
        where = (m.ruleset.events if o.case.kind == "event" else m.ruleset.rules)[
            o.case.target
        ].where
        console.print(
            f"[bold red]FAIL[/] {where} {o.case.kind} {o.case.id}: expected {o.case.expect}"
        )
        console.print("  " + o.case.text.replace("\n", "\n  "))
        console.print(_explain_id(m, o.result, o.case.target))
    typer.echo(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)


@rules_app.command("schema")
def schema() -> None:
    """Print the JSON Schema of rule files (for editors' YAML language servers)."""
    doc = RuleFile.model_json_schema()
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    doc["title"] = "monitor rule file"
    typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))


def _match_files(m: Matcher, paths: list[Path]) -> dict[str, tuple[Path, MatchResult]]:
    out: dict[str, tuple[Path, MatchResult]] = {}
    for file in iter_text_files(paths):
        out[str(file)] = (file, m.match_article(read_article(file)))
    return out


def _table(console: Console, title: str, scores: dict[str, Score]) -> None:
    console.print(f"[bold]{title}[/]")
    console.print(f"{'id':34} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>9} {'recall':>7}")
    for i, s in scores.items():
        console.print(
            f"{i:34} {s.tp:4} {len(s.fp):4} {len(s.fn):4} {s.precision:9.3f} {s.recall:7.3f}"
        )
    total = micro(scores)
    console.print(
        f"{'ALL (micro)':34} {total.tp:4} {len(total.fp):4} {len(total.fn):4} "
        f"{total.precision:9.3f} {total.recall:7.3f}"
    )


def _explain_errors(
    console: Console,
    m: Matcher,
    scores: dict[str, Score],
    results: dict[str, MatchResult],
    targets: dict[str, list[str]],
) -> None:
    """Every false positive and negative with the explanation of what stands for it."""
    for i, s in scores.items():
        for kind, names in (("false positive", s.fp), ("false negative", s.fn)):
            for name in names:
                console.print(f"\n[bold red]{kind}[/] {i} in {name}")
                for target in targets.get(i, [i]):
                    console.print(_explain_id(m, results[name], target))


def _by_development(kind: dict[str, str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for target, dev in sorted(kind.items()):
        out.setdefault(dev, []).append(target)
    return out


@rules_app.command("eval")
def eval_(
    paths: Annotated[list[Path], typer.Argument(help="seed-format files or folders")],
    labels: Annotated[
        Path,
        typer.Option(
            "--labels",
            "-l",
            help='JSON: [{"file", "alerts": [...], "events": [...]}] (developments) '
            'or [{"file", "labels": [rule or event ids]}]',
        ),
    ],
    rules: RulesOpt = Path("rules"),
    errors: Annotated[bool, typer.Option(help="explain every false positive/negative")] = True,
) -> None:
    """Precision and recall at alert level and event level, with errors explained."""
    m = matcher_or_exit(rules)
    try:
        wanted = read_label_set(labels)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    missing_paths = [p for p in paths if not p.exists()]
    if missing_paths:
        typer.echo(f"error: no such file or folder: {', '.join(map(str, missing_paths))}", err=True)
        raise typer.Exit(2)
    by_name = {p.name: r for p, r in _match_files(m, paths).values()}
    missing = sorted(set(wanted.alerts) - set(by_name))
    if missing:
        typer.echo(f"error: labelled files not found: {', '.join(missing)}", err=True)
        raise typer.Exit(2)
    by_name = {n: r for n, r in by_name.items() if n in wanted.alerts}
    console = _console()
    if not wanted.by_development:
        ids = set(m.ruleset.events) | set(m.ruleset.rules)
        scores = score(by_name, wanted.alerts, ids)
        _table(console, "rules and events", scores)
        if errors:
            _explain_errors(console, m, scores, by_name, {})
        return
    rule_dev = {r: d.value.development for r, d in m.ruleset.rules.items() if d.value.development}
    event_dev = {e: d.value.development for e, d in m.ruleset.events.items() if d.value.development}
    if not rule_dev:
        typer.echo("error: no rule has a `development:` field to map it to the labels", err=True)
        raise typer.Exit(2)
    dev = score_developments(by_name, wanted, rule_dev, event_dev)
    _table(console, f"alert level (rules; {len(by_name)} files)", dev.alerts)
    _table(console, "\nevent level (events, any governments)", dev.events)
    if errors:
        _explain_errors(console, m, dev.alerts, by_name, _by_development(rule_dev))
        _explain_errors(console, m, dev.events, by_name, _by_development(event_dev))


def result_json(path: Path, result: MatchResult, title: str) -> dict[str, object]:
    """The `match --format jsonl` contract: one object per file."""
    return {
        "path": str(path),
        "title": title,
        "events": [
            {"id": k, "evidence": [e.as_dict() for e in v]} for k, v in result.events.items()
        ],
        "rules": [
            {"id": r.rule, "evidence": [e.as_dict() for e in r.evidence]} for r in result.rules
        ],
    }


def match(
    paths: Annotated[list[Path], typer.Argument(help="seed-format files or folders (recursive)")],
    rules: RulesOpt = Path("rules"),
    fmt: Annotated[str, typer.Option("--format", "-f", help="jsonl or text")] = "text",
    only_matches: Annotated[
        bool, typer.Option("--only-matches", help="print only files where a rule or event matched")
    ] = False,
) -> None:
    """Evaluate rules over seed-format files: backtest a rule over an archive.

    Ends with a summary on stderr: files, files per rule, speed."""
    if fmt not in ("jsonl", "text"):
        typer.echo("error: --format must be jsonl or text", err=True)
        raise typer.Exit(2)
    exit_if_missing(paths)
    m = matcher_or_exit(rules)
    console = _console()
    files = list(iter_text_files(paths))
    per_rule = dict.fromkeys(sorted(m.ruleset.rules), 0)
    start = time.monotonic()
    for file in progress(files, "matching"):
        article = read_article(file)
        result = m.match_article(article)
        for rule in {r.rule for r in result.rules}:
            per_rule[rule] += 1
        if only_matches and not (result.rules or result.events):
            continue
        if fmt == "jsonl":
            typer.echo(json.dumps(result_json(file, result, article.title), ensure_ascii=False))
            continue
        names = ", ".join(r.rule for r in result.rules) or "-"
        line = f"{file}: rules: {names}; events: {', '.join(result.events) or '-'}"
        console.print(line, markup=False)  # a file name with [brackets] is not rich markup
    typer.echo(_summary(len(files), per_rule, time.monotonic() - start), err=True)


def _summary(files: int, per_rule: dict[str, int], took: float) -> str:
    """`30 file(s) in 1.2 s (25 files/s); files per rule: a 3, b 0`."""
    rate = files / took if took > 0 else 0.0
    counts = ", ".join(f"{rule} {n}" for rule, n in per_rule.items()) or "no rules"
    return f"{files} file(s) in {took:.2f} s ({rate:.0f} files/s); files per rule: {counts}"


def explain_cmd(
    rule_id: Annotated[str, typer.Argument(help="rule (or event) id")],
    file: Annotated[Path, typer.Argument(help="seed-format file")],
    rules: RulesOpt = Path("rules"),
) -> None:
    """Explain why a rule (or event) did or did not match a file."""
    m = matcher_or_exit(rules)
    if rule_id not in m.ruleset.rules and rule_id not in m.ruleset.events:
        typer.echo(f"error: no rule or event {rule_id!r} in {rules}", err=True)
        raise typer.Exit(2)
    if not file.exists():
        typer.echo(f"error: no such file: {file}", err=True)
        raise typer.Exit(2)
    article = read_article(file)
    result = m.match_article(article)
    console = _console()
    if rule_id in m.ruleset.rules:
        console.print(_condition_text(m, article, rule_id))
    console.print(_explain_id(m, result, rule_id))


def _condition_text(m: Matcher, article: Article, rule_id: str) -> Text:
    """The rule's condition with every leaf true/false, the deciding one first."""
    published = article.published.date() if article.published else None
    analysis = m.analyse(article.title, article.body, published=published)
    condition = m.ruleset.rules[rule_id].value.condition
    out = Text(f"condition: {condition}\n", style="bold")
    decided = deciding(m, analysis, rule_id)
    if decided is not None:
        out.append(f"  decided by: {decided.text} -> false: {decided.detail}\n", style="red")
    for leaf in leaves(m, analysis, m.ruleset.conditions[rule_id]):
        mark = "true " if leaf.ok else "false"
        out.append(f"  [{mark}] {leaf.text}: {leaf.detail}\n", style="green" if leaf.ok else "dim")
    return out
