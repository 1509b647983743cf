"""Zone paths and UTC timestamps in file names.

`Lake(root)` knows where every zone lives; nothing else builds zone paths. File-name timestamps
are UTC and look like `20261126T071200Z`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from datalake.settings import REPO_ROOT

CODE_ROOT = REPO_ROOT / "src"
ZONES = ("landing", "raw", "staging", "curated", "archive", "sandbox")
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_STAMP_RE = re.compile(r"(\d{8}T\d{6}Z)")


NAME_BYTES = 180  # the longest name the lake derives from a landing name (UTF-8 bytes): room
# is left under the filesystems' 255 for `.<name>.<pid>.tmp`, `.reason.json` and `.gz`


def fit_name(text: str, limit: int = NAME_BYTES) -> str:
    """`text` (part of a file name) cut to at most `limit` UTF-8 bytes, at a character boundary:
    a landing file may be named at the filesystem's limit, names derived from it may not."""
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", "ignore")


def utc_now() -> datetime:
    """The current time, UTC-aware, to the second."""
    return datetime.now(UTC).replace(microsecond=0)


def stamp(moment: datetime | None = None) -> str:
    """`20261126T071200Z` for a UTC-aware datetime (default: now)."""
    moment = moment or utc_now()
    return moment.astimezone(UTC).strftime(STAMP_FORMAT)


def parse_stamp(name: str) -> datetime | None:
    """The last UTC timestamp found in a file name, or None."""
    for found in reversed(_STAMP_RE.findall(name)):
        try:
            return datetime.strptime(found, STAMP_FORMAT).replace(tzinfo=UTC)
        except ValueError:  # looks like a stamp, is no time (20261399T999999Z)
            continue
    return None


def file_time(path: Path) -> datetime:
    """When a landing file was extracted: its name's stamp, else its modification time (UTC)."""
    moment = parse_stamp(path.name)
    if moment is None:
        moment = datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(microsecond=0)
    return moment


def iso(moment: datetime) -> str:
    """ISO-8601 UTC text with a trailing Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Lake:
    """The zones under one lake root."""

    root: Path

    def zone(self, name: str) -> Path:
        if name not in ZONES:
            raise ValueError(f"unknown zone {name!r}")
        return self.root / name

    def landing(self, service: str) -> Path:
        return self.root / "landing" / service

    def raw(self, service: str) -> Path:
        return self.root / "raw" / service

    def quarantine(self, service: str) -> Path:
        return self.root / "raw" / "_quarantine" / service

    def staging(self, service: str) -> Path:
        return self.root / "staging" / service

    @property
    def curated(self) -> Path:
        return self.root / "curated"

    def archive(self, table: str) -> Path:
        return self.root / "archive" / "curated" / table

    def retired(self, service: str) -> Path:
        """Where raw files that a later stage could not use are kept."""
        return self.root / "archive" / "raw" / service

    @property
    def runs(self) -> Path:
        return self.root / "_runs"

    def run_dir(self, run_id: str) -> Path:
        return self.runs / run_id

    def relative(self, path: Path) -> str:
        """A path relative to the lake root, with forward slashes (stable across OSes)."""
        return Path(path).resolve().relative_to(self.root.resolve()).as_posix()

    def ensure(self) -> None:
        """Create the zone folders if missing."""
        for zone in ZONES:
            (self.root / zone).mkdir(parents=True, exist_ok=True)
