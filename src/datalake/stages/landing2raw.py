"""landing -> raw: hash, dedup, recognise by content, standardise, or quarantine.

A service declares its `Format`s (how to recognise a file from its first bytes, which raw dataset
it feeds, how to convert it) and optional `rejects` (recognisable bad inputs such as a saved
login page). `ingest_landing()` does the rest: skip files seen unchanged, hash new ones, skip
content already processed, convert into `raw/<service>/<dataset>/<stem>__<sha12>.<ext>`
atomically, record lineage in the registry, quarantine what cannot be used.

Nothing a file holds can stop the run: an error while recognising it counts as "not this format",
and any error while converting or checking it quarantines that file with a short reason, after which
the next file is read. Only what no file causes (`blames_the_file`: the lake's faults such as a full
disk, a wrong setting, a bug in a converter) fails the script. A format's `schema` is what raw
promises the next stage: the converted CSV is checked against a table schema, every NDJSON record
against a JSON Schema.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datalake.extract.common import account_of
from datalake.paths import file_time, fit_name, iso, utc_now
from datalake.problems import Rejected, blames_the_file, cap, describe
from datalake.run.records import EXIT_FAILED, EXIT_OK, EXIT_QUARANTINED
from datalake.stages.quarantine import quarantine, release
from datalake.stages.rawmeta import check_meta
from datalake.stages.recognise import Format, Ignore, Sample, ignored, route_file
from datalake.storage.atomic import atomic_path, sweep_stale_temps
from datalake.storage.changes import visible_files
from datalake.storage.registry import (
    DISCARDED,
    IGNORED,
    PROCESSED,
    QUARANTINED,
    RETIRED,
    FileStat,
    Registry,
    sha256_file,
)

__all__ = [
    "Format",
    "Ignore",
    "Rejected",
    "Sample",
    "ingest_landing",
]  # what a service declares with
log = logging.getLogger(__name__)
SAVE_EVERY_SECONDS = 5.0  # how often a long landing2raw records its progress


@dataclass
class _Outcome:
    processed: int = 0
    quarantined_new: int = 0
    discarded: int = 0
    duplicates: int = 0
    details: list[str] = field(default_factory=list)


def _check_raw(ctx, fmt: Format, path: Path) -> None:
    """What raw holds must be usable downstream: check it before it lands."""
    from datalake.tables.documents import check_records
    from datalake.tables.schemas import load_schema

    if fmt.extension == "ndjson":
        from datalake.tables.records import read_ndjson

        check_records(read_ndjson(path), ctx.service_dir / "schemas" / f"{fmt.schema}.json")
    else:
        from datalake.tables.io import read_csv_text

        load_schema(ctx.service_dir, fmt.schema).check(read_csv_text(path))


def _convert(ctx, landing: Path, sha: str, fmt: Format) -> tuple[str, dict[str, Any]]:
    """Convert into raw atomically. The name is derived from the content hash, so a file that an
    interrupted run already wrote is replaced by identical bytes (conversion is deterministic)."""
    name = f"{fit_name(landing.stem)}__{sha[:12]}.{fmt.extension}"
    target = ctx.lake.raw(ctx.service) / fmt.dataset / name
    with atomic_path(target) as temp:
        meta = check_meta(fmt.meta, fmt.convert(landing, temp), fmt.name)
        if fmt.schema:
            _check_raw(ctx, fmt, temp)
    return ctx.lake.relative(target), meta


def _process(ctx, registry, landing: Path, sha: str, formats, rejects, ignores, outcome) -> None:
    sample = Sample.of(landing)
    if claimed := ignored(sample, ignores):
        return _ignore(ctx, registry, landing, sha, *claimed, outcome)
    route = route_file(sample, formats, rejects)
    if isinstance(route, str):
        return _quarantine(ctx, registry, landing, sha, route, outcome)
    try:
        target, meta = _convert(ctx, landing, sha, route)
    except Rejected as error:
        return _quarantine(ctx, registry, landing, sha, f"{route.name}: {error}", outcome)
    except Exception as error:  # malformed content: never crash the run, set the file aside
        if not blames_the_file(error):
            raise  # the lake's, a setting's or the code's fault: fail loudly
        reason = f"could not read as {route.name}: {describe(error)}"
        return _quarantine(ctx, registry, landing, sha, reason, outcome)
    was_quarantined = (registry.entry(sha) or {}).get("status") == QUARANTINED
    registry.record(
        sha,
        status=PROCESSED,
        format=route.name,
        dataset=route.dataset,
        landing_path=ctx.lake.relative(landing),
        account=account_of(ctx.lake.relative(landing)),
        outputs=[target],
        extracted_at=meta.get("extracted_at") or iso(file_time(landing)),
        ingested_at=iso(utc_now()),
        run_id=ctx.run_id,
        meta=meta,
        reason=None,
    )
    if was_quarantined:
        release(ctx.lake, ctx.service, sha, landing)
    ctx.report.warnings += [f"{ctx.lake.relative(landing)}: {w}" for w in meta.get("warnings", [])]
    ctx.report.rows_out += int(meta.get("rows", 0))
    ctx.report.outputs.append(target)
    outcome.processed += 1
    log.info("%s -> %s (%s rows)", ctx.lake.relative(landing), target, meta.get("rows", "?"))


def _ignore(ctx, registry, landing: Path, sha: str, ignore: Ignore, reason, outcome) -> None:
    """Record a file the lake does not use; one holding personal data is deleted as well."""
    rel = ctx.lake.relative(landing)
    status = DISCARDED if ignore.personal else IGNORED
    registry.record(sha, status=status, reason=reason, landing_path=rel, run_id=ctx.run_id)
    registry.record(sha, ingested_at=iso(utc_now()), outputs=[], meta={})
    ctx.report.ignored.append({"file": rel, "reason": reason, "status": status})
    if ignore.personal:
        landing.unlink(missing_ok=True)
        registry.seen.pop(rel, None)
        outcome.discarded += 1
        log.warning("%s: %s", rel, reason)
    else:
        log.info("%s ignored: %s", rel, reason)


def _quarantine(ctx, registry, landing, sha, reason, outcome) -> None:
    already = (registry.entry(sha) or {}).get("status") == QUARANTINED
    reason = quarantine(ctx.lake, ctx.service, registry, landing, sha, reason, ctx.run_id)
    ctx.report.quarantined.append({"file": ctx.lake.relative(landing), "reason": reason})
    if not already:
        outcome.quarantined_new += 1


def _retry_candidates(ctx, registry: Registry) -> dict[Path, str]:
    """Landing files of quarantined and retired hashes, for --retry-quarantined."""
    wanted = set(registry.quarantined()) | set(registry.retired())
    return {
        ctx.lake.root / rel: seen["sha256"]
        for rel, seen in registry.seen.items()
        if seen["sha256"] in wanted and (ctx.lake.root / rel).exists()
    }


def _warn_reserved_names(ctx) -> None:
    """Names starting with `_` are extractor state, never data: say so if a person used one."""
    landing = ctx.lake.landing(ctx.service)
    for path in sorted(landing.rglob("_*")) if landing.exists() else []:
        if path.is_file() and not path.name.startswith("_state"):
            log.warning(
                "%s ignored: names starting with '_' are reserved; rename it to have it processed",
                ctx.lake.relative(path),
            )


def _ingest_one(ctx, registry, landing: Path, retry, formats, rejects, ignores, outcome) -> bool:
    """Bring one landing file in; False if it was already known, unchanged (nothing done)."""
    rel, stat = ctx.lake.relative(landing), FileStat.of(landing)
    if registry.known_unchanged(rel, stat) and landing not in retry:
        return False
    ctx.report.files_in += 1
    sha = sha256_file(landing)
    registry.note_seen(rel, stat, sha)
    status = (registry.entry(sha) or {}).get("status")
    if status in (PROCESSED, IGNORED) or (
        status in (QUARANTINED, RETIRED) and landing not in retry
    ):
        outcome.duplicates += 1
        ctx.report.files_skipped += 1
        log.info("%s: same bytes as %s, skipped", rel, registry.entry(sha)["landing_path"])
    else:
        _process(ctx, registry, landing, sha, formats, rejects, ignores, outcome)
    return True


def _skip_unreadable(ctx, registry, landing: Path, error: OSError) -> bool:
    """A landing file that vanished or may not be read is skipped and left unseen, so a later
    run reads it once it can; True if it is still there (a person must fix its permissions).
    An error about any other file (raw not writable, disk full) is the lake's: raised."""
    if error.filename is None or Path(error.filename) != landing:
        raise error
    rel = ctx.lake.relative(landing)
    registry.seen.pop(rel, None)
    if not landing.exists():
        log.warning("%s disappeared while the run read it; skipped", rel)
        return False
    log.error("%s cannot be read (%s): check its permissions", rel, error.strerror)
    return True


