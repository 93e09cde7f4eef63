"""Polling N feeds that mostly answer 304, from a local server in another process, over
kept-alive connections: polls/s, CPU per unchanged poll, poller RSS, Redis memory."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import resource
import socket
import tempfile
import time
from pathlib import Path

from monitor.config import load_settings
from monitor.pipeline import Pipeline
from monitor.state.runtime import open_store

_FEED = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
    "<item><title>a</title><link>http://127.0.0.1/a/{n}</link><guid>a-{n}</guid></item>"
    "<item><title>b</title><link>http://127.0.0.1/b/{n}</link><guid>b-{n}</guid></item>"
    "</channel></rss>"
)


def _serve(sock: socket.socket) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode()
                if b"if-none-match" in head.lower():
                    writer.write(
                        b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 0\r\n\r\n'
                    )
                else:
                    body = _FEED.format(n=path.rsplit("/", 1)[-1]).encode()
                    writer.write(b'HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nETag: "v1"\r\n'
                                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)  # fmt: skip
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, sock=sock, backlog=1024)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


VARIANTS = {  # name -> http settings: the shipped default (aiohttp itself), and what it replaced
    "direct": {"transport": "direct", "shards": 8, "shard_connections": 16},
    "httpx_aiohttp_sharded": {"transport": "aiohttp", "shards": 8, "shard_connections": 16},
    "httpcore_sharded": {"transport": "httpcore", "shards": 8, "shard_connections": 16},
    "httpcore_one_client": {"transport": "httpcore", "shards": 1, "shard_connections": 200},
}


async def _bench(port: int, n: int, data: Path, http: dict[str, object]) -> dict[str, float]:
    feeds = [
        {"url": f"http://127.0.0.1:{port}/feed/{i}", "interval": 60, "name": f"f{i}"}
        for i in range(n)
    ]
    settings = load_settings(None, feeds=feeds, data_dir=str(data), redis_url="", log_level="error",
                             allow_private_hosts=["127.0.0.1"], http={"per_host": 200, **http}, service={"feed_alert_after_s": 0})  # fmt: skip
    async with open_store(settings) as store:
        pipeline = Pipeline.build(settings, store, publish=True)  # the poller role: to the stream
        base = int((await store.r.info("memory"))["used_memory"])
        first = time.perf_counter()
        await pipeline.poll_all(list(settings.feeds))  # 200s: two new items each
        first_s = time.perf_counter() - first
        rounds = []
        for _ in range(2):
            cpu, wall = time.process_time(), time.perf_counter()
            outcomes = await pipeline.poll_all(list(settings.feeds))
            rounds.append((time.perf_counter() - wall, time.process_time() - cpu))
            assert all(o.status == "not_modified" for o in outcomes)
        used = int((await store.r.info("memory"))["used_memory"])
        await pipeline.aclose()
    wall, cpu = min(rounds)
    return {
        "poll_feeds": n,
        "poll_first_round_per_s": round(n / first_s, 1),
        "poll_unchanged_per_s": round(n / wall, 1),
        "poll_cpu_ms_per_unchanged": round(cpu / n * 1000, 3),
        "poller_rss_mb": round(_rss_mb(), 1),
        "redis_used_mb": round((used - base) / 1e6, 2),
    }


def _bench_in_fresh_process(
    port: int, n: int, tmp: str, http: dict[str, object]
) -> dict[str, float]:
    """Run one variant in this (spawned) process, so RSS is the poller's alone."""
    from monitor import logs

    logs.configure("info", "json", stream=open(os.devnull, "w"))  # noqa: SIM115 - process-long
    return asyncio.run(_bench(port, n, Path(tmp), http))


def run(quick: bool = False) -> dict[str, float]:
    """Start the server process, then poll."""
    n = 1500 if quick else 10_000
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    port = sock.getsockname()[1]
    server = multiprocessing.get_context("fork").Process(target=_serve, args=(sock,), daemon=True)
    server.start()
    out: dict[str, float] = {}
    try:
        for name, http in VARIANTS.items():
            size = n if name == "direct" else n // 2
            spawn = multiprocessing.get_context("spawn")
            with (
                tempfile.TemporaryDirectory(prefix="mon-poll-", dir="/tmp") as tmp,
                spawn.Pool(1) as pool,
            ):
                figures = pool.apply(_bench_in_fresh_process, (port, size, tmp, http))
            if name == "direct":
                out.update(figures)
            else:
                out[f"poll_unchanged_per_s_{name}"] = figures["poll_unchanged_per_s"]
                out[f"poll_cpu_ms_per_unchanged_{name}"] = figures["poll_cpu_ms_per_unchanged"]
        out["poll_cpu_direct_vs_httpx_aiohttp_ratio"] = round(
            out["poll_cpu_ms_per_unchanged"]
            / out["poll_cpu_ms_per_unchanged_httpx_aiohttp_sharded"],
            3,
        )
        out["poll_speedup_vs_one_httpx_client"] = round(
            out["poll_unchanged_per_s"] / out["poll_unchanged_per_s_httpcore_one_client"], 2
        )
        return out
    finally:
        server.terminate()
        server.join(5)
        sock.close()
