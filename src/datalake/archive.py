"""The archive of curated tables: every replaced version, gzip-compressed, with a timestamp.

A version is named after the moment it was published (became current), so the version in force
at time T is the newest one published at or before T. `restore()` republishes it (archiving the
current version first, so a restore can itself be undone).

Usage: `python -m datalake.archive TABLE --list` or `python -m datalake.archive TABLE --at
2026-11-01T00:00:00Z`.
"""

from __future__ import annotations

import argparse
import gzip
import logging
import re
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from datalake.atomic import atomic_path
from datalake.paths import STAMP_FORMAT, Lake, stamp

log = logging.getLogger(__name__)
_VERSION_RE = re.compile(r"_(\d{8}T\d{6}Z)(?:-(\d+))?\.csv\.gz$")


@dataclass(frozen=True)
class Version:
    """One archived version of a curated table."""

    published_at: datetime
    sequence: int
    csv_gz: Path

    @property
    def parquet(self) -> Path:
        return self.csv_gz.with_name(self.csv_gz.name[: -len(".csv.gz")] + ".parquet")


def _same_bytes_gz(archived: Path, csv_path: Path) -> bool:
    with gzip.open(archived, "rb") as old, open(csv_path, "rb") as new:
        while True:
            a, b = old.read(1 << 20), new.read(1 << 20)
            if a != b:
                return False
            if not a:
                return True


def archive_version(lake: Lake, name: str, csv_path: Path, published_at: datetime) -> Path:
    """Gzip the current CSV (and copy its Parquet) into the archive; idempotent per version."""
    folder = lake.archive(name)
    folder.mkdir(parents=True, exist_ok=True)
    base, sequence = f"{name}_{stamp(published_at)}", 0
    while True:
        target = folder / (f"{base}.csv.gz" if sequence == 0 else f"{base}-{sequence}.csv.gz")
        if not target.exists():
            break
        if _same_bytes_gz(target, csv_path):
            return target  # archived already by a run that was interrupted afterwards
        sequence += 1
    parquet = csv_path.with_suffix(".parquet")
    if parquet.exists():
        with atomic_path(Version(published_at, sequence, target).parquet) as temp:
            shutil.copyfile(parquet, temp)
    with atomic_path(target) as temp:
        with open(csv_path, "rb") as src, gzip.open(temp, "wb", compresslevel=6) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    log.info("archived %s version of %s to %s", name, stamp(published_at), lake.relative(target))
    return target


def list_versions(lake: Lake, name: str) -> list[Version]:
    """Archived versions of a table, oldest first."""
    versions = []
    for path in lake.archive(name).glob(f"{name}_*.csv.gz"):
        match = _VERSION_RE.search(path.name)
        if match:
            moment = datetime.strptime(match.group(1), STAMP_FORMAT).replace(tzinfo=UTC)
            versions.append(Version(moment, int(match.group(2) or 0), path))
    return sorted(versions, key=lambda v: (v.published_at, v.sequence))


def version_at(lake: Lake, name: str, moment: datetime) -> Version | None:
    """The archived version that was current at `moment`, if it is not the current one."""
    from datalake.publish import current_meta

    meta = current_meta(lake, name)
    if meta and datetime.fromisoformat(meta["published_at"]) <= moment:
        return None
    candidates = [v for v in list_versions(lake, name) if v.published_at <= moment]
    if not candidates:
        raise LookupError(f"no version of {name} existed at {moment.isoformat()}")
    return candidates[-1]


def restore(lake: Lake, name: str, moment: datetime, run_id: str = "restore") -> Version | None:
    """Make the version current at `moment` the current table again; None if it already is."""
    from datalake.publish import commit_files, table_lock, temp_pair

    with table_lock(lake, name):  # a run publishing this table waits, and vice versa
        version = version_at(lake, name, moment)
        if version is None:
            return None
        csv_temp, parquet_temp = temp_pair(lake, name)
        try:
            with gzip.open(version.csv_gz, "rb") as src, open(csv_temp, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            if version.parquet.exists():
                shutil.copyfile(version.parquet, parquet_temp)
            else:  # never leave a Parquet file that disagrees with the restored CSV
                log.warning("%s has no Parquet copy: the current Parquet file is removed", version)
                (lake.curated / f"{name}.parquet").unlink(missing_ok=True)
            commit_files(
                lake,
                name,
                csv_temp,
                parquet_temp,
                run_id=run_id,
                note=f"restored {version.csv_gz.name}",
            )
        finally:
            csv_temp.unlink(missing_ok=True)
            parquet_temp.unlink(missing_ok=True)
    return version


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """CLI: list the archived versions of a table or restore it to a point in time."""
    from datalake.logs import setup_logging
    from datalake.settings import get_settings

    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("table")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--list", action="store_true", help="list archived versions")
    group.add_argument("--at", help="UTC time, e.g. 2026-11-01T00:00:00Z")
    args = parser.parse_args(argv)
    setup_logging()
    lake = Lake(get_settings().root)
    if args.list:
        for version in list_versions(lake, args.table):
            log.info("%s  %s", version.published_at.isoformat(), lake.relative(version.csv_gz))
        return 0
    moment = datetime.fromisoformat(args.at.replace("Z", "+00:00"))
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        version = restore(lake, args.table, moment)
    except LookupError as error:
        log.error("%s", error)
        return 1
    log.info("%s", "already current" if version is None else f"restored {version.csv_gz.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