def ingest_landing(
    ctx, formats: Sequence[Format], rejects: Sequence = (), ignores: Sequence[Ignore] = ()
) -> int:
    """Bring every new landing file of the service into raw; exit 5 if any was quarantined (or
    discarded for holding personal data), 1 if a landing file could not be read (the others are
    still processed). `ignores` are asked first: see `Ignore`."""
    for folder in (ctx.lake.raw(ctx.service), ctx.lake.quarantine(ctx.service)):
        sweep_stale_temps(folder)
    registry, outcome = Registry.for_service(ctx.lake.raw(ctx.service)), _Outcome()
    retry = _retry_candidates(ctx, registry) if ctx.retry_quarantined else {}
    _warn_reserved_names(ctx)
    unreadable, unsaved, saved_at = [], False, time.monotonic()
    for landing in sorted(visible_files(ctx.lake.landing(ctx.service))):
        try:
            done = _ingest_one(ctx, registry, landing, retry, formats, rejects, ignores, outcome)
            unsaved |= done
        except OSError as error:
            unsaved = True
            if _skip_unreadable(ctx, registry, landing, error):
                unreadable.append(ctx.lake.relative(landing))
        retry.pop(landing, None)
        # The registry is saved every few seconds, not after every file: a run killed in
        # between reads those files again, and writes the same raw files (named by content).
        if unsaved and time.monotonic() - saved_at >= SAVE_EVERY_SECONDS:
            registry.save()
            unsaved, saved_at = False, time.monotonic()
    if unsaved:
        registry.save()
    log.info(
        "%s landing2raw: %d processed, %d duplicate(s), %d newly quarantined",
        ctx.service,
        outcome.processed,
        outcome.duplicates,
        outcome.quarantined_new,
    )
    if unreadable:
        ctx.report.message = cap(
            f"cannot read {len(unreadable)} landing file(s), check their permissions: "
            + ", ".join(unreadable)
        )
        return EXIT_FAILED
    return EXIT_QUARANTINED if outcome.quarantined_new or outcome.discarded else EXIT_OK
