"""The curated zone's table store: each table's manifest, lock and atomic commit.

`curated/_manifest/<table>.json` describes the current version of a table (size, mtime, rows,
publication time, sources). `commit_files()` archives the current version first
(`datalake.storage.archive`), then moves the new CSV and Parquet files into place atomically.
`table_lock()` serialises every writer of one table: publishing runs, partitions of a shared
table, restores.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from filelock import FileLock

from datalake.paths import Lake, iso, utc_now
from datalake.storage.archive import archive_version
from datalake.storage.atomic import fsync_file, replace_atomically, temp_path_for
from datalake.storage.registry import FileStat

log = logging.getLogger(__name__)


def _manifest_path(lake: Lake, name: str) -> Path:
    return lake.curated / "_manifest" / f"{name}.json"


def current_meta(lake: Lake, name: str) -> dict[str, Any] | None:
    """The manifest of the current version of a curated table, if any."""
    path = _manifest_path(lake, name)
    return json.loads(path.read_text("utf-8")) if path.exists() else None


def describes_current(meta: dict[str, Any] | None, csv_path: Path) -> bool:
    """Whether a manifest describes the CSV now in place (same size and mtime)."""
    if not meta or not csv_path.exists():
        return False
    stat = FileStat.of(csv_path)
    return (meta.get("size"), meta.get("mtime_ns")) == (stat.size, stat.mtime_ns)


def repair_manifest(
    lake: Lake, name: str, run_id: str, rows: int, sources: list[str] | None = None
) -> bool:
    """Rewrite a table's manifest if it does not describe the CSV in place: a process killed
    between a commit's table and manifest renames leaves it missing or describing the previous
    version. The version was published when its file was written (the rename keeps the mtime).
    True if it was rewritten."""
    csv_path = lake.curated / f"{name}.csv"
    if describes_current(current_meta(lake, name), csv_path):
        return False
    stat = FileStat.of(csv_path)
    _write_manifest(
        lake,
        name,
        stat,
        rows=rows,
        published_at=_mtime(csv_path),
        run_id=run_id,
        note="manifest repaired: the run that published this version stopped before writing it",
        sources=sources,
    )
    log.warning("%s: its manifest did not describe the table in place; rewritten", name)
    return True


def repair_parquet(lake: Lake, name: str, parquet_temp: Path) -> bool:
    """Put `parquet_temp`, built with the CSV in place, in place of a Parquet file that differs
    from it: a process killed between a commit's Parquet and CSV renames leaves the new Parquet
    next to the old CSV, which a later build of the old content would otherwise keep (the same
    batches give the same bytes, so an equal table is not rewritten). True if replaced."""
    from datalake.tables.io import same_content

    parquet_path = lake.curated / f"{name}.parquet"
    if not parquet_temp.exists() or same_content(parquet_temp, parquet_path):
        return False
    replace_atomically(parquet_temp, parquet_path)  # flushed to disk first
    log.warning("%s: its Parquet file did not hold the CSV's rows; replaced", name)
    return True


def _manifest_document(
    name: str, stat: FileStat, rows, published_at: datetime, run_id: str, note: str, sources
) -> str:
    document = {
        "table": name,
        "size": stat.size,
        "mtime_ns": stat.mtime_ns,
        "rows": rows,
        "published_at": published_at.isoformat(),
        "run_id": run_id,
        "note": note,
        **({"sources": sources} if sources is not None else {}),
    }
    return json.dumps(document, indent=1, sort_keys=True) + "\n"


def _write_manifest(lake: Lake, name: str, stat: FileStat, **fields) -> None:
    manifest = _manifest_path(lake, name)
    manifest.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path_for(manifest)
    try:
        temp.write_text(_manifest_document(name, stat, **fields), "utf-8")
        fsync_file(temp)
        replace_atomically(temp, manifest)
    finally:
        temp.unlink(missing_ok=True)


def table_lock(lake: Lake, name: str) -> FileLock:
    """The lock that serialises writers of one curated table (released if the process dies)."""
    folder = lake.curated / "_manifest"
    folder.mkdir(parents=True, exist_ok=True)
    return FileLock(str(folder / f".{name}.lock"))


def temp_pair(lake: Lake, name: str) -> tuple[Path, Path]:
    """Temp paths for a new CSV and Parquet version of a table."""
    lake.curated.mkdir(parents=True, exist_ok=True)
    return (
        temp_path_for(lake.curated / f"{name}.csv"),
        temp_path_for(lake.curated / f"{name}.parquet"),
    )


def commit_files(
    lake: Lake,
    name: str,
    csv_temp: Path,
    parquet_temp: Path,
    run_id: str,
    rows: int | None = None,
    note: str = "",
    sources: list[str] | None = None,
) -> None:
    """Archive the current version (if any), then move the new files into place.

    Everything that needs disk space is written first (the archive copy, then the new files and
    the manifest describing them, each flushed to disk); only renames follow, so a full disk
    fails the commit before the table changed, never between a table and its manifest."""
    csv_path, parquet_path = lake.curated / f"{name}.csv", lake.curated / f"{name}.parquet"
    meta = current_meta(lake, name)
    if csv_path.exists():
        published = meta["published_at"] if meta else iso(_mtime(csv_path))
        archive_version(lake, name, csv_path, datetime.fromisoformat(published))
    published_at = utc_now()
    manifest = _manifest_path(lake, name)
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest_temp = temp_path_for(manifest)
    try:
        for temp in (parquet_temp, csv_temp):
            if temp.exists():
                fsync_file(temp)
        stat = FileStat.of(csv_temp)  # a rename keeps the size and mtime
        document = _manifest_document(name, stat, rows, published_at, run_id, note, sources)
        manifest_temp.write_text(document, "utf-8")
        fsync_file(manifest_temp)
    except BaseException:
        manifest_temp.unlink(missing_ok=True)
        raise
    if parquet_temp.exists():
        replace_atomically(parquet_temp, parquet_path)
    replace_atomically(csv_temp, csv_path)
    replace_atomically(manifest_temp, manifest)
    log.info(
        "published %s (%s rows)%s", name, "?" if rows is None else rows, f": {note}" if note else ""
    )


def _mtime(path: Path) -> datetime:
    from datetime import UTC

    return datetime.fromtimestamp(os.stat(path).st_mtime, UTC).replace(microsecond=0)
