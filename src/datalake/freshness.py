"""Freshness: is what a curated table shows recent enough to trust?

Each curated table (or a service's partition of a shared one) declares its `Freshness` next to
itself, in its service's `staging2curated` script (`CuratedTable(..., freshness=...)`), as dbt
declares `warn_after` / `error_after` for a source: how old the newest extraction in the table
may be (`_extracted_at`, hours) and how far its newest data date may trail today given the
platform's known lag (days). A setting overrides a declaration without code:
`DATALAKE_FRESHNESS_<TABLE>[_<PARTITION>]=extracted=36h/72h,data=3d/7d` (either part may be
left out). `check_all(lake)` gives every table's state: `ok`, `warn`, `error`, or `absent` (never
built: a platform not configured), with the reason.
"""

from __future__ import annotations

import importlib
import logging
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

from datalake.paths import CODE_ROOT, Lake
from datalake.settings import SettingsError, setting

log = logging.getLogger(__name__)
OK, WARN, ERROR, ABSENT = "ok", "warn", "error", "absent"
_RANK = {ABSENT: 0, OK: 1, WARN: 2, ERROR: 3}


@dataclass(frozen=True)
class Freshness:
    """How stale a table may get before it warns, then errors."""

    extracted_warn_hours: float = 36  # a nightly extraction missed once: warn
    extracted_error_hours: float = 72
    date_column: str | None = "date"  # None: only the extraction's age is checked
    data_warn_days: float = 3  # newest data date vs today (the platform's lag included)
    data_error_days: float = 7

    def overridden(self, name: str) -> Freshness:
        """This declaration with `DATALAKE_FRESHNESS_<NAME>` applied."""
        key = "DATALAKE_FRESHNESS_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()
        text = setting(key)
        if not text:
            return self
        changes = {}
        for part in text.split(","):
            match = re.fullmatch(
                r"\s*(extracted|data)=(\d+(?:\.\d+)?)([hd])/(\d+(?:\.\d+)?)\3\s*", part
            )
            if not match:
                raise SettingsError(
                    f"{key} must look like extracted=36h/72h,data=3d/7d, got {text!r}"
                )
            kind, warn, unit, error = match.groups()
            if kind == "extracted":
                factor = 24 if unit == "d" else 1
                changes.update(extracted_warn_hours=float(warn) * factor)
                changes.update(extracted_error_hours=float(error) * factor)
            else:
                factor = 1 / 24 if unit == "h" else 1
                changes.update(data_warn_days=float(warn) * factor)
                changes.update(data_error_days=float(error) * factor)
        return replace(self, **changes)


@dataclass(frozen=True)
class TableState:
    table: str  # `earnings` or `earnings:distrokid` for a partition
    state: str
    reason: str
    rows: int = 0
    newest_data: str = ""
    last_extracted: str = ""
    last_changed: str = ""

    def as_record(self) -> dict:
        return {
            "table": self.table,
            "state": self.state,
            "reason": self.reason,
            "rows": self.rows,
            "newest_data": self.newest_data,
            "last_extracted": self.last_extracted,
            "last_changed": self.last_changed,
        }


def declarations(code_root: Path = CODE_ROOT) -> list[tuple[str, str, str | None, Freshness]]:
    """(service, table, partition, freshness) of every curated table a service publishes, read
    from its staging2curated script (importing a script does nothing)."""
    from datalake.run.discovery import discover

    found = []
    for script in discover(code_root)[0]:
        if script.stage not in ("staging2curated", "curated2business"):
            continue
        module = importlib.import_module(f"{script.service}.cleaners.{script.path.stem}")
        for table in getattr(module, "TABLES", []):
            found.append((script.service, table.name, table.partition, table.freshness))
    return found


def _as_date(value) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).date()
    if isinstance(value, date):
        return value
    text = str(value)
    if re.fullmatch(r"\d{4}-\d{2}", text):
        return date(int(text[:4]), int(text[5:]), 1)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def _read(path: Path, columns: list[str], partition: str | None):
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    present = set(pq.read_schema(path).names)
    wanted = [c for c in dict.fromkeys([*columns, "source"]) if c in present]
    table = pq.read_table(path, columns=wanted)
    if partition is not None and "source" in table.column_names:
        table = table.filter(pc.equal(table.column("source"), partition))
    return table


