"""What a run reuses from the run before it when the curated zone did not change.

The report's data charts and the data-quality findings are functions of the curated tables
alone (and of their own code and settings), and drawing the charts costs more than a night
with nothing new should take (importing matplotlib alone takes about a second). They are kept
in `_runs/_reuse.json` with the curated zone's fingerprint: the size and mtime of every curated
table file, today's date, the code of `charts.py` and `quality.py` and the settings they read.
A run whose fingerprint matches reuses them; one in which no script ran at all also reuses the
run-history chart (it would only add a run that did nothing). Anything unreadable in the file
means "draw again": the file is a cache, never a record.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from datalake.paths import Lake, utc_now
from datalake.settings import setting
from datalake.storage.atomic import atomic_write_text

log = logging.getLogger(__name__)

CACHE = "_reuse.json"
SETTINGS = ("DATALAKE_SPIKE_FACTOR",)  # what the checks and charts read besides the tables


def fingerprint(lake: Lake) -> str:
    """The curated zone's tables (names, sizes, mtimes), today's date, and the code and settings
    that turn them into charts and findings, as one hash."""
    from datalake import quality
    from datalake.run import charts

    parts: list[object] = [utc_now().date().isoformat()]
    for path in sorted(lake.curated.glob("*")):
        if path.is_file() and path.suffix in (".csv", ".parquet"):
            stat = path.stat()
            parts.append([path.name, stat.st_size, stat.st_mtime_ns])
    for module in (charts, quality):
        parts.append(hashlib.sha256(Path(module.__file__).read_bytes()).hexdigest())
    parts.append([setting(name) for name in SETTINGS])  # from the environment or `.env`
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def load(lake: Lake, print_: str) -> dict:
    """What the last run kept for this fingerprint: {"quality": [...], "charts": {title: html}}
    (either may be missing); {} when the curated zone changed since."""
    try:
        kept = json.loads((lake.runs / CACHE).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(kept, dict) or kept.get("fingerprint") != print_:
        return {}
    return kept


def save(lake: Lake, print_: str, **parts) -> None:
    """Keep `parts` (quality findings, charts) for the next run, merged with what is kept for
    the same fingerprint; a failure to write is logged, never fatal."""
    kept = load(lake, print_)
    kept.update(parts, fingerprint=print_)
    try:
        atomic_write_text(lake.runs / CACHE, json.dumps(kept))
    except OSError as error:
        log.warning("%s not written (the next run draws its charts again): %s", CACHE, error)
