"""raw -> staging: rebuild each dataset table deterministically from its raw files.

A service declares `{dataset: builder}`; a builder takes the dataset's `RawFile`s (oldest
extraction first, each with its lineage) and returns a pyarrow Table or an iterable of batches.
The driver validates against `schemas/stg_<dataset>.json`, writes `staging/<service>/<dataset>.csv`
(and a typed Parquet copy with the same rows, which the next stage reads because it is several
times faster to read than the CSV) only if its content changed, and skips a dataset whose raw
files did not change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datalake.atomic import atomic_path, sweep_stale_temps
from datalake.lineage import Lineage
from datalake.registry import Registry
from datalake.runs import EXIT_OK
from datalake.schemas import load_schema
from datalake.state import (
    fingerprint,
    input_folder,
    is_up_to_date,
    load_state,
    part_changed,
    save_state,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RawFile:
    """One raw file with the lineage of the landing file it came from."""

    path: Path
    lineage: Lineage
    meta: dict[str, Any]
    landed_order: int


def raw_files(ctx, dataset: str) -> list[RawFile]:
    """The dataset's raw files, oldest extraction first (ties: the order they landed)."""
    registry = Registry.for_service(ctx.lake.raw(ctx.service))
    found = []
    for sha, entry in registry.processed().items():
        if entry.get("dataset") != dataset:
            continue
        for output in entry.get("outputs", []):
            path = ctx.lake.root / output
            if path.exists():
                lineage = Lineage(
                    entry["run_id"], entry["landing_path"], sha, entry["extracted_at"]
                )
                found.append(
                    (
                        entry["extracted_at"],
                        entry["ingested_at"],
                        output,
                        path,
                        lineage,
                        entry.get("meta", {}),
                    )
                )
    found.sort(key=lambda item: item[:3])
    return [RawFile(p, lin, meta, i) for i, (*_, p, lin, meta) in enumerate(found)]


def build_staging(ctx, datasets: dict[str, Callable[[list[RawFile]], Any]]) -> int:
    """Rebuild the service's staging tables from raw (skipped when no raw file changed)."""
    from datalake.tables import as_batches, same_content, write_table

    if not ctx.force and is_up_to_date(ctx.lake, ctx.service, ctx.stage, ctx.script):
        log.info("%s raw2staging: raw unchanged, nothing to do", ctx.service)
        return EXIT_OK
    sweep_stale_temps(ctx.lake.staging(ctx.service))
    prints = fingerprint(input_folder(ctx.lake, ctx.service, ctx.stage), ctx.script)
    old = load_state(ctx.lake, ctx.service, ctx.stage)
    outputs = {}
    for dataset, builder in datasets.items():
        target = ctx.lake.staging(ctx.service) / f"{dataset}.csv"
        rel = ctx.lake.relative(target)
        raw_folder = ctx.lake.raw(ctx.service) / dataset
        if (
            not ctx.force
            and target.exists()
            and rel in old.get("outputs", {})
            and not part_changed(old.get("inputs", {}), prints, [raw_folder], ctx.script)
        ):
            outputs[rel] = old["outputs"][rel]
            log.info("%s: raw unchanged, kept", rel)
            continue
        schema = load_schema(ctx.service_dir, f"stg_{dataset}")
        files = raw_files(ctx, dataset)
        rows_in = sum(int(f.meta.get("rows", 0)) for f in files)
        ctx.report.files_in += len(files)
        ctx.report.rows_in += rows_in
        copy = target.with_suffix(".parquet")
        # the Parquet copy is replaced first (the inner block exits first), then the CSV; a file
        # whose content did not change is kept as it is (and so is its mtime)
        with atomic_path(target) as temp, atomic_path(copy) as parquet_temp:
            batches = as_batches(builder(files)) if files else []  # no input: header only
            result = write_table(batches, schema, temp, parquet_temp, decimals_as_text=True)
            for new, current in ((temp, target), (parquet_temp, copy)):
                if same_content(new, current):
                    new.unlink()
        outputs[rel] = result.rows
        ctx.report.rows_out += result.rows
        if rows_in > result.rows:  # older extractions superseded, duplicates merged on the key
            ctx.report.reject(
                f"{dataset}: superseded by a later extraction or merged on the key",
                rows_in - result.rows,
            )
        ctx.report.outputs.append(rel)
        log.info("%s: %d rows from %d raw file(s)", rel, result.rows, len(files))
    save_state(ctx.lake, ctx.service, ctx.stage, prints, outputs)
    return EXIT_OK
