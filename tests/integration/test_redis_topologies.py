"""Sentinel and Cluster URLs against real redis-server processes (binaries from the wheel)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from monitor.models import AlertPayload
from monitor.state.alerts import DecideArgs
from monitor.state.redis_server import RedisServer, free_port, redis_server_binary
from monitor.state.store import Store, cluster_safe_prefix, connect


def _wait(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():  # type: ignore[operator]
                return
        except (redis.RedisError, OSError):
            pass
        time.sleep(0.2)
    raise AssertionError("redis topology did not come up")


async def _exercise(store: Store) -> tuple[list[str], str, int, list[str]]:
    """Seen-set, Lua decision + outbox, claim, stream: the verbs that span keys."""
    try:
        await store.mark_seen("f", ["a"])
        unseen = await store.unseen("f", ["a", "b"])
        args = DecideArgs(
            rule="r", group="", window_s=60, new_alert_id="A1", article_id="x1", source="s.example",
            story="x1", min_sources=1, payload=AlertPayload(headline="h"), now=time.time(),
            due=time.time(), due_digest=time.time(),
        )  # fmt: skip
        decision = await store.alerts.decide(args, ["jsonl"], frozenset())
        claimed = len(await store.alerts.claim(10, 5))
        await store.streams.ensure_group()
        await store.streams.publish([{"n": 1}])
        items = await store.streams.read("c1", 10, 100)
        await store.streams.ack([i.id for i in items])
        return unseen, decision.action, claimed, [str(i.payload["n"]) for i in items]
    finally:
        await store.aclose()


@pytest.fixture
def sentinel(tmp_path: Path) -> Iterator[str]:
    """A master and one Sentinel watching it; yields the sentinel URL."""
    master = RedisServer(tmp_path / "master", port=free_port()).start()
    port = free_port()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(f"port {port}\nbind 127.0.0.1\nsentinel monitor mymaster 127.0.0.1 {master.port} 1\n"
                    "sentinel down-after-milliseconds mymaster 2000\n")  # fmt: skip
    proc = subprocess.Popen(
        [redis_server_binary(), str(conf), "--sentinel"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(lambda: redis.Redis(port=port).sentinel_master("mymaster"))
        yield f"redis+sentinel://127.0.0.1:{port}/mymaster/0"
    finally:
        proc.terminate()
        proc.wait(10)
        master.stop()


async def test_sentinel_url_reaches_the_master(sentinel: str) -> None:
    """Every key-spanning verb works through a Sentinel-resolved master."""
    assert await _exercise(Store(connect(sentinel))) == (["b"], "open", 1, ["1"])


def _cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is valid and free too."""
    import socket

    while True:
        port = free_port()
        if port + 10000 > 65535:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[str]:
    """Three masters joined with redis-cli --cluster create; yields the cluster URL."""
    ports = [_cluster_port() for _ in range(3)]
    procs = []
    for p in ports:
        d = tmp_path / f"n{p}"
        d.mkdir()
        procs.append(subprocess.Popen([redis_server_binary(), "--port", str(p), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                                       "--cluster-config-file", str(d / "nodes.conf"), "--dir", str(d), "--save", "",
                                       "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # fmt: skip
    cli = str(Path(redis_server_binary()).with_name("redis-cli"))
    try:
        for p in ports:
            _wait(lambda p=p: redis.Redis(port=p).ping())
        subprocess.run([cli, "--cluster", "create", *[f"127.0.0.1:{p}" for p in ports], "--cluster-replicas", "0", "--cluster-yes"],
                       check=True, capture_output=True, timeout=60)  # fmt: skip
        _wait(lambda: redis.Redis(port=ports[0]).cluster("info")["cluster_state"] == "ok")
        yield "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in ports)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


async def test_cluster_url_with_one_slot_prefix(cluster: str) -> None:
    """On a Cluster the prefix is hash-tagged, so Lua scripts and transactions stay in one slot."""
    prefix = cluster_safe_prefix(cluster, "monitor")
    assert prefix == "{monitor}"
    assert await _exercise(Store(connect(cluster), prefix)) == (["b"], "open", 1, ["1"])
