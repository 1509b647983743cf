"""Quarantine: set a bad landing file aside with a reason a person can act on.

The landing file stays where it is (landing is never modified); a copy and a `.reason.json` go
to `raw/_quarantine/<service>/`, and the registry marks its hash `quarantined`, so later runs do
not count it again until `--retry-quarantined` re-runs it through a fixed parser.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from datalake.atomic import atomic_path, atomic_write_json
from datalake.paths import Lake, iso, utc_now
from datalake.registry import QUARANTINED, Registry

log = logging.getLogger(__name__)


def _copy_name(sha256: str, landing: Path) -> str:
    return f"{sha256[:12]}_{landing.name}"


def quarantine(
    lake: Lake,
    service: str,
    registry: Registry,
    landing: Path,
    sha256: str,
    reason: str,
    run_id: str,
) -> Path:
    """Copy a landing file to quarantine with its reason and mark it in the registry."""
    folder = lake.quarantine(service)
    copy = folder / _copy_name(sha256, landing)
    with atomic_path(copy) as temp:
        shutil.copyfile(landing, temp)
    atomic_write_json(
        copy.with_name(copy.name + ".reason.json"),
        {
            "landing_file": lake.relative(landing),
            "sha256": sha256,
            "reason": reason,
            "quarantined_at": iso(utc_now()),
            "run_id": run_id,
            "what_to_do": "fix the file or the parser, then run the lake with --retry-quarantined",
        },
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
    return copy


def release(lake: Lake, service: str, sha256: str, landing: Path) -> None:
    """Remove the quarantine copy of a file that a retry has now processed."""
    copy = lake.quarantine(service) / _copy_name(sha256, landing)
    for path in (copy, copy.with_name(copy.name + ".reason.json")):
        path.unlink(missing_ok=True)
