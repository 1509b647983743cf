"""Restore a curated table to any point in time: `datalake restore TABLE --list | --at TIME`.

The version current at that moment (`version_at`) becomes current again through the same commit
as a publication, so the replaced version is archived first and a restore can itself be undone.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from datetime import UTC, datetime

from datalake.paths import Lake
from datalake.storage.archive import Version, gzip_open, list_versions
from datalake.storage.atomic import remove
from datalake.storage.curated import commit_files, current_meta, table_lock, temp_pair

log = logging.getLogger(__name__)


def version_at(lake: Lake, name: str, moment: datetime) -> Version | None:
    """The archived version that was current at `moment`, if it is not the current one."""
    meta = current_meta(lake, name)
    if meta and datetime.fromisoformat(meta["published_at"]) <= moment:
        return None
    candidates = [v for v in list_versions(lake, name) if v.published_at <= moment]
    if not candidates:
        raise LookupError(f"no version of {name} existed at {moment.isoformat()}")
    return candidates[-1]


def restore(lake: Lake, name: str, moment: datetime, run_id: str = "restore") -> Version | None:
    """Make the version current at `moment` the current table again; None if it already is."""
    with table_lock(lake, name):  # a run publishing this table waits, and vice versa
        version = version_at(lake, name, moment)
        if version is None:
            return None
        csv_temp, parquet_temp = temp_pair(lake, name)
        try:
            with gzip_open(version.csv_gz, "rb") as src, open(csv_temp, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            if version.parquet.exists():
                shutil.copyfile(version.parquet, parquet_temp)
            else:  # never leave a Parquet file that disagrees with the restored CSV
                log.warning("%s has no Parquet copy: the current Parquet file is removed", version)
                remove(lake.curated / f"{name}.parquet")
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