def _facts(path: Path, partition: str | None, date_column: str | None) -> list:
    """[rows, last extraction (ISO or ""), newest data date (ISO or "")] of a table's file."""
    import pyarrow.compute as pc

    columns = ["_extracted_at", *([date_column] if date_column else [])]
    table = _read(path, columns, partition)
    extracted = max(
        (
            t
            for t in (_as_time(v) for v in pc.unique(table.column("_extracted_at")).to_pylist())
            if t
        ),
        default=None,
    )
    newest = None
    if date_column in table.column_names:
        newest = max(
            (d for d in map(_as_date, pc.unique(table.column(date_column)).to_pylist()) if d),
            default=None,
        )
    return [table.num_rows, extracted.isoformat() if extracted else "", str(newest or "")]


def check_table(
    lake: Lake,
    name: str,
    partition: str | None,
    freshness: Freshness,
    now: datetime,
    known: dict | None = None,
) -> TableState:
    """The freshness state of one table (or partition) at `now`. `known` holds what earlier
    calls read from the tables' files (by file name, size and mtime): a file not changed since
    is not read again, and what is read is added."""
    label = f"{name}:{partition}" if partition else name
    freshness = freshness.overridden(label.replace(":", "_"))
    path = lake.curated / f"{name}.parquet"
    if not path.exists():
        return TableState(label, ABSENT, "not built yet (platform not configured?)")
    stat = path.stat()
    key = f"{name}|{partition}|{freshness.date_column}|{stat.st_size}|{stat.st_mtime_ns}"
    facts = (known or {}).get(key)
    if not (isinstance(facts, list) and len(facts) == 3):
        facts = _facts(path, partition, freshness.date_column)
        if known is not None:
            known[key] = facts
    rows, extracted, newest = facts[0], _as_time(facts[1]), _as_date(facts[2] or None)
    changed = datetime.fromtimestamp(stat.st_mtime, UTC)
    if rows == 0:
        return TableState(label, ABSENT, "no rows yet", last_changed=_iso(changed))
    state, reasons = OK, []
    if extracted is not None:
        hours = (now - extracted).total_seconds() / 3600
        level = _level(hours, freshness.extracted_warn_hours, freshness.extracted_error_hours)
        if level != OK:
            limits = f"{freshness.extracted_warn_hours:g} h, error after "
            limits += f"{freshness.extracted_error_hours:g} h"
            reasons.append(f"last extraction {hours:.0f} h ago (warn after {limits})")
        state = _worse(state, level)
    if freshness.date_column and newest is not None:
        days = (now.date() - newest).days
        level = _level(days, freshness.data_warn_days, freshness.data_error_days)
        if level != OK:
            limits = f"{freshness.data_warn_days:g}, error after {freshness.data_error_days:g}"
            reasons.append(f"newest data {newest} is {days} day(s) old (warn after {limits})")
        state = _worse(state, level)
    return TableState(
        label,
        state,
        "; ".join(reasons) or "fresh",
        rows=rows,
        newest_data=newest.isoformat() if newest else "",
        last_extracted=_iso(extracted) if extracted else "",
        last_changed=_iso(changed),
    )


def _as_time(value) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _level(age: float, warn: float, error: float) -> str:
    return ERROR if age > error else WARN if age > warn else OK


def _worse(a: str, b: str) -> str:
    return a if _RANK[a] >= _RANK[b] else b


def check_all(
    lake: Lake, now: datetime | None = None, known: dict | None = None
) -> list[TableState]:
    """Every declared curated table's (and partition's) state, sorted by name (`known`: see
    `check_table`)."""
    now = now or datetime.now(UTC)
    states = []
    for _service, name, partition, freshness in declarations():
        try:
            fresh = freshness or Freshness()
            states.append(check_table(lake, name, partition, fresh, now, known))
        except SettingsError:
            raise
        except Exception as error:  # an unreadable table is an error to see, not a crash
            label = f"{name}:{partition}" if partition else name
            states.append(TableState(label, ERROR, f"cannot be read: {error}"))
    return sorted(states, key=lambda s: s.table)


def worst(states: list[TableState]) -> str:
    return max((s.state for s in states), key=_RANK.__getitem__, default=OK)
