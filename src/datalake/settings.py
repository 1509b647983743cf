"""Settings: `.env` loaded once, values validated, errors that name the variable.

Only this module reads the environment. Scripts call `get_settings()` for lake-wide settings and
`secret()` / `setting()` for per-platform values at the edge (in `main()`), then pass them on as
arguments.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


# the prefixes of every platform's and the lake's settings: what a run started for a test or a
# benchmark must not inherit from the machine it runs on
SETTING_PREFIXES = (
    "DK_",
    "TOOLOST_",
    "META_",
    "SPOTIFY_",
    "TIKTOK_",
    "LINKTREE_",
    "YOUTUBE_",
    "GOOGLE_",
    "MAILCHIMP_",
    "MINIO_",
    "BUSINESS_",
    "DATALAKE_",
    "HTTP_",
)


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the variable."""


@functools.cache
def load_env() -> Path | None:
    """Load `.env` once (DATALAKE_ENV_FILE, else the repository's `.env`); real env vars win."""
    from dotenv import load_dotenv

    candidate = os.environ.get("DATALAKE_ENV_FILE") or str(REPO_ROOT / ".env")
    path = Path(candidate)
    if path.is_file():
        load_dotenv(path, override=False)
        return path
    return None


_READS: list[set[str]] = []  # open `recording_reads()` blocks


def setting(name: str, default: str | None = None) -> str | None:
    """A plain (non-secret) setting, empty treated as unset."""
    load_env()
    value = os.environ.get(name, "").strip()
    for reads in _READS:
        reads.add(name)
    return value or default


@contextlib.contextmanager
def recording_reads() -> Iterator[set[str]]:
    """The names of the settings read inside the block: what a stage's output depends on."""
    reads: set[str] = set()
    _READS.append(reads)
    try:
        yield reads
    finally:
        _READS.remove(reads)


FILE_READ = "file:"  # how a settings file read is recorded (`settings_file`)


def settings_file(name: str, default: Path) -> Path:
    """A settings file (rules a person edits, such as the artist-name rules): its path from the
    setting `name`, else `default`. Its content is recorded as read, like a setting's value, so
    a stage built from it rebuilds when the file is edited (`datalake.storage.changes`)."""
    path = Path(setting(name) or default).expanduser()
    path = path if path.is_absolute() else REPO_ROOT / path
    for reads in _READS:
        reads.add(f"{FILE_READ}{path.resolve()}")
    return path


def secret(name: str) -> str | None:
    """A secret (password, token, key). Never log the value; pass it to the code that needs it."""
    return setting(name)


def _number_setting(name: str, default, minimum, kind: type, word: str):
    raw = setting(name)
    if raw is None:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{name} must be {word}, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be >= {minimum}, got {value}")
    return value


def int_setting(name: str, default: int, minimum: int = 0) -> int:
    """An integer setting, validated."""
    return _number_setting(name, default, minimum, int, "an integer")


def float_setting(name: str, default: float, minimum: float = 0.0) -> float:
    """A float setting, validated."""
    return _number_setting(name, default, minimum, float, "a number")


def choice_setting(name: str, default: str, choices: tuple[str, ...]) -> str:
    """A setting restricted to a few values, validated case-insensitively."""
    value = (setting(name) or default).lower()
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


@dataclass(frozen=True)
class Settings:
    """Lake-wide settings (see `.env.example` for each variable)."""

    root: Path
    storage: str
    workers: int
    script_timeout: int
    extractor_timeout: int
    extractor_retries: int
    retry_backoff: float
    log_level: str
    stop_grace: float = 10.0


def _storage() -> str:
    """`local`, or `minio`: zones also mirrored to S3 buckets (`datalake.storage.mirror`)."""
    return choice_setting("DATALAKE_STORAGE", "local", ("local", "minio"))


@functools.cache
def get_settings() -> Settings:
    """Read and validate the lake-wide settings once per process."""
    root = Path(setting("DATALAKE_ROOT") or REPO_ROOT).expanduser().resolve()
    return Settings(
        root=root,
        storage=_storage(),
        workers=int_setting("DATALAKE_WORKERS", min(4, os.cpu_count() or 2), minimum=1),
        script_timeout=int_setting("DATALAKE_SCRIPT_TIMEOUT", 3600, minimum=1),
        extractor_timeout=int_setting("DATALAKE_EXTRACTOR_TIMEOUT", 1800, minimum=1),
        extractor_retries=int_setting("DATALAKE_EXTRACTOR_RETRIES", 2),
        retry_backoff=float_setting("DATALAKE_RETRY_BACKOFF_SECONDS", 30.0),
        log_level=choice_setting(
            "DATALAKE_LOG_LEVEL", "info", ("debug", "info", "warning", "error")
        ).upper(),
        stop_grace=float_setting("DATALAKE_STOP_GRACE_SECONDS", 10.0),
    )
