"""`python -m benchmarks [--quick] [--only daemon,latency] [--daemon-feeds N]`: run the
benchmarks; the last line is one JSON object with every figure and ratio, all measured in this
run, and `targets_met` (target -> met or not). Before it, a table of every target of the
daemon issue (and the earlier issues'): the figure, its floor from the same run, the ratio,
the limit and whether it is met."""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import dataclass

from benchmarks import (
    daemon_bench,
    feeds_bench,
    latency_bench,
    pipeline_bench,
    poll_bench,
    rules_bench,
    scale_bench,
)
from monitor import logs


@dataclass(frozen=True)
class Target:
    """One target: the figure, its floor from the same run, and what must hold."""

    id: str  # its key in `targets_met`
    what: str  # the issue's words
    figure: str  # the measured figure's key
    op: str  # "<=" or ">="
    limit: float | str  # a number, or the key of a figure of this run (the needed rate)
    floor: str | None = None  # the floor's key (the ratio is figure / floor)
    on_ratio: bool = False  # the limit applies to the ratio, not the figure


DAEMON_ISSUE = [  # the daemon issue's Targets list, in its order
    Target("daemon_polls", "daemon: steady polls/s vs needed >= 0.98 (target: 50,000 at 60 s)",
           "daemon_polls_per_s", ">=", 0.98, "daemon_polls_per_s_needed", on_ratio=True),
    Target("daemon_missed", "daemon: ... without missing a schedule",
           "daemon_missed_schedules", "<=", 0, "daemon_floor_missed_schedules"),
    Target("daemon_cpu", "daemon: CPU per (unchanged) poll, poller + Redis <= 1.5x floor",
           "daemon_cpu_ms_per_poll", "<=", 1.5, "daemon_floor_cpu_ms_per_poll", on_ratio=True),
    Target("daemon_rss", "daemon: poller RSS <= 150 MB at 10k feeds (+5 KB per feed beyond)",
           "daemon_rss_mb", "<=", "daemon_rss_target_mb", "daemon_floor_rss_mb"),
    Target("daemon_rss_per_feed", "daemon: RSS per feed <= 5 KB (vs 1 feed; fixed costs below 10k)",
           "daemon_rss_kb_per_feed", "<=", 5.0),
    Target("daemon_redis", "daemon: Redis per feed <= 3 KB, 10 items (INFO used_memory)",
           "daemon_redis_kb_per_feed", "<=", 3.0),
    Target("daemon_redis_keys", "daemon: ... the same by MEMORY USAGE of its keys",
           "daemon_redis_keys_kb_per_feed", "<=", 3.0),
    Target("after_download", "after download <= 1.15x trafilatura+metadata (real path, ms)",
           "pipeline_after_download_ms_median", "<=", 1.15, "trafilatura_metadata_ms_median",
           on_ratio=True),
    Target("shipped_pack", "matching: shipped pack <= 1 ms per 1,000 words (floor: bare scan)",
           "shipped_pack_ms_per_1000_words", "<=", 1.0, "rules_floor_ms_per_1000_words"),
    Target("realistic_1000", "matching: 1,000 realistic rules <= 2x the cost of 10 (ms/1k words)",
           "realistic_1000_ms_per_1000_words", "<=", 2.0, "realistic_10_ms_per_1000_words",
           on_ratio=True),
    Target("realistic_10000", "matching: 10,000 realistic rules <= 4x the cost of 10",
           "realistic_10000_ms_per_1000_words", "<=", 4.0, "realistic_10_ms_per_1000_words",
           on_ratio=True),
    Target("latency_warm_p95", "latency: own processing, warm p95 <= 50 ms (s)",
           "latency_own_processing_p95_s", "<=", 0.05),
    Target("latency_cold", "latency: first alert after a cold start <= 1 s",
           "latency_cold_first_alert_s", "<=", 1.0),
    Target("scale_2", "scale-out: 2 workers >= 1.8x one (items/s, unique pages)",
           "scale_2_workers_items_per_s", ">=", 1.8, "scale_1_workers_items_per_s",
           on_ratio=True),
]  # fmt: skip
EARLIER = [  # targets of the issues before it, still printed
    Target("extraction_f1", "extraction F1 vs html-gold >= 0.92", "extraction_f1", ">=", 0.92),
    Target("articles_per_s", "articles per second per core >= 14",
           "pipeline_articles_per_s_per_core", ">=", 14),
    Target("feed_parse", "feed parsing <= 5 ms per 100 KB (floor: feedparser defaults)",
           "feed_parse_ms_per_100kb", "<=", 5.0, "feedparser_default_ms_per_100kb"),
    Target("shipped_pack_2ms", "matching issue: shipped pack <= 2 ms per 1,000 words",
           "shipped_pack_ms_per_1000_words", "<=", 2.0, "rules_floor_ms_per_1000_words"),
    Target("rules_1000_synthetic", "1,000 synthetic rules <= 2x 10",
           "rules_1000_ms_per_1000_words", "<=", 2.0, "rules_10_ms_per_1000_words",
           on_ratio=True),
    Target("poll_per_s", "Pipeline.poll_all, unchanged polls/s >= 500", "poll_unchanged_per_s",
           ">=", 500),
    Target("poll_cpu", "Pipeline.poll_all, CPU ms per unchanged poll <= 1.5",
           "poll_cpu_ms_per_unchanged", "<=", 1.5),
    Target("poll_rss", "Pipeline.poll_all, RSS <= 150 MB at 10k feeds", "poller_rss_mb", "<=", 150),
    Target("poll_redis", "Pipeline.poll_all, Redis used <= 30 MB", "redis_used_mb", "<=", 30),
    Target("latency_end_to_end", "latency: item in feed -> Slack p95 <= interval + 5 s",
           "latency_p95_s", "<=", "latency_target_s"),
]  # fmt: skip


