"""Zone file commits: temp file in the same folder, fsync, rename; the storage seam.

A reader (or a run killed half-way) sees either the old file or the new one, never a partial one.
Temp files are hidden (`.name.<pid>.tmp`) so no scanner picks them up, and
`sweep_stale_temps()` removes the ones a killed process left behind.

Every zone file the pipeline commits goes through `atomic_path` (and the `atomic_write_*`
helpers built on it) or `replace_atomically`, and every zone file it deletes through `remove`.
Those three announce the final path to the listeners registered with `on_change` (the MinIO
mirror is one), so another storage backend is one hook here, not a change in every stage. The
local lake stays the working copy that stages read.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
TEMP_SUFFIX = ".tmp"


COMMITTED, REMOVED = "committed", "removed"
_LISTENERS: list[Callable[[Path, str], None]] = []


def on_change(listener: Callable[[Path, str], None]) -> Callable[[], None]:
    """Call `listener(path, COMMITTED | REMOVED)` after each commit or removal in this process;
    returns a function that unregisters it."""
    _LISTENERS.append(listener)
    return lambda: _LISTENERS.remove(listener)


def _announce(path: Path, change: str) -> None:
    for listener in list(_LISTENERS):
        listener(Path(path), change)


def remove(path: Path) -> bool:
    """Delete a zone file (announced like a commit); False if it was not there."""
    try:
        Path(path).unlink()
    except FileNotFoundError:
        return False
    _announce(path, REMOVED)
    return True


def temp_path_for(target: Path) -> Path:
    """The hidden temp path used while writing `target`."""
    return target.with_name(f".{target.name}.{os.getpid()}{TEMP_SUFFIX}")


def fsync_file(path: Path) -> None:
    """Flush a file's data to disk (where a full disk shows as ENOSPC, before any rename)."""
    _fsync_file(path)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    if sys.platform == "win32":  # directories cannot be opened for fsync on Windows
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temp path to write; on success it replaces `target` atomically, else is removed.

    Deleting the temp file inside the block cancels the write (the target is left untouched).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path_for(target)
    try:
        yield temp
        if not temp.exists():
            return
        _fsync_file(temp)
        os.replace(temp, target)
        _fsync_dir(target.parent)
        _announce(target, COMMITTED)
    finally:
        if temp.exists():
            temp.unlink()


def atomic_write_bytes(target: Path, data: bytes) -> None:
    """Write bytes to `target` atomically."""
    with atomic_path(target) as temp:
        temp.write_bytes(data)


def atomic_write_text(target: Path, text: str) -> None:
    """Write UTF-8 text (LF line ends) to `target` atomically."""
    atomic_write_bytes(target, text.encode("utf-8"))


def atomic_write_json(target: Path, payload: Any) -> None:
    """Write JSON (sorted keys, indented, trailing newline) to `target` atomically."""
    atomic_write_text(target, json.dumps(payload, indent=1, sort_keys=True, default=str) + "\n")


def replace_atomically(source: Path, target: Path) -> None:
    """Move an already-complete file into place atomically (same filesystem)."""
    _fsync_file(source)
    os.replace(source, target)
    _fsync_dir(target.parent)
    _announce(target, COMMITTED)


def _pid_alive(pid: int) -> bool:
    if sys.platform == "win32":
        return True  # no cheap, safe check: rely on age instead
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed process not yet reaped (zombie) is not alive
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def is_temp_file(path: Path) -> bool:
    """True for temp files written by `atomic_path` (and hidden files in general)."""
    return path.name.startswith(".")


def sweep_stale_temps(folder: Path, max_age_seconds: float = 86400.0) -> list[Path]:
    """Remove temp files left by processes that are gone (or older than a day); return them."""
    removed: list[Path] = []
    if not folder.exists():
        return removed
    now = time.time()
    temps = (  # os.walk and plain names: a zone holds years of nightly files
        Path(dirpath) / name
        for dirpath, _, names in os.walk(folder)
        for name in names
        if name.startswith(".") and name.endswith(TEMP_SUFFIX)
    )
    for temp in temps:
        pid_text = temp.name[: -len(TEMP_SUFFIX)].rsplit(".", 1)[-1]
        if not pid_text.isdigit():
            continue  # not one of ours (`.<name>.<pid>.tmp`): never touch it
        try:
            if not _pid_alive(int(pid_text)) or now - temp.stat().st_mtime > max_age_seconds:
                temp.unlink()
                removed.append(temp)
        except FileNotFoundError:
            continue
    if removed:
        log.warning("removed %d temp file(s) left by an interrupted run", len(removed))
    return removed
