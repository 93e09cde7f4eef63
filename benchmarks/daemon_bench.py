"""`monitor run --role poller` as a real process: N feeds spread over many 127.0.x.y hosts,
1 % of them changing per interval, for as long as the daemon runs in production — and the
floor, an aiohttp + Redis loop doing the same state work, measured in the same run.

What is measured, by whom:
- polls/s and missed schedules by the feed server (it sees every request); a feed missed its
  schedule when the time between two of its polls (or from its last poll to the end of the
  window) exceeds 1.25 x the interval (the daemon's jitter is at most a tenth of it);
- CPU per poll from /proc: the poller's and its redis-server's utime + stime over the window,
  divided by the polls the server answered in it; the feed server's own share of a core and
  the load average beside it (on a 2-core machine the server can be what limits polls/s);
- RSS of the poller at the end, and per feed: (that RSS less the RSS of the same poller with
  one feed, run right after) / (N - 1);
- Redis memory per feed two ways: INFO used_memory growth less the items stream, over N; and
  MEMORY USAGE of a sample of feeds' own keys (state hash, seen set, item versions) plus
  their share of the due zset and the feeds index.

Size knobs: `python -m benchmarks --only daemon --daemon-feeds 50000 --daemon-interval 60`
(or `python -m benchmarks.daemon_bench --feeds 50000 --interval 60`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import heapq
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from multiprocessing.sharedctypes import SynchronizedArray
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT
from monitor.state.keys import Keys
from monitor.state.redis_server import RedisServer, free_port

ITEMS = 10  # items per feed body (so the seen set holds 10 per feed)
CHANGE_EVERY = 100  # intervals between two changes of one feed: 1 % change per interval
LATE = 1.25  # a gap above LATE x interval is a missed schedule
_TICK = os.sysconf("SC_CLK_TCK")


# -- the feed server (a forked process, many listening addresses) ----------------------------


class Seen:
    """Shared arrays the server writes and the parent reads: per feed, its last poll and the
    largest gap between two polls inside the window; the number of polls in the window."""

    def __init__(self, n: int) -> None:
        ctx = multiprocessing.get_context("fork")
        self.last: SynchronizedArray[float] = ctx.Array(ctypes.c_double, n, lock=False)  # type: ignore[assignment]
        self.gap: SynchronizedArray[float] = ctx.Array(ctypes.c_double, n, lock=False)  # type: ignore[assignment]
        self.window = ctx.Array(ctypes.c_double, 2, lock=False)  # [start, polls in window]
        self.total = ctx.Array(ctypes.c_double, 1, lock=False)  # every poll ever
        self.server_pid = 0  # the serving process (set in the parent once started)

    def polled(self, i: int, now: float) -> None:
        """Record one poll of feed `i` at `now`."""
        start = self.window[0]
        if start and now >= start:
            if self.last[i]:
                self.gap[i] = max(self.gap[i], now - self.last[i])
            self.window[1] += 1
        self.last[i] = now
        self.total[0] += 1

    def open_window(self) -> float:
        """Start counting now (gaps that end inside the window count in full)."""
        for i in range(len(self.gap)):
            self.gap[i] = 0.0
        self.window[1] = 0
        self.window[0] = time.time()
        return self.window[0]

    def covered(self) -> int:
        """Feeds polled at least once."""
        return sum(1 for t in self.last if t)


def _body(i: int, version: int) -> bytes:
    items = "".join(
        f"<item><title>Item {i}-{v}</title><link>http://127.0.0.1/{i}/{v}</link>"
        f"<guid>{i}-{v}</guid><description>Text of item {v} of feed {i}.</description></item>"
        for v in range(version, version - ITEMS, -1)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {i}</title>{items}'
        "</channel></rss>"
    ).encode()


def _version(i: int, n: int, now: float, interval: float) -> int:
    """Each feed changes once every CHANGE_EVERY intervals, phases spread over the feeds."""
    return int(now / (interval * CHANGE_EVERY) + i / n)


def _serve(socks: list[socket.socket], seen: Seen, n: int, interval: float) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                now = time.time()
                i = int(head.split(b" ", 2)[1].rsplit(b"/", 1)[-1])
                seen.polled(i, now)
                etag = b'"%d"' % _version(i, n, now, interval)
                if b"if-none-match: " + etag in head.lower():
                    writer.write(b"HTTP/1.1 304 Not Modified\r\nETag: " + etag + b"\r\n\r\n")
                else:
                    body = _body(i, _version(i, n, now, interval))
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nETag: " + etag
                                 + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)  # fmt: skip
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, IndexError):
            writer.close()

    async def main() -> None:
        servers = [await asyncio.start_server(handle, sock=s, backlog=1024) for s in socks]
        await asyncio.gather(*(s.serve_forever() for s in servers))

    asyncio.run(main())


def _listen(hosts: int) -> tuple[list[socket.socket], int]:
    """One listening socket per host 127.0.1.1 … on one port (retried if a host has it)."""
    for _attempt in range(20):
        port = free_port()
        socks: list[socket.socket] = []
        try:
            for h in range(hosts):
                sock = socket.socket()
                socks.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((_host(h), port))
                sock.listen(1024)
            return socks, port
        except OSError:
            for sock in socks:
                sock.close()
    raise RuntimeError("no port free on every benchmark host")


def _host(h: int) -> str:
    return f"127.0.{1 + h // 250}.{1 + h % 250}"


def _url(i: int, hosts: int, port: int) -> str:
    return f"http://{_host(i % hosts)}:{port}/feed/{i}"


@contextlib.contextmanager
def feed_server(n: int, hosts: int, interval: float) -> Iterator[tuple[Seen, int]]:
    """The feed server in a forked process, and what it records."""
    seen = Seen(n)
    socks, port = _listen(hosts)
    proc = multiprocessing.get_context("fork").Process(
        target=_serve, args=(socks, seen, n, interval), daemon=True
    )
    proc.start()
    seen.server_pid = proc.pid or 0
    try:
        yield seen, port
    finally:
        proc.terminate()
        proc.join(5)
        for sock in socks:
            sock.close()


# -- measuring processes from /proc ---------------------------------------------------------


def cpu_s(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def rss_mb(pid: int) -> float:
    """Resident memory of a process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _redis_memory(url: str) -> float:
    """Used memory less the items stream (what pollers hand to workers is not feed state)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        used = int(client.info("memory")["used_memory"])
        stream = client.memory_usage(Keys().items_stream(), samples=0) or 0
        return float(used - int(stream))
    finally:
        client.close()


def _redis_keys_kb_per_feed(url: str, n: int, sample: int = 200) -> float:
    """MEMORY USAGE of what Redis holds per feed: its state hash, seen set and item
    versions (a sample of feeds), plus its share of the due zset and the feeds index."""
    import redis

    keys = Keys()
    client = redis.Redis.from_url(url)
    try:
        step = max(1, n // sample)
        picked = range(0, n, step)
        own = sum(
            int(client.memory_usage(k, samples=0) or 0)
            for i in picked
            for k in (keys.feed(f"f{i}"), keys.seen(f"f{i}"), keys.item_versions(f"f{i}"))
        )
        shared = sum(int(client.memory_usage(k, samples=0) or 0)
                     for k in (keys.feeds_due(), keys.feeds_index()))  # fmt: skip
        return (own / len(picked) + shared / n) / 1024
    finally:
        client.close()


def _wait(seen: Seen, n: int, deadline_s: float) -> float:
    """Seconds until every feed was polled once (the first round), or -1 past the deadline."""
    started = time.time()
    while seen.covered() < n:
        if time.time() - started > deadline_s:
            return -1.0
        time.sleep(0.5)
    return time.time() - started


def _window(
    seen: Seen, pids: list[int], n: int, interval: float, window_s: float
) -> dict[str, float]:
    """Open the window, sleep through it, and read polls, gaps and CPU."""
    cpu0 = [cpu_s(p) for p in pids]
    server0 = cpu_s(seen.server_pid)
    load0 = os.getloadavg()[0]
    start = seen.open_window()
    time.sleep(window_s)
    end = time.time()
    polls = seen.window[1]
    cpu = [cpu_s(p) - c for p, c in zip(pids, cpu0, strict=True)]
    server = cpu_s(seen.server_pid) - server0
    late = sum(1 for i in range(n) if max(seen.gap[i], end - seen.last[i]) > LATE * interval)
    return {
        "polls_per_s": polls / (end - start),
        "missed": late,
        "cpu_ms_per_poll": sum(cpu) / polls * 1000 if polls else -1.0,
        "own_cpu_ms_per_poll": cpu[0] / polls * 1000 if polls else -1.0,
        "cpu_share": sum(cpu) / (end - start),
        "server_share": server / (end - start),  # the feed server shares the machine's cores
        "load": (load0 + os.getloadavg()[0]) / 2,
    }


# -- the daemon ------------------------------------------------------------------------------


def _daemon(
    n: int, hosts: int, interval: int, window_s: float, tmp: Path, http: dict[str, object]
) -> dict[str, float]:
    redis = RedisServer(tmp / "redis-daemon", port=free_port()).start()
    assert redis.proc is not None
    with feed_server(n, hosts, interval) as (seen, port):

        def poller(feeds: int, prefix: str) -> subprocess.Popen[bytes]:
            cfg = tmp / f"poller-{prefix}.yaml"  # JSON is YAML
            cfg.write_text(json.dumps({
                "feeds": [{"url": _url(i, hosts, port), "interval": interval, "name": f"f{i}"} for i in range(feeds)],
                "redis_url": redis.url, "redis_prefix": prefix, "data_dir": str(tmp / "data"),
                "rules": str(ROOT / "rules"), "allow_private_hosts": ["127.0.0.0/8"], "log_format": "json",
                "service": {"port": 0, "feed_alert_after_s": 0}, "alerts": {"console": False}, "http": http,
            }))  # fmt: skip
            env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
            return subprocess.Popen([sys.executable, "-m", "monitor", "run", "--role", "poller", "--config", str(cfg)],
                                    cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip

        base = _redis_memory(redis.url)
        started = time.time()
        proc = poller(n, "monitor")
        try:
            first = _wait(seen, n, max(120.0, n / 50))
            first_s = time.time() - started if first >= 0 else -1.0
            time.sleep(min(interval / 2, 10))  # the first round's stragglers
            out = _window(seen, [proc.pid, redis.proc.pid], n, interval, window_s)
            out["rss_mb"] = rss_mb(proc.pid)
            out["first_round_s"] = first_s
            out["redis_kb_per_feed"] = (_redis_memory(redis.url) - base) / n / 1024
            out["redis_keys_kb_per_feed"] = _redis_keys_kb_per_feed(redis.url, n)
        finally:
            proc.terminate()
            proc.wait(60)
        # The same poller with one feed (its own key prefix), once that feed was polled and
        # the poller idled a few seconds: what N - 1 more feeds add is the per-feed memory.
        solo = poller(1, "solo")
        try:
            polled = seen.total[0]
            deadline = time.time() + 60
            while seen.total[0] == polled and time.time() < deadline:
                time.sleep(0.2)
            time.sleep(3)
            out["solo_rss_mb"] = rss_mb(solo.pid)
        finally:
            solo.terminate()
            solo.wait(60)
            redis.stop()
    return out


# -- the floor: an aiohttp + Redis loop doing the same state work -----------------------------


async def _floor_loop(
    n: int, hosts: int, port: int, interval: float, redis_url: str, stop_at: float
) -> None:
    """Per due feed: read its state and take its lease (one round trip), a conditional GET,
    write the state back. Feeds due in a heap, phases spread over the interval."""
    import aiohttp
    import redis.asyncio as aioredis

    r = aioredis.Redis.from_url(redis_url, decode_responses=True, max_connections=256)
    gate = asyncio.Semaphore(128)
    keys = Keys("floor")
    due = [(time.time() + interval * i / n, i) for i in range(n)]
    heapq.heapify(due)
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=4)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def poll(i: int) -> None:
            async with gate:
                name = f"f{i}"
                async with r.pipeline(transaction=False) as pipe:
                    pipe.hgetall(keys.feed(name))
                    pipe.set(f"floor:lease:{i}", "floor", nx=True, px=int(interval * 900))
                    state, _lease = await pipe.execute()
                headers = {"If-None-Match": state["etag"]} if state.get("etag") else {}
                async with http.get(_url(i, hosts, port), headers=headers) as resp:
                    body = await resp.read()
                    fields: dict[str, Any] = {
                        "last_poll": time.time(),
                        "next_attempt": time.time() + interval,
                    }
                    if resp.status == 200:
                        fields.update(etag=resp.headers.get("etag", ""), body_len=len(body))
                await r.hset(keys.feed(name), mapping=fields)

        tasks: set[asyncio.Task[None]] = set()
        while time.time() < stop_at:
            now = time.time()
            while due and due[0][0] <= now:
                _when, i = heapq.heappop(due)
                heapq.heappush(due, (now + interval, i))
                task = asyncio.create_task(poll(i))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            await asyncio.sleep(min(0.2, max(0.001, due[0][0] - time.time())))  # till the next
        await asyncio.gather(*tasks, return_exceptions=True)
    await r.aclose()


def _floor_process(*args: Any) -> None:
    asyncio.run(_floor_loop(*args))


def _floor(n: int, hosts: int, interval: int, window_s: float, tmp: Path) -> dict[str, float]:
    redis = RedisServer(tmp / "redis-floor", port=free_port()).start()
    assert redis.proc is not None
    with feed_server(n, hosts, interval) as (seen, port):
        settle = interval + min(interval / 2, 10)
        proc = multiprocessing.get_context("spawn").Process(
            target=_floor_process,
            args=(n, hosts, port, interval, redis.url, time.time() + settle + window_s + 5),
        )
        proc.start()
        try:
            assert proc.pid is not None
            time.sleep(settle)  # one round at its phases, then steady
            out = _window(seen, [proc.pid, redis.proc.pid], n, interval, window_s)
            out["rss_mb"] = rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.join(10)
            redis.stop()
    return out


def run(
    quick: bool = False,
    feeds: int | None = None,
    interval: int | None = None,
    hosts: int = 200,
    http: dict[str, object] | None = None,
    floor: bool = True,
) -> dict[str, float]:
    """The daemon and its floor, the figures and their ratios."""
    n = feeds or (1000 if quick else 3000)
    every = interval or (10 if quick else 30)
    window_s = every * (1.0 if quick else 1.5)
    with tempfile.TemporaryDirectory(prefix="mon-daemon-", dir="/tmp") as tmp:
        ours = _daemon(n, hosts, every, window_s, Path(tmp), http or {})
        base = _floor(n, hosts, every, window_s, Path(tmp)) if floor else None
    needed = n / every
    out: dict[str, float] = {
        "daemon_feeds": n,
        "daemon_hosts": hosts,
        "daemon_interval_s": every,
        "daemon_window_s": window_s,
        "daemon_first_round_s": round(ours["first_round_s"], 1),
        "daemon_polls_per_s_needed": round(needed, 1),
        "daemon_polls_per_s": round(ours["polls_per_s"], 1),
        "daemon_polls_vs_needed": round(ours["polls_per_s"] / needed, 3),
        "daemon_missed_schedules": int(ours["missed"]),
        "daemon_cpu_ms_per_poll": round(ours["cpu_ms_per_poll"], 3),
        "daemon_own_cpu_ms_per_poll": round(ours["own_cpu_ms_per_poll"], 3),
        "daemon_cpu_cores_used": round(ours["cpu_share"], 2),
        "daemon_feed_server_cores_used": round(ours["server_share"], 2),
        "daemon_load_average": round(ours["load"], 2),
        "daemon_rss_mb": round(ours["rss_mb"], 1),
        "daemon_rss_target_mb": round(rss_target_mb(n), 1),
        "daemon_rss_one_feed_mb": round(ours["solo_rss_mb"], 1),
        "daemon_rss_kb_per_feed": round(
            (ours["rss_mb"] - ours["solo_rss_mb"]) * 1024 / max(1, n - 1), 2
        ),
        "daemon_redis_kb_per_feed": round(ours["redis_kb_per_feed"], 2),
        "daemon_redis_keys_kb_per_feed": round(ours["redis_keys_kb_per_feed"], 2),
    }
    if base is not None:
        out.update({
            "daemon_floor_polls_per_s": round(base["polls_per_s"], 1),
            "daemon_floor_missed_schedules": int(base["missed"]),
            "daemon_floor_cpu_ms_per_poll": round(base["cpu_ms_per_poll"], 3),
            "daemon_floor_rss_mb": round(base["rss_mb"], 1),
            "daemon_floor_feed_server_cores_used": round(base["server_share"], 2),
            "daemon_cpu_vs_floor_ratio": round(ours["cpu_ms_per_poll"] / base["cpu_ms_per_poll"], 2),
        })  # fmt: skip
    return out


def rss_target_mb(feeds: int) -> float:
    """150 MB at 10k feeds and at most 5 KB per feed beyond (the issue's memory target)."""
    return 150 + max(0, feeds - 10_000) * 5 / 1024


def main() -> None:
    """Run only this benchmark, with its size knobs."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.daemon_bench")
    parser.add_argument("--feeds", type=int, default=None)
    parser.add_argument("--interval", type=int, default=None)
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-floor", action="store_true", help="skip the floor (experiments)")
    parser.add_argument(
        "--http", default="{}", help='http settings as JSON, e.g. {"transport": "aiohttp"}'
    )
    args = parser.parse_args()
    print(
        json.dumps(
            run(
                args.quick,
                args.feeds,
                args.interval,
                args.hosts,
                json.loads(args.http),
                not args.no_floor,
            )
        )
    )


if __name__ == "__main__":
    main()
