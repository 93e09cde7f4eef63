"""Scale-out: 1, 2 and 4 `monitor run --role worker` processes on the same backlog of real
pages (shared/data/html served locally) — throughput and its ratio to one worker.

Every item is a different page (no exact copies that the alerts stage drops before matching),
and the window is warm: the workers first finish a warm-up batch of other pages (imports,
rule compilation, first connections), then the timed backlog is published."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT
from benchmarks.pipeline_bench import pages
from monitor.extract.seed_format import SEED_NAME
from monitor.models import FeedEntry
from monitor.state.entry_codec import entry_to_json
from monitor.state.redis_server import RedisServer, free_port
from monitor.state.store import Store, connect


def _serve(docs: dict[str, bytes]) -> tuple[ThreadingHTTPServer, int]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_a: Any) -> None:
            pass

        def do_GET(self) -> None:
            body = docs.get(self.path.split("?")[0], b"")
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


async def _publish(url: str, port: int, pages: range) -> None:
    store = Store(connect(url))
    try:
        await store.streams.ensure_group()
        entries = [
            FeedEntry("bench", f"e{i}", f"http://127.0.0.1:{port}/p{i}", f"http://127.0.0.1:{port}/p{i}",
                      f"Page {i}", "", None, "bench")
            for i in pages
        ]  # fmt: skip
        await store.streams.publish([entry_to_json(e) for e in entries])
    finally:
        await store.aclose()


def _archived(archive: Path) -> int:
    """Archive files (not the `.tmp-` files of writes in progress)."""
    return (
        sum(1 for f in archive.rglob("*.txt") if SEED_NAME.match(f.name)) if archive.exists() else 0
    )


async def _pending(url: str) -> int:
    store = Store(connect(url))
    try:
        return (await store.streams.backlog())[1]
    finally:
        await store.aclose()


def _done(archive: Path, url: str, n: int, deadline_s: float) -> None:
    """Wait until `n` files are archived and nothing is pending; the pending count (a new
    connection) is asked only then, so the waiting costs the two cores little."""
    deadline = time.time() + deadline_s
    while time.time() < deadline:
        if _archived(archive) >= n and asyncio.run(_pending(url)) == 0:
            return
        time.sleep(0.1)


def _one(workers: int, warm: int, total: int, port: int, tmp: Path) -> float:
    redis = RedisServer(tmp / f"redis{workers}", port=free_port()).start()
    cfg = tmp / f"w{workers}.yaml"
    cfg.write_text(
        f"redis_url: {redis.url}\ndata_dir: {tmp / f'data{workers}'}\nrules: {ROOT / 'rules'}\n"
        "allow_private_hosts: [127.0.0.1]\nlog_level: warning\nlog_format: json\n"
        "alerts: {console: false}\nservice: {port: 0, feed_alert_after_s: 0}\nworkers: {batch: 4}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    procs = [subprocess.Popen([sys.executable, "-m", "monitor", "run", "--role", "worker", "--config", str(cfg)], cwd=ROOT,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(workers)]  # fmt: skip
    archive = tmp / f"data{workers}" / "archive"
    try:
        asyncio.run(_publish(redis.url, port, range(warm)))
        _done(archive, redis.url, warm, 300)  # every worker started, imported and warmed
        started = time.perf_counter()
        asyncio.run(_publish(redis.url, port, range(warm, total)))
        _done(archive, redis.url, total, 300)
        return (total - warm) / (time.perf_counter() - started)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(60)
        redis.stop()


def run(quick: bool = False) -> dict[str, float]:
    """Items/s with 1, 2 and 4 workers, and the ratios to one."""
    docs = {f"/p{i}": raw for i, (_name, raw) in enumerate(pages())}
    server, port = _serve(docs)
    total = 40 if quick else len(docs)
    warm = 8 if quick else 16  # 4 items per worker's first read (workers.batch)
    out: dict[str, float] = {"scale_items": total - warm, "scale_warmup_items": warm}
    try:
        with tempfile.TemporaryDirectory(prefix="mon-scale-", dir="/tmp") as tmp:
            for workers in (1, 2, 4):
                out[f"scale_{workers}_workers_items_per_s"] = round(
                    _one(workers, warm, total, port, Path(tmp)), 2
                )
    finally:
        server.shutdown()
    base = out["scale_1_workers_items_per_s"]
    out["scale_2_vs_1_ratio"] = round(out["scale_2_workers_items_per_s"] / base, 2)
    out["scale_4_vs_1_ratio"] = round(out["scale_4_workers_items_per_s"] / base, 2)
    return out
