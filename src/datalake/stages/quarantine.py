"""Quarantine and retirement: set bad input aside with a short reason a person can act on.

A landing file that cannot be recognised, checked or converted is quarantined: the landing file
stays where it is (landing is never modified); a copy and a `.reason.json` go to
`raw/_quarantine/<service>/`, and the registry marks its hash `quarantined`, so later runs do not
count it again until `--retry-quarantined` re-runs it through a fixed parser.

A raw file that a later stage still cannot use (written by an older, laxer parser, say) is retired:
it moves, gzipped, to `archive/raw/<service>/<dataset>/` with a `.reason.json`, the registry marks
its hash `retired`, and the stage goes on without it. `--retry-quarantined` converts its landing
file again.

`datalake quarantine` lists every quarantined and retired file of the lake with its
reason. Reasons are made short and actionable by `datalake.problems`.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from pathlib import Path

from datalake.paths import NAME_BYTES, Lake, fit_name, iso, utc_now
from datalake.problems import cap
from datalake.storage.archive import gzip_file
from datalake.storage.atomic import atomic_path, atomic_write_json, remove
from datalake.storage.registry import QUARANTINED, RETIRED, Registry

log = logging.getLogger(__name__)
RETRY_HINT = "fix the file or the parser, then run the lake with --retry-quarantined"


def _reason_file(beside: Path, sha256: str, reason: str, run_id: str, hint: str, **fields) -> None:
    """`<beside>.reason.json`: why a file was set aside and what to do about it."""
    atomic_write_json(
        beside.with_name(beside.name + ".reason.json"),
        {**fields, "sha256": sha256, "reason": reason, "run_id": run_id, "what_to_do": hint},
    )


def _copy_name(sha256: str, landing: Path) -> str:
    suffix = fit_name(landing.suffix, 20)  # the stem is cut, the extension kept
    return f"{sha256[:12]}_{fit_name(landing.stem, NAME_BYTES - len(suffix.encode()))}{suffix}"


def quarantine(
    lake: Lake,
    service: str,
    registry: Registry,
    landing: Path,
    sha256: str,
    reason: str,
    run_id: str,
) -> str:
    """Copy a landing file to quarantine with its (capped) reason, mark it; returns the reason."""
    reason = cap(reason)
    folder = lake.quarantine(service)
    copy = folder / _copy_name(sha256, landing)
    with atomic_path(copy) as temp:
        shutil.copyfile(landing, temp)
    _reason_file(
        copy,
        sha256,
        reason,
        run_id,
        RETRY_HINT,
        landing_file=lake.relative(landing),
        quarantined_at=iso(utc_now()),
    )
    registry.record(
        sha256,
        status=QUARANTINED,
        reason=reason,
        landing_path=lake.relative(landing),
        quarantined_at=iso(utc_now()),
        run_id=run_id,
    )
    log.warning("quarantined %s: %s", lake.relative(landing), reason)
    return reason


def release(lake: Lake, service: str, sha256: str, landing: Path) -> None:
    """Remove the quarantine copy of a file that a retry has now processed."""
    copy = lake.quarantine(service) / _copy_name(sha256, landing)
    for path in (copy, copy.with_name(copy.name + ".reason.json")):
        remove(path)


def retire(
    lake: Lake, service: str, registry: Registry, raw: Path, sha256: str, reason: str, run_id: str
) -> tuple[str, str]:
    """Move a raw file that a later stage cannot use to `archive/raw/`, gzipped, with its reason;
    mark its hash `retired`. Returns (where it went, the capped reason)."""
    reason = cap(reason)
    relative = raw.relative_to(lake.raw(service))
    target = lake.retired(service) / relative.with_name(relative.name + ".gz")
    entry = registry.entry(sha256) or {}
    with atomic_path(target) as temp:
        gzip_file(raw, temp)
    _reason_file(
        target.with_name(relative.name),
        sha256,
        reason,
        run_id,
        RETRY_HINT + " (the landing file is converted again)",
        raw_file=lake.relative(raw),
        landing_file=entry.get("landing_path"),
        retired_at=iso(utc_now()),
    )
    registry.record(
        sha256,
        status=RETIRED,
        reason=reason,
        retired_to=lake.relative(target),
        retired_at=iso(utc_now()),
        retired_by=run_id,
    )
    registry.save()  # recorded before the raw file goes: a crash in between leaves it in raw
    remove(raw)
    log.warning("retired %s to %s: %s", lake.relative(raw), lake.relative(target), reason)
    return lake.relative(target), reason


def set_aside(lake: Lake, service: str | None = None) -> list[dict]:
    """Every quarantined and retired file of the lake (or of one service), oldest first."""
    found = []
    services = [service] if service else sorted(p.name for p in (lake.root / "raw").glob("[!_]*"))
    for name in services:
        registry = Registry.for_service(lake.raw(name))
        for sha, entry in {**registry.quarantined(), **registry.retired()}.items():
            found.append({"service": name, "sha256": sha, **entry})
    return sorted(found, key=lambda e: e.get("quarantined_at") or e.get("retired_at") or "")


def _describe_entry(entry: dict, lake: Lake) -> str:
    if entry["status"] == RETIRED:
        where = f"raw file retired to {entry['retired_to']}"
    else:
        copy = lake.quarantine(entry["service"]) / _copy_name(
            entry["sha256"], Path(entry["landing_path"])
        )
        where = f"copy in {lake.relative(copy)}"
    when = entry.get("quarantined_at") or entry.get("retired_at") or "?"
    return (
        f"{entry['service']}  {entry['status']}  {entry['landing_path']}  ({when})\n"
        f"    reason: {entry['reason']}\n    {where}"
    )


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """List quarantined and retired files with their reasons and what to do about them."""
    from datalake.settings import get_settings

    parser = argparse.ArgumentParser(prog=prog, description=main.__doc__)
    parser.add_argument("--service", help="only this service")
    args = parser.parse_args(argv)
    lake = Lake(get_settings().root)
    entries = set_aside(lake, args.service)
    lines = [_describe_entry(e, lake) for e in entries]
    if entries:
        lines.append(f"\n{len(entries)} file(s) set aside. To handle one: {RETRY_HINT}.")
    else:
        lines.append("Nothing is quarantined or retired.")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
