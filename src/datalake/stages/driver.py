"""The common driver of every service script: arguments, logging, settings, exit codes, report.

A script's `main()` is one call, e.g. `run_stage(__file__, lambda ctx: ingest_landing(ctx,
FORMATS))`. The driver derives the service and stage from the script's path, parses the common
flags, turns configuration errors into exit 2 and unexpected errors into exit 1 (logged with
their traceback), and writes the script's run record.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from datalake.extract.common import AuthRequired, NotConfigured
from datalake.paths import Lake, iso, utc_now
from datalake.problems import cap
from datalake.run.records import (
    EXIT_AUTH,
    EXIT_FAILED,
    EXIT_NOT_CONFIGURED,
    EXIT_USAGE,
    ScriptReport,
    new_run_id,
)
from datalake.settings import SettingsError, get_settings, recording_reads, setting

_STAGE_RE = re.compile(
    r"^(?P<service>[a-z0-9]+)_(?P<stage>landing2raw|raw2staging|staging2curated|curated2business)$"
)
log = logging.getLogger(__name__)


@dataclass
class StageContext:
    """What a stage body needs: where the lake is, who it is, and where to report."""

    lake: Lake
    service: str
    stage: str
    script: Path
    run_id: str
    report: ScriptReport
    retry_quarantined: bool = False
    force: bool = False
    args: argparse.Namespace | None = None
    settings_read: set[str] = field(default_factory=set)  # names read by the body so far

    @property
    def service_dir(self) -> Path:
        return self.script.resolve().parents[1]


def identify(script: Path) -> tuple[str, str]:
    """(service, stage) of a script path, from the naming convention."""
    script = Path(script)
    service = script.resolve().parents[1].name
    match = _STAGE_RE.match(script.stem)
    if match:
        return match["service"], match["stage"]
    if script.stem.endswith("_extractor"):
        return service, "extract"
    raise ValueError(f"{script.name} does not follow the script naming convention")


def _parser(stage: str, extra: Callable[[argparse.ArgumentParser], None] | None):
    parser = argparse.ArgumentParser(description=f"BEDROT Data Lake {stage} script")
    parser.add_argument("--run-id", default=setting("DATALAKE_RUN_ID"))
    parser.add_argument(
        "--retry-quarantined",
        action="store_true",
        help="re-run quarantined landing files through the parsers",
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if inputs are unchanged")
    parser.add_argument(  # the runner starts a cleaner early, while the stage before it runs
        "--wait-for-start", action="store_true", help=argparse.SUPPRESS
    )
    if extra:
        extra(parser)
    return parser


def _wait_for_start() -> None:
    """A process the runner started ahead of its turn: its imports are done; wait until the
    runner writes `go` on stdin (anything else, or a closed pipe: not needed, exit 0 quietly)."""
    import pyarrow.compute  # noqa: F401  (imported while waiting, not on the run's clock)

    if sys.stdin.readline().strip() != "go":
        sys.exit(0)


def service_lock(lake: Lake, service: str, timeout: float):
    """One script of a service at a time: a script run by hand while the runner works, or one
    left running by a killed runner, is waited for instead of racing on the same files."""
    from filelock import FileLock

    folder = lake.runs / ".locks"
    folder.mkdir(parents=True, exist_ok=True)
    return FileLock(str(folder / f"{service}.lock"), timeout=timeout)


class _NoPandas:
    """An import finder that refuses pandas (see `_pyarrow_without_pandas`)."""

    def find_spec(self, name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("pandas is not used by the stage scripts")
        return None


def _pyarrow_without_pandas() -> None:
    """pyarrow imports pandas (0.4 s of every process here) the first time it converts any
    value, only to ask whether it is a pandas object. A cleaner never hands it one, so pyarrow
    is told once, at start, that pandas is not there; pandas itself stays importable (a script
    that uses it imports it as usual, and `to_pandas()` still works)."""
    if "pandas" in sys.modules:
        return
    finder = _NoPandas()
    sys.meta_path.insert(0, finder)
    try:
        import pyarrow as pa

        pa.scalar(0)  # pyarrow asks about pandas once per process, here
    finally:
        sys.meta_path.remove(finder)


def run_stage(
    script: str | Path,
    body: Callable[[StageContext], int],
    extra_args: Callable[[argparse.ArgumentParser], None] | None = None,
    argv: list[str] | None = None,
) -> None:
    """Run a stage body as a script: parse flags, log, call it, record, exit with its code."""
    from datalake.logs import setup_logging

    script = Path(script)
    service, stage = identify(script)
    if stage != "extract":
        _pyarrow_without_pandas()
    args = _parser(stage, extra_args).parse_args(argv)
    if args.wait_for_start:
        _wait_for_start()
    run_id = args.run_id or new_run_id()
    report = ScriptReport(service, stage, script.name, run_id, started_at=iso(utc_now()))
    started, code, lake = time.monotonic(), EXIT_FAILED, None
    try:
        settings = get_settings()
        setup_logging(settings.log_level)
        lake = Lake(settings.root)
        ctx = StageContext(
            lake, service, stage, script, run_id, report, args.retry_quarantined, args.force, args
        )
        with service_lock(lake, service, settings.script_timeout), recording_reads() as reads:
            ctx.settings_read = reads
            code = body(ctx)
    except SettingsError as error:
        setup_logging()
        log.error("configuration error: %s", error)
        report.message, code = str(error), EXIT_USAGE
    except NotConfigured as error:
        log.info("%s not configured, skipped: %s", service, error)
        report.message, code = str(error), EXIT_NOT_CONFIGURED
    except AuthRequired as error:
        log.error("%s: %s", service, error)
        report.message, code = str(error), EXIT_AUTH
    except Exception as error:  # a crash is reported as a failure, with its traceback in the log
        log.exception("%s %s failed", service, stage)
        report.message, code = cap(f"{type(error).__name__}: {error}"), EXIT_FAILED
    report.exit_code, report.duration_s = code, round(time.monotonic() - started, 3)
    if lake is not None:
        try:
            report.write(lake)
        except OSError as error:  # a full disk: the exit code and the log still tell
            log.error("the script's run record could not be written: %s", error.strerror or error)
            code = code or EXIT_FAILED
    sys.exit(code)
