"""Chromium and saved sessions: which Chromium to start, headless or not, and where each
account's browser profile lives (`PLAYWRIGHT_SESSION_DIR/<service>/<account>/`, owner-only, with
its cookies also in `storage_state.json`)."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

from datalake.settings import REPO_ROOT, SettingsError, choice_setting, setting

CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SYSTEM_CHROMIUMS = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
STATE_FILE = "storage_state.json"


def profile_path(service: str, account: str) -> Path:
    root = Path(setting("PLAYWRIGHT_SESSION_DIR") or REPO_ROOT / ".sessions").expanduser()
    return root / service / re.sub(r"^\.", "_", re.sub(r"[^\w.@-]+", "_", account))


def private_dirs(path: Path, levels: int) -> Path:
    """Create `path` and make it and its `levels - 1` parents owner-only."""
    path.mkdir(parents=True, exist_ok=True)
    for folder in [path, *path.parents][:levels]:
        folder.chmod(0o700)
    return path


def has_session(service: str, account: str) -> bool:
    """True once a login has succeeded for this service and account (it may have expired)."""
    return (profile_path(service, account) / STATE_FILE).is_file()


def chromium_executable(playwright) -> str | None:
    """`CHROMIUM_EXECUTABLE`, else None (Playwright's own, if installed), else the system's."""
    configured = setting("CHROMIUM_EXECUTABLE")
    if configured:
        if not Path(configured).is_file():
            raise SettingsError(f"CHROMIUM_EXECUTABLE: no such file {configured!r}")
        return configured
    if Path(playwright.chromium.executable_path).is_file():
        return None
    for candidate in SYSTEM_CHROMIUMS:
        if found := shutil.which(candidate):
            return found
    raise SettingsError("no Chromium found: set CHROMIUM_EXECUTABLE or install chromium")


def headless(login: bool) -> bool:
    choice = choice_setting("BROWSER_HEADLESS", "auto", ("auto", "true", "false"))
    if choice != "auto":
        return choice == "true"
    display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    return not login or (sys.platform.startswith("linux") and not display)
