"""The SHA-256 dedup registry of a service: `raw/<service>/_hashes.json`.

It records every landing file the service has seen, by content hash: processed (with the raw
files it produced), quarantined (with the reason) or retired (its raw file failed a later stage
and went to `archive/raw/`, with the reason). A second index by landing path, with size
and mtime, lets a run skip unchanged landing files without reading them again.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datalake.storage.atomic import atomic_write_text

REGISTRY_NAME = "_hashes.json"
PROCESSED = "processed"
QUARANTINED = "quarantined"
RETIRED = "retired"
IGNORED = "ignored"  # recognised, of no use to the lake: recorded, never read
DISCARDED = "discarded"  # held personal data: deleted from landing, never copied
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class FileStat:
    """Size and modification time: the cheap identity of an unchanged file."""

    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> FileStat:
        info = os.stat(path)
        return cls(info.st_size, info.st_mtime_ns)


class Registry:
    """Load, query and atomically save one service's `_hashes.json`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        data = json.loads(path.read_text("utf-8")) if path.exists() else {}
        self.files: dict[str, dict[str, Any]] = data.get("files", {})
        self.seen: dict[str, dict[str, Any]] = data.get("seen", {})

    @classmethod
    def for_service(cls, raw_service_dir: Path) -> Registry:
        return cls(raw_service_dir / REGISTRY_NAME)

    def known_unchanged(self, landing_rel: str, stat: FileStat) -> bool:
        """True if this landing path was seen before with the same size and mtime."""
        seen = self.seen.get(landing_rel)
        return bool(seen) and seen["size"] == stat.size and seen["mtime_ns"] == stat.mtime_ns

    def note_seen(self, landing_rel: str, stat: FileStat, sha256: str) -> None:
        self.seen[landing_rel] = {"size": stat.size, "mtime_ns": stat.mtime_ns, "sha256": sha256}

    def entry(self, sha256: str) -> dict[str, Any] | None:
        return self.files.get(sha256)

    def record(self, sha256: str, **fields: Any) -> None:
        """Create or update the entry of a content hash."""
        self.files.setdefault(sha256, {}).update(fields)

    def quarantined(self) -> dict[str, dict[str, Any]]:
        return {sha: e for sha, e in self.files.items() if e.get("status") == QUARANTINED}

    def retired(self) -> dict[str, dict[str, Any]]:
        return {sha: e for sha, e in self.files.items() if e.get("status") == RETIRED}

    def processed(self) -> dict[str, dict[str, Any]]:
        return {sha: e for sha, e in self.files.items() if e.get("status") == PROCESSED}

    def save(self) -> None:
        # compact (one line, keys sorted): Python's fast JSON encoder, a registry of years
        # of nightly files is megabytes
        payload = {"version": 1, "files": self.files, "seen": self.seen}
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str) + "\n"
        atomic_write_text(self.path, text)
