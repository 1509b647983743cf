"""The lake lock: one runner at a time.

It is an OS file lock (filelock: fcntl on Linux, msvcrt on Windows), so the operating system
releases it when its holder dies: a lock left by a killed run never blocks the next night's run.
Who holds it (pid, host, run id, start) is written beside it for the message a second runner gives.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from datalake.paths import Lake, iso, utc_now
from datalake.storage.atomic import atomic_write_json


class LakeLocked(RuntimeError):
    """Another run holds the lake lock."""


class LakeLock:
    """Non-blocking exclusive lock on a lake root."""

    def __init__(self, lake: Lake) -> None:
        lake.runs.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(lake.runs / ".lake.lock"), timeout=0)
        self._holder_file = lake.runs / "lake.lock.holder.json"

    def holder(self) -> dict[str, Any]:
        """What the holder wrote about itself (may be from a finished run if unlocked)."""
        try:
            return json.loads(Path(self._holder_file).read_text("utf-8"))
        except (OSError, ValueError):
            return {}

    def acquire(self, run_id: str) -> None:
        """Take the lock or raise LakeLocked naming the holder."""
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            holder = self.holder()
            raise LakeLocked(
                f"another run holds the lake lock: run {holder.get('run_id', '?')} "
                f"(pid {holder.get('pid', '?')} on {holder.get('host', '?')}, "
                f"started {holder.get('started_at', '?')})"
            ) from None
        atomic_write_json(
            self._holder_file,
            {
                "run_id": run_id,
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started_at": iso(utc_now()),
            },
        )

    def release(self) -> None:
        self._lock.release()
