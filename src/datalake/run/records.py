"""Run ids and run records.

Each script writes what it did to `_runs/<run_id>/scripts/<service>.<stage>.json`; the runner
merges those into `_runs/<run_id>/run.json`. A script run by hand gets its own run id.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from datalake.paths import Lake, stamp
from datalake.storage.atomic import atomic_write_text

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_AUTH, EXIT_NOT_CONFIGURED, EXIT_QUARANTINED = (
    0,
    1,
    2,
    3,
    4,
    5,
)
EXIT_LOCKED = 75
EXIT_MEANING = {
    EXIT_OK: "ok",
    EXIT_FAILED: "failed",
    EXIT_USAGE: "bad usage or configuration",
    EXIT_AUTH: "authentication needed",
    EXIT_NOT_CONFIGURED: "not configured (skipped)",
    EXIT_QUARANTINED: "finished, new input quarantined",
    EXIT_LOCKED: "another run holds the lake lock",
}


def new_run_id() -> str:
    """A sortable, unique run id: UTC timestamp plus a short random suffix."""
    return f"{stamp()}-{secrets.token_hex(3)}"


def worst_exit(codes) -> int:
    """The run's exit code: failure (1, 2, timeouts) over auth (3) over quarantine (5) over 0."""
    codes = set(codes)
    if codes & {EXIT_FAILED, EXIT_USAGE} or any(c not in EXIT_MEANING for c in codes):
        return EXIT_FAILED
    for code in (EXIT_AUTH, EXIT_QUARANTINED):
        if code in codes:
            return code
    return EXIT_OK


@dataclass
class ScriptReport:
    """What one script did in one run."""

    service: str
    stage: str
    script: str
    run_id: str
    exit_code: int | None = None
    started_at: str = ""
    duration_s: float = 0.0
    files_in: int = 0
    files_skipped: int = 0
    rows_in: int = 0
    rows_out: int = 0
    rejected: Counter = field(default_factory=Counter)
    quarantined: list[dict[str, str]] = field(default_factory=list)
    retired: list[dict[str, str]] = field(default_factory=list)
    ignored: list[dict[str, str]] = field(default_factory=list)  # and discarded (personal data)
    warnings: list[str] = field(default_factory=list)  # data quality: kept as given, but odd
    tables: list[dict] = field(default_factory=list)  # curated tables published: rows, changes
    outputs: list[str] = field(default_factory=list)
    message: str = ""
    login_hint: str = ""  # exit 3: how to renew the credentials (else the runner says --login)

    def reject(self, reason: str, count: int = 1) -> None:
        """Count rows rejected for a reason."""
        self.rejected[reason] += count

    @property
    def key(self) -> str:
        """`<service>.<stage>`, plus the script name for extractors (a service may have several)."""
        return report_key(self.service, self.stage, self.script)

    def path(self, lake: Lake) -> Path:
        return lake.run_dir(self.run_id) / "scripts" / f"{self.key}.json"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rejected"] = dict(self.rejected)
        return data

    def write(self, lake: Lake) -> None:
        """Write the record (secrets redacted) atomically."""
        from datalake.logs import redact, redact_obj

        text = json.dumps(redact_obj(self.to_dict()), indent=1, sort_keys=True, default=str)
        atomic_write_text(self.path(lake), redact(text) + "\n")


def report_key(service: str, stage: str, script: str) -> str:
    """The key of a script's report in a run."""
    return f"{service}.{stage}" + (f".{Path(script).stem}" if stage == "extract" else "")


def read_script_reports(lake: Lake, run_id: str) -> dict[str, dict[str, Any]]:
    """The script reports of a run, keyed by `<service>.<stage>`."""
    folder = lake.run_dir(run_id) / "scripts"
    if not folder.exists():
        return {}
    return {p.stem: json.loads(p.read_text("utf-8")) for p in sorted(folder.glob("*.json"))}
