"""What every extractor shares: landing file names, atomic saves, and exit-code exceptions.

Extractors write only to landing, as `landing/<service>/<dataset>/<stem>_<YYYYMMDDTHHMMSSZ>.<ext>`,
atomically. They raise `NotConfigured` (exit 4, the runner reports "skipped") when a platform has
no credentials, and `AuthRequired` (exit 3) when a person must log in again; `run_stage` turns
both into their exit codes and the message into the report.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from pathlib import Path

from datalake.paths import Lake, stamp
from datalake.storage.atomic import atomic_path, atomic_write_bytes

_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]+")


class NotConfigured(RuntimeError):
    """No credentials (or other required setting) for this platform: exit 4, skipped."""


class AuthRequired(RuntimeError):
    """A person must log in again (session expired, 2FA, token revoked): exit 3."""


class ExtractError(RuntimeError):
    """The platform answered something unusable: exit 1 (the runner may retry)."""


def login_command(service: str, script_name: str) -> str:
    """The exact command a person runs to log in again (run from the repository root)."""
    return f"python src/{service}/extractors/{script_name} --login"


def sanitize_filename(name: str, default: str = "download") -> str:
    """A safe single path component from any suggested file name (no folders, no dot-files)."""
    name = unicodedata.normalize("NFKC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip("._-")
    return name[:120] or default


def landing_path(
    lake: Lake, service: str, dataset: str, filename: str, moment: datetime | None = None
) -> Path:
    """Where an extracted file goes: sanitised name with a UTC timestamp, inside landing."""
    safe = sanitize_filename(filename)
    stem, dot, ext = safe.rpartition(".")
    stem, ext = (stem, ext) if dot and stem else (safe, "bin")
    folder = lake.landing(service) / sanitize_filename(dataset, "files")
    target, number = folder / f"{stem}_{stamp(moment)}.{ext}", 1
    while target.exists():  # landing is never overwritten: a second file in the same second
        number += 1
        target = folder / f"{stem}-{number}_{stamp(moment)}.{ext}"
    if folder.resolve() not in target.resolve().parents:  # belt and braces
        raise ValueError(f"refusing to write outside landing: {filename!r}")
    return target


def save_landing(
    lake: Lake,
    service: str,
    dataset: str,
    filename: str,
    data: bytes,
    moment: datetime | None = None,
) -> Path:
    """Save bytes into landing atomically; returns the path. Refuses (ExtractError) bytes that
    hold a registered secret (a token echoed in a next-page URL, a password in a page)."""
    from datalake.logs import contains_secret

    if contains_secret(data):
        raise ExtractError(f"refusing to save {dataset}/{filename}: it contains a secret")
    target = landing_path(lake, service, dataset, filename, moment)
    atomic_write_bytes(target, data)
    return target


def _state_file(lake: Lake, service: str, name: str) -> Path:
    return lake.landing(service) / f"_state_{sanitize_filename(name, 'extractor')}.json"


def read_state(lake: Lake, service: str, name: str) -> dict | None:
    """An extractor's saved state (e.g. the last complete day), or None before its first run.

    It lives in `landing/<service>/_state_<name>.json`: names starting with `_` are never read
    as data by landing2raw."""
    import json

    path = _state_file(lake, service, name)
    return json.loads(path.read_text("utf-8")) if path.exists() else None


def write_state(lake: Lake, service: str, name: str, state: dict) -> None:
    """Save an extractor's state atomically; call it only after the landing files it describes
    are saved, so a run killed in between re-fetches instead of skipping data."""
    from datalake.storage.atomic import atomic_write_json

    atomic_write_json(_state_file(lake, service, name), state)


def move_into_landing(
    lake: Lake,
    service: str,
    dataset: str,
    filename: str,
    source: Path,
    moment: datetime | None = None,
) -> Path:
    """Copy a finished download into landing atomically (the source is left as is)."""
    import shutil

    target = landing_path(lake, service, dataset, filename, moment)
    with atomic_path(target) as temp:
        shutil.copyfile(source, temp)
    return target
