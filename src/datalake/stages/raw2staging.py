"""raw -> staging: rebuild each dataset table deterministically from its raw files.

A service declares `{dataset: builder}`; a builder takes the dataset's `RawFile`s (oldest
extraction first, each with its lineage) and returns a pyarrow Table or an iterable of batches.
The driver validates against `schemas/stg_<dataset>.json`, writes
`staging/<service>/<dataset>.parquet` (typed; `datalake show <service>/<dataset>` prints it) only
if its content changed, and skips a dataset whose raw files did not change.

A raw file that cannot be staged (written before raw's schemas were as strict as they are now, say)
never blocks the stage: when a dataset fails, each of its raw files is built alone, the ones that
fail alone are retired to `archive/raw/` with their reason (`datalake.stages.quarantine.retire`),
and the dataset is built from the rest; the stage then exits 5. A failure that no single file
explains (or a fault of the lake itself) still fails the stage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datalake.extract.common import DEFAULT_ACCOUNT
from datalake.problems import blames_the_file, describe
from datalake.run.records import EXIT_OK, EXIT_QUARANTINED
from datalake.stages.quarantine import retire
from datalake.stages.rawmeta import RawMeta
from datalake.storage.atomic import atomic_path, sweep_stale_temps
from datalake.storage.changes import Changes
from datalake.storage.registry import Registry
from datalake.tables.lineage import Lineage
from datalake.tables.schemas import load_schema

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RawFile:
    """One raw file with the lineage of the landing file it came from."""

    path: Path
    lineage: Lineage
    meta: RawMeta  # as its format declared it (a subclass of RawMeta)
    landed_order: int
    account: str = DEFAULT_ACCOUNT  # whose file it is (services with several accounts)


def raw_files(ctx, dataset: str) -> list[RawFile]:
    """The dataset's raw files, oldest extraction first (ties: the order they landed)."""
    registry = Registry.for_service(ctx.lake.raw(ctx.service))
    found = []
    for sha, entry in registry.processed().items():
        if entry.get("dataset") != dataset:
            continue
        lineage = Lineage(entry["run_id"], entry["landing_path"], sha, entry["extracted_at"])
        account = entry.get("account", DEFAULT_ACCOUNT)
        for output in entry.get("outputs", []):
            path = ctx.lake.root / output
            if path.exists():
                order = (entry["extracted_at"], entry["ingested_at"], output)
                found.append((order, path, lineage, entry.get("meta", {}), account))
    found.sort(key=lambda item: item[0])
    return [
        RawFile(path, lineage, meta, i, account)
        for i, (_, path, lineage, meta, account) in enumerate(found)
    ]


def _write(builder, files: list[RawFile], schema, target: Path, keep: bool = True):
    """Build a dataset from `files` into the Parquet file `target` (or only try, if not
    `keep`); a file whose content did not change is kept as it is (and so is its mtime)."""
    from datalake.tables.io import as_batches, same_content, write_parquet

    with atomic_path(target) as temp:
        batches = as_batches(builder(files)) if files else []  # no input: no rows
        result = write_parquet(batches, schema, temp, decimals_as_text=True)
        if not keep or same_content(temp, target):
            temp.unlink()  # a temp that is gone cancels its replace
    return result


def _fails_alone(builder, file: RawFile, schema, target: Path) -> str | None:
    """Why one raw file cannot be staged on its own, or None if it can."""
    try:
        _write(builder, [file], schema, target, keep=False)
    except Exception as error:
        if not blames_the_file(error):
            raise
        return describe(error)
    return None


def _build_dataset(ctx, dataset: str, builder, schema, files: list[RawFile], target: Path):
    """Build one dataset; raw files that cannot be staged are retired and the rest built.
    Returns the write result and the files it was built from."""
    try:
        return _write(builder, files, schema, target), files
    except Exception as error:
        if not blames_the_file(error):
            raise
        culprits = {}
        for file in files:
            if reason := _fails_alone(builder, file, schema, target):
                culprits[file.path] = reason
        if not culprits:
            raise
    registry = Registry.for_service(ctx.lake.raw(ctx.service))
    for file in (f for f in files if f.path in culprits):
        raw = ctx.lake.relative(file.path)
        reason = f"{dataset}: cannot be staged: {culprits[file.path]}"
        archived, reason = retire(
            ctx.lake,
            ctx.service,
            registry,
            file.path,
            file.lineage.source_sha256,
            reason,
            ctx.run_id,
        )
        ctx.report.retired.append({"file": raw, "archived_to": archived, "reason": reason})
        ctx.report.reject(
            f"{dataset}: raw file retired (cannot be staged)", file.meta.get("rows", 0)
        )
    kept = [file for file in files if file.path not in culprits]
    return _build_dataset(ctx, dataset, builder, schema, kept, target)


def build_staging(ctx, datasets: dict[str, Callable[[list[RawFile]], Any]]) -> int:
    """Rebuild the service's staging tables from raw (skipped when no raw file changed)."""
    changes = Changes(ctx)
    if not ctx.force and changes.up_to_date():
        log.info("%s raw2staging: raw unchanged, nothing to do", ctx.service)
        return EXIT_OK
    sweep_stale_temps(ctx.lake.staging(ctx.service))
    outputs = {}
    for dataset, builder in datasets.items():
        target = ctx.lake.staging(ctx.service) / f"{dataset}.parquet"
        rel = ctx.lake.relative(target)
        raw_folder = ctx.lake.raw(ctx.service) / dataset
        if not ctx.force and target.exists() and changes.unchanged(rel, [raw_folder]):
            outputs[rel] = changes.previous_output(rel)
            log.info("%s: raw unchanged, kept", rel)
            continue
        schema = load_schema(ctx.service_dir, f"stg_{dataset}")
        files = raw_files(ctx, dataset)
        ctx.report.files_in += len(files)
        ctx.report.rows_in += sum(int(f.meta.get("rows", 0)) for f in files)
        result, used = _build_dataset(ctx, dataset, builder, schema, files, target)
        outputs[rel] = result.rows
        ctx.report.rows_out += result.rows
        rows_used = sum(int(f.meta.get("rows", 0)) for f in used)
        if rows_used > result.rows:  # older extractions superseded, duplicates merged on the key
            ctx.report.reject(
                f"{dataset}: superseded by a later extraction or merged on the key",
                rows_used - result.rows,
            )
        ctx.report.outputs.append(rel)
        log.info("%s: %d rows from %d raw file(s)", rel, result.rows, len(files))
    # retired files left raw: record the inputs the stage was really built from
    changes.save(outputs, refresh_inputs=bool(ctx.report.retired))
    return EXIT_QUARANTINED if ctx.report.retired else EXIT_OK
