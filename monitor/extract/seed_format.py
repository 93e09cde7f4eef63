"""Read and write seed-format files: `NNN_<16 hex>.txt` (headline, then one paragraph per
line, UTF-8) with a JSON sidecar `NNN_<16 hex>.json` holding the metadata."""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.models import Article, Extraction
from monitor.process import pid_alive

SEED_NAME = re.compile(r"^(\d{3,})_([0-9a-f]{16})\.txt$")


def archive_name(seq: int, url_hash: str, day: datetime) -> str:
    """Relative archive path: one folder per UTC day, `NNN_<hash>.txt` inside."""
    return f"{day.astimezone(UTC):%Y-%m-%d}/{seq:03d}_{url_hash}.txt"


def _atomic_write(path: Path, data: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # the writer's pid is in the name, so a crashed writer's leftovers can be told apart
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".tmp-{os.getpid()}-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_TEMP = re.compile(r"^\.tmp-(\d+)-")


def remove_orphan_temp_files(root: Path, recent_s: float = 2 * 86400) -> int:
    """Delete half-written archive files whose writer process is gone (a SIGKILLed worker's
    atomic write); only day folders touched in the last `recent_s` are looked at."""
    if not root.is_dir():
        return 0
    removed = 0
    horizon = time.time() - recent_s
    for folder in (p for p in root.iterdir() if p.is_dir() and p.stat().st_mtime >= horizon):
        for entry in folder.iterdir():
            m = _TEMP.match(entry.name)
            if m and not pid_alive(int(m.group(1))):
                entry.unlink(missing_ok=True)
                removed += 1
    return removed


def sidecar_of(article: Article) -> dict[str, Any]:
    """The JSON sidecar fields."""
    return {
        "url": article.url,
        "canonical_url": article.canonical_url,
        "feed": article.feed,
        "source": article.source,
        "published": article.published.isoformat() if article.published else None,
        "fetched": article.fetched.isoformat(),
        "language": article.language,
        "title": article.title,
        "extraction": article.extraction,
        "tags": list(article.tags),
    }


def write_article(path: Path, article: Article) -> None:
    """Write the text file and its sidecar atomically (sidecar first, text last)."""
    _atomic_write(
        path.with_suffix(".json"), json.dumps(sidecar_of(article), ensure_ascii=False, indent=1)
    )
    _atomic_write(path, article.text)


def _dt(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _extraction(value: Any) -> Extraction:
    """The sidecar's word for where the text came from ("file" when it says nothing known)."""
    match value:
        case "page" | "feed" | "file":
            return value  # type: ignore[no-any-return]
    return "file"


def read_article(path: Path) -> Article:
    """Read a seed-format file (and its sidecar when there is one)."""
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig", errors="replace")
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    title, paragraphs = (lines[0], tuple(lines[1:])) if lines else ("", ())
    meta: dict[str, Any] = {}
    sidecar = path.with_suffix(".json")
    if sidecar.exists():
        try:
            loaded = json.loads(sidecar.read_text(encoding="utf-8"))
            meta = loaded if isinstance(loaded, dict) else {}
        except (json.JSONDecodeError, UnicodeDecodeError):
            meta = {}
    fetched = _dt(meta.get("fetched")) or datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    url = str(meta.get("url") or path.resolve().as_uri())
    return Article(
        title=title,
        paragraphs=paragraphs,
        url=url,
        canonical_url=str(meta.get("canonical_url") or url),
        feed=str(meta.get("feed") or ""),
        source=str(meta.get("source") or path.name),
        published=_dt(meta.get("published")),
        fetched=fetched,
        language=meta.get("language"),
        extraction=_extraction(meta.get("extraction")),
        path=str(path),
        tags=tuple(meta.get("tags") or ()),
    )


def iter_text_files(paths: list[Path]) -> Iterator[Path]:
    """Every `.txt` file under the given files/folders, recursively, in name order; hidden
    files and folders below a folder are skipped (`../archive` itself is fine)."""
    for p in paths:
        if p.is_dir():
            found = (x for x in p.rglob("*.txt") if x.is_file())
            yield from sorted(
                x for x in found if not any(s.startswith(".") for s in x.relative_to(p).parts)
            )
        else:
            yield p


def probe_writable(folder: Path) -> None:
    """Write, fsync and remove a small file in the archive folder; raises OSError if it cannot
    (a full disk, a read-only mount, a file in the way). Health checks and `status` use it."""
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / f".probe-{os.getpid()}"
    try:
        with probe.open("wb") as fh:
            fh.write(b"ok\n" * 1024)
            fh.flush()
            os.fsync(fh.fileno())
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()
