"""The shared shape of API extractors: declared settings, paging, landing envelopes, day state.

A platform declares an `ApiExtractor` (settings, client, extract body, what `--login` does, how
a person renews its credentials); its `main()` is `api_main(__file__, EXTRACTOR)`. The settings
are read once (a missing credential: `NotConfigured`, exit 4; an invalid value: `SettingsError`
naming it, exit 2) and injected by parameter name into `connect` and `extract`, which never read
the environment. On exit 3 the renewal hint goes into the script report; the runner shows it
under "log in again". Paging is one helper per style in `datalake.extract.paging`; `ApiRun.save`
writes `{"<service>_request": {...}, "pages": [...]}`; `DayState` and `restatement_window` give
incremental reads, the state written only after the landing files it describes.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from datalake.extract.common import (
    AuthRequired,
    NotConfigured,
    read_state,
    save_landing,
    write_state,
)
from datalake.extract.http import HttpError
from datalake.logs import register_secret
from datalake.paths import iso, utc_now
from datalake.run.records import EXIT_OK
from datalake.settings import SettingsError, secret, setting

log = logging.getLogger(__name__)
_KIND_RULES = {int: "must be an integer", float: "must be a number"}


# ---- settings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SettingSpec:
    """One declared setting: its variable, the parameter it is injected as, and its checks."""

    name: str
    arg: str
    default: Any = None
    required: bool = False  # missing: NotConfigured (exit 4), for credentials
    secret: bool = False  # registered for masking; its value is never quoted in an error
    kind: Callable[[str], Any] = str  # int, float, or a parser raising ValueError("must be ...")
    pattern: str | None = None  # the whole text must match (`example` shows the shape)
    example: str = ""
    minimum: float | None = 0  # numbers only
    maximum: float | None = None

    def parse(self, raw: str | None) -> Any:
        """The value of the setting's text (the default when unset); SettingsError if invalid."""
        if raw is None:
            return self.default
        shown = "a secret value" if self.secret else repr(raw)
        if self.pattern and not re.fullmatch(self.pattern, raw):
            raise SettingsError(f"{self.name} must look like {self.example}, got {shown}")
        try:
            value = self.kind(raw)
        except ValueError as error:
            rule = _KIND_RULES.get(self.kind) or str(error)
            raise SettingsError(f"{self.name} {rule}, got {shown}") from None
        if isinstance(value, int | float):
            if self.minimum is not None and value < self.minimum:
                raise SettingsError(f"{self.name} must be >= {self.minimum}, got {value}")
            if self.maximum is not None and value > self.maximum:
                raise SettingsError(f"{self.name} must be <= {self.maximum}, got {value}")
        return value


def api_setting(name: str, arg: str, default: Any = None, **checks: Any) -> SettingSpec:
    """A declared setting injected as the parameter `arg` (checks: see `SettingSpec`). An int
    or float default makes it an int or float setting; the default is the pattern's example."""
    if isinstance(default, int | float) and not isinstance(default, bool):
        checks.setdefault("kind", type(default))
    checks.setdefault("example", str(default))
    return SettingSpec(name, arg, default, **checks)


def secret_setting(name: str, arg: str, **checks: Any) -> SettingSpec:
    """A required secret (token, API key): unset means the platform is not configured."""
    return SettingSpec(name, arg, required=True, secret=True, **checks)


def read_settings(specs: tuple[SettingSpec, ...]) -> dict[str, Any]:
    """The declared settings as {arg: value}, read once: NotConfigured naming the missing
    required ones first, then SettingsError naming the first invalid one."""
    raw = {spec.name: secret(spec.name) if spec.secret else setting(spec.name) for spec in specs}
    missing = [spec.name for spec in specs if spec.required and raw[spec.name] is None]
    if missing:
        raise NotConfigured(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set"
        )
    for spec in specs:
        if spec.secret:
            register_secret(raw[spec.name])
    return {spec.arg: spec.parse(raw[spec.name]) for spec in specs}


# ---- the declaration and its driver ----------------------------------------------------------


@dataclass(frozen=True)
class ApiExtractor:
    """An API platform's extractor, declared. `connect(**settings it names)` builds the client,
    `extract(run, client, **settings it names)` returns the exit code, `login(client)` is what
    `--login` does (returns the line to log), `renew_hint` what a person does on exit 3."""

    settings: tuple[SettingSpec, ...]
    connect: Callable[..., Any]
    extract: Callable[..., int]
    login: Callable[[Any], str]
    login_help: str
    renew_hint: str = ""
    items: str = "data"  # the list in each page that holds the rows

    def add_login_flag(self, parser) -> None:
        """The `--login` flag (`extra_args` of `run_stage`), with the platform's meaning."""
        parser.add_argument("--login", action="store_true", help=self.login_help)


def _parameters(function: Callable) -> set[str]:
    return set(inspect.signature(function).parameters)


