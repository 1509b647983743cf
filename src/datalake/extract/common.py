"""What every extractor shares: landing file names, atomic saves, and exit-code exceptions.

Extractors write only to landing, as `landing/<service>/<dataset>/<stem>_<YYYYMMDDTHHMMSSZ>.<ext>`,
atomically; a service with several accounts (TikTok creators, Spotify artists) writes
`landing/<service>/<account>/<dataset>/...`, and `account_of()` tells a landing file's account.
They raise `NotConfigured` (exit 4, the runner reports "skipped") when a platform has no
credentials, and `AuthRequired` (exit 3) when a person must log in again; `run_stage` turns both
into their exit codes and the message into the report.
"""

from __future__ import annotations

import functools
import re
import shlex
import unicodedata
from datetime import datetime
from pathlib import Path, PurePosixPath

from datalake.paths import Lake, stamp
from datalake.storage.atomic import atomic_path, atomic_write_bytes

_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]+")
DEFAULT_ACCOUNT = "default"  # the account of a service with one account


class NotConfigured(RuntimeError):
    """No credentials (or other required setting) for this platform: exit 4, skipped."""


class AuthRequired(RuntimeError):
    """A person must log in again (session expired, 2FA, token revoked): exit 3. `hint` is what
    they do (renew a token, an exact command); without one the runner suggests `--login`."""

    def __init__(self, message: str = "", hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


class ExtractError(RuntimeError):
    """The platform answered something unusable: exit 1 (the runner may retry)."""


def login_command(service: str, script_name: str, account: str | None = None) -> str:
    """The exact command a person runs to log in again (run from the repository root);
    `account` for a service with several accounts."""
    command = f"python src/{service}/extractors/{script_name} --login"
    return f"{command} --account {shlex.quote(account)}" if account else command


def sanitize_filename(name: str, default: str = "download") -> str:
    """A safe single path component from any suggested file name (no folders, no dot-files)."""
    name = unicodedata.normalize("NFKC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip("._-")
    return name[:120] or default


def landing_path(
    lake: Lake,
    service: str,
    dataset: str,
    filename: str,
    moment: datetime | None = None,
    account: str | None = None,
) -> Path:
    """Where an extracted file goes: sanitised name with a UTC timestamp, inside landing
    (`landing/<service>/<account>/<dataset>/` with an account, for services with several)."""
    safe = sanitize_filename(filename)
    stem, dot, ext = safe.rpartition(".")
    stem, ext = (stem, ext) if dot and stem else (safe, "bin")
    folder = lake.landing(service)
    if account is not None:
        folder = folder / sanitize_filename(account, DEFAULT_ACCOUNT)
    folder = folder / sanitize_filename(dataset, "files")
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
    account: str | None = None,
) -> Path:
    """Save bytes into landing atomically; returns the path. Refuses (ExtractError) bytes that
    hold a registered secret (a token echoed in a next-page URL, a password in a page)."""
    from datalake.logs import contains_secret

    if contains_secret(data):
        raise ExtractError(f"refusing to save {dataset}/{filename}: it contains a secret")
    target = landing_path(lake, service, dataset, filename, moment, account)
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
    account: str | None = None,
) -> Path:
    """Copy a finished download into landing atomically (the source is left as is)."""
    import shutil

    target = landing_path(lake, service, dataset, filename, moment, account)
    with atomic_path(target) as temp:
        shutil.copyfile(source, temp)
    return target


def account_of(
    path: str | PurePosixPath, multi_account: bool | None = None, default: str = DEFAULT_ACCOUNT
) -> str:
    """The account of a landing file, from its path relative to the lake (`landing/<service>/
    ...`, as `_source_file`) or to the landing zone (`<service>/...`). For a service with several
    accounts it is the folder under the service (`<service>/<account>/<dataset>/<file>`), else,
    and for a file directly under the service folder, `default`. `multi_account` None: as the
    service's extractor declares (`has_accounts`)."""
    parts = PurePosixPath(str(path).replace("\\", "/")).parts
    parts = parts[1:] if parts[:1] == ("landing",) else parts
    if not parts or parts[0] in ("/", "..") or ":" in parts[0]:
        raise ValueError(f"not a path inside landing: {str(path)!r}")
    if multi_account is None:
        multi_account = has_accounts(parts[0])
    return parts[1] if multi_account and len(parts) > 2 else default


@functools.cache
def has_accounts(service: str) -> bool:
    """True if the service's extractor declares several accounts (`Site(multi_account=True)`
    in `src/<service>/extractors/*_extractor.py`; importing a script does nothing)."""
    import importlib
    import importlib.util

    from datalake.extract.weblogin import Site

    try:
        spec = importlib.util.find_spec(f"{service}.extractors")
    except (ImportError, ValueError):
        return False
    for folder in (spec and spec.submodule_search_locations) or []:
        for script in sorted(Path(folder).glob("*_extractor.py")):
            module = importlib.import_module(f"{service}.extractors.{script.stem}")
            sites = [v for v in vars(module).values() if isinstance(v, Site)]
            if any(site.service == service and site.multi_account for site in sites):
                return True
    return False
