"""Logging for entry points, with secrets redacted from every line.

Modules use `logging.getLogger(__name__)`; only entry points call `setup_logging()`. Lines are
UTC-stamped. Known secret values (registered with `register_secret`) and token-like URL
parameters are replaced by `***` before anything is written; line breaks in a message's
arguments (a file named with a newline) are escaped, so one event is one line.
"""

from __future__ import annotations

import copy
import logging
import re
import sys
import time
from pathlib import Path, PurePath

_SECRETS: set[str] = set()
_URL_SECRET_RE = re.compile(
    r"(?i)((?:access_token|token|apikey|api_key|key|password|secret|client_secret|"
    r"refresh_token|code|sig|signature)=)[^&\s\"']+"
)
_BEARER_RE = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")


def register_secret(value: str | None) -> None:
    """Remember a secret value so that it never reaches a log line or report."""
    if value and len(value) >= 4:
        _SECRETS.add(value)


def contains_secret(data: bytes) -> bool:
    """True if bytes about to be saved hold a registered secret (as UTF-8 text)."""
    return any(value.encode() in data for value in _SECRETS)


def redact(text: str) -> str:
    """Text with registered secrets, token-like URL parameters and bearer tokens masked."""
    for value in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(value, "***")
    text = _URL_SECRET_RE.sub(r"\1***", text)
    return _BEARER_RE.sub(r"\1***", text)


def redact_obj(value):
    """A JSON-like structure with every string redacted (before serialising, so that escaping
    cannot hide a secret from `redact`)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_obj(k): redact_obj(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_obj(v) for v in value]
    return value


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def one_line(value):
    """A log argument (a file name, a reason) with line breaks and other control characters
    escaped (`\\n`), so that a file named with a newline cannot split or forge a log line."""
    text = str(value) if isinstance(value, str | PurePath) else None
    if text is None or not _CONTROL.search(text):
        return value
    return _CONTROL.sub(lambda m: repr(m[0])[1:-1], text)


class RedactingFormatter(logging.Formatter):
    """A UTC formatter that redacts secrets from the final text (message and traceback) and
    keeps each argument on one line (see `one_line`)."""

    converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        if isinstance(record.args, tuple) and any(one_line(a) is not a for a in record.args):
            record = copy.copy(record)
            record.args = tuple(one_line(a) for a in record.args)
        return redact(super().format(record))


def setup_logging(level: str = "INFO", log_file: Path | None = None) -> None:
    """Configure the root logger: stderr (and a file), UTC timestamps, secrets redacted."""
    formatter = RedactingFormatter(
        "%(asctime)sZ %(levelname)-7s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S"
    )
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level)
