"""The storage seam: every zone file the pipeline commits or deletes is announced in one place
(`datalake.storage.atomic.on_change`), so another backend (the MinIO mirror) is one hook."""

from __future__ import annotations

import shutil
from pathlib import Path

from badinput import SAMPLES
from conftest import make_ctx

from datalake.storage.atomic import COMMITTED, REMOVED, on_change


def _zone_files(root: Path) -> set[Path]:
    zones = ("landing", "raw", "staging", "curated", "archive")
    return {
        p.resolve()
        for zone in zones
        for p in (root / zone).rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }


def test_every_zone_file_a_run_writes_went_through_the_seam(lake_root):
    from datalake.stages.landing2raw import ingest_landing
    from datalake.stages.raw2staging import build_staging
    from datalake.stages.staging2curated import publish_curated
    from distrokid.cleaners import distrokid_landing2raw as l2r
    from distrokid.cleaners import distrokid_raw2staging as r2s
    from distrokid.cleaners import distrokid_staging2curated as s2c

    shutil.copytree(SAMPLES / "distrokid", lake_root / "landing" / "distrokid")
    (lake_root / "landing" / "distrokid" / "broken_20261130T000000Z.csv").write_text("a,b\n")
    dropped = _zone_files(lake_root)  # what a person (or an extractor) put there
    seen: dict[Path, str] = {}
    stop = on_change(lambda path, change: seen.__setitem__(path.resolve(), change))
    try:
        assert ingest_landing(make_ctx(lake_root, "distrokid", "landing2raw"), l2r.FORMATS) == 5
        assert build_staging(make_ctx(lake_root, "distrokid", "raw2staging"), r2s.DATASETS) == 0
        assert publish_curated(make_ctx(lake_root, "distrokid", "staging2curated"), s2c.TABLES) == 0
        # a second publication archives the first version: through the seam too
        (lake_root / "curated" / "dk_bank_details.csv").write_text("changed by hand\n")
        publish_curated(make_ctx(lake_root, "distrokid", "staging2curated", force=True), s2c.TABLES)
    finally:
        stop()
    written = _zone_files(lake_root) - dropped
    committed = {p for p, change in seen.items() if change == COMMITTED}
    assert written and written <= committed
    assert any("archive/curated" in p.as_posix() for p in committed)
    assert any("_quarantine" in p.as_posix() for p in committed)
    assert not [p for p, change in seen.items() if change == REMOVED and p.exists()]