def _num(figures: dict[str, object], key: str | None) -> float | None:
    value = figures.get(key) if key else None
    return float(value) if isinstance(value, int | float) and value >= 0 else None


def judge(t: Target, figures: dict[str, object]) -> dict[str, object] | None:
    """The target's row: figure, floor, ratio, limit, met; None when not measured this run."""
    figure = _num(figures, t.figure)
    limit = _num(figures, t.limit) if isinstance(t.limit, str) else float(t.limit)
    if figure is None or limit is None:
        return None
    floor = _num(figures, t.floor)
    ratio = figure / floor if floor else None
    judged = ratio if t.on_ratio else figure
    if judged is None:
        return None
    met = judged <= limit if t.op == "<=" else judged >= limit
    return {"figure": figure, "floor": floor, "ratio": ratio, "limit": limit, "met": met}


def table(figures: dict[str, object]) -> list[str]:
    """Every target, measured or not, as aligned text lines."""

    def fmt(x: object) -> str:
        return "-" if x is None else f"{x:.4g}" if isinstance(x, float) else str(x)

    lines = []
    for title, targets in (("daemon issue", DAEMON_ISSUE), ("earlier issues", EARLIER)):
        lines.append(f"== targets: {title} ==")
        lines.append(f"{'target':<72} {'measured':>9} {'floor':>9} {'ratio':>7}  limit       met")
        for t in targets:
            row = judge(t, figures)
            if row is None:
                lines.append(f"{t.what:<72} {'not measured in this run':>36}")
                continue
            limit = f"{'ratio ' if t.on_ratio else ''}{t.op} {fmt(row['limit'])}"
            lines.append(f"{t.what:<72} {fmt(row['figure']):>9} {fmt(row['floor']):>9} "
                         f"{fmt(row['ratio']):>7}  {limit:<11} {'yes' if row['met'] else 'NO'}")  # fmt: skip
    if "daemon_feeds" in figures:
        lines.append(f"(daemon at {figures['daemon_feeds']} feeds, {figures['daemon_interval_s']} s; "
                     "the 50,000-feed target: --daemon-feeds 50000 --daemon-interval 60)")  # fmt: skip
    return lines


BENCHMARKS = {"rules": rules_bench, "pipeline": pipeline_bench, "feeds": feeds_bench,
              "poll": poll_bench, "latency": latency_bench, "scale": scale_bench,
              "daemon": daemon_bench}  # fmt: skip


def main() -> None:
    """Run the benchmarks in order and print their figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument(
        "--quick", action="store_true", help="smaller inputs, fewer repetitions (under 2 minutes)"
    )
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated names")
    parser.add_argument(
        "--daemon-feeds", type=int, default=None, help="daemon: feeds (10000, 50000)"
    )
    parser.add_argument("--daemon-interval", type=int, default=None, help="daemon: poll interval s")
    parser.add_argument("--daemon-hosts", type=int, default=200, help="daemon: 127.0.x.y hosts")
    args = parser.parse_args()
    logs.configure("warning", "json", stream=open(os.devnull, "w"))  # noqa: SIM115 - lives for the process
    figures: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus, Python {platform.python_version()}",
        "quick": args.quick,
    }
    started = time.perf_counter()
    for name in args.only.split(","):
        t0 = time.perf_counter()
        if name == "daemon":
            result = daemon_bench.run(
                args.quick, args.daemon_feeds, args.daemon_interval, args.daemon_hosts
            )
        else:
            result = BENCHMARKS[name].run(quick=args.quick)
        print(f"[{name}] {time.perf_counter() - t0:.1f}s", json.dumps(result), flush=True)
        figures.update(result)
    if "latency_poll_interval_s" in figures:
        figures["latency_target_s"] = figures["latency_poll_interval_s"] + 5  # type: ignore[operator]
    rows = {t.id: (t, judge(t, figures)) for t in DAEMON_ISSUE + EARLIER}
    figures["targets_met"] = {k: row["met"] for k, (_t, row) in rows.items() if row is not None}
    figures["targets"] = {
        k: f"{'ratio ' if t.on_ratio else ''}{t.op} {row['limit']:g}"
        for k, (t, row) in rows.items()
        if row is not None
    }
    figures["total_s"] = round(time.perf_counter() - started, 1)
    print("\n".join(table(figures)), flush=True)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