def _inject(function: Callable, values: dict[str, Any], *args: Any) -> Any:
    """`function(*args, **the settings it names)`: settings are injected by parameter name."""
    wanted = _parameters(function)
    return function(*args, **{k: v for k, v in values.items() if k in wanted})


def run_api_extractor(ctx, extractor: ApiExtractor) -> int:
    """An API extractor's stage body: settings read and injected, `--login` runs the platform's
    check, else its extract body; exit 3 (AuthRequired, or HTTP 401) records how to renew."""
    values = read_settings(extractor.settings)
    unused = set(values) - _parameters(extractor.connect) - _parameters(extractor.extract)
    if unused:
        raise TypeError(f"declared settings used by neither connect nor extract: {unused}")
    try:
        client = _inject(extractor.connect, values)
        if getattr(ctx.args, "login", False):
            log.info("%s", extractor.login(client))
            return EXIT_OK
        return _inject(extractor.extract, values, ApiRun(ctx, extractor.items), client)
    except AuthRequired as error:
        ctx.report.login_hint = error.hint or extractor.renew_hint
        raise
    except HttpError as error:
        if error.status != 401:
            raise
        ctx.report.login_hint = extractor.renew_hint
        raise AuthRequired(f"credentials refused: {error}", extractor.renew_hint) from None


def api_main(script: str | Path, extractor: ApiExtractor) -> None:
    """An API extractor's whole `main()`: `run_stage` with its `--login` flag and body."""
    from datalake.stages.driver import run_stage

    run_stage(
        script, lambda ctx: run_api_extractor(ctx, extractor), extra_args=extractor.add_login_flag
    )


# ---- landing and incremental state -----------------------------------------------------------


class ApiRun:
    """What an extract body works with: the stage context, landing saves, incremental state."""

    def __init__(self, ctx, items: str = "data") -> None:
        self.ctx, self.items = ctx, items

    def save(self, dataset: str, stem: str, request: dict, pages: list[dict]) -> Path:
        """Save one request's pages as `{"<service>_request": {"dataset", **request,
        "extracted_at"}, "pages": pages}`; save_landing refuses bytes holding a secret."""
        request = {"dataset": dataset, **request, "extracted_at": iso(utc_now())}
        envelope = {f"{self.ctx.service}_request": request, "pages": pages}
        data = json.dumps(envelope, ensure_ascii=False).encode()
        lake = self.ctx.lake
        path = save_landing(lake, self.ctx.service, dataset, f"{stem}.json", data)
        rows = sum(len(page.get(self.items) or []) for page in pages)
        self.ctx.report.outputs.append(lake.relative(path))
        self.ctx.report.rows_out += rows
        log.info("saved %s (%d rows)", lake.relative(path), rows)
        return path

    def state(self, name: str, **identity: str) -> DayState:
        """The day state `landing/<service>/_state_<name>.json` (identity: fields it records)."""
        return DayState(self.ctx, name, identity)


class DayState:
    """The last complete day an incremental extractor has in landing."""

    def __init__(self, ctx, name: str, identity: dict[str, str]) -> None:
        self.ctx, self.name, self.identity = ctx, name, identity
        state = read_state(ctx.lake, ctx.service, name)
        self.last_complete = date.fromisoformat(state["last_complete_day"]) if state else None

    def advance(self, day: date) -> None:
        """Record `day` as complete (never moving back). Call it only after the landing files
        holding the data up to `day` are saved, so a killed run re-reads instead of skipping."""
        day = max(day, self.last_complete or day)
        state = {**self.identity, "last_complete_day": day.isoformat()}
        state.update(updated_at=iso(utc_now()), run_id=self.ctx.run_id)
        write_state(self.ctx.lake, self.ctx.service, self.name, state)
        self.last_complete = day


@dataclass(frozen=True)
class Window:
    """What to read this run: days `since..until`, and whether this is the first run."""

    since: date
    until: date
    backfill: bool

    @property
    def empty(self) -> bool:
        return self.since > self.until


def restatement_window(
    today: date, last_complete: date | None, restatement_days: int, oldest: date
) -> Window:
    """From `oldest` on the first run; later from the last complete day minus the restatement
    days (never before `oldest`). Always up to yesterday: today is not complete."""
    yesterday = today - timedelta(days=1)
    if last_complete is None:
        return Window(oldest, yesterday, True)
    since = max(oldest, last_complete - timedelta(days=restatement_days))
    return Window(since, yesterday, False)


def platform_today(timezone_name: str | None, now: datetime | None = None) -> date:
    """Today in the platform's (account's) time zone, whose days its reports use; else UTC."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    now = now or datetime.now(UTC)
    try:
        return now.astimezone(ZoneInfo(timezone_name or "UTC")).date()
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r: using UTC days", timezone_name)
        return now.astimezone(UTC).date()
