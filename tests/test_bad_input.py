"""Bad input never stops a service: every malformed file is quarantined, the rest flows.

Malformed files of every kind (tests/badinput.py) are dropped next to the bundled samples of
every service; the run must exit 5, quarantine each with a short reason, log no traceback, and
leave curated exactly as a run on the samples alone. A raw file that a later stage cannot use is
retired to archive/raw/ instead of failing every night.
"""

from __future__ import annotations

import csv
import errno
import gzip
import json
import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import tally
from badinput import SAMPLES, SERVICES, drop_bad_files
from conftest import REPO, make_ctx, run, run_runner, snapshot

from datalake.demo import copy_samples
from datalake.problems import MAX_REASON, cap, describe, is_lake_fault, shown
from datalake.stages.landing2raw import Format, ingest_landing
from datalake.storage.registry import Registry
from datalake.tables.records import load_json

NO_EXTRACTORS = ("--skip-extractors", "--no-progress")


def _curated(root: Path) -> dict[str, list[tuple]]:
    """Every curated table's rows, without `_run_id` (which names the run that made them)."""
    tables = {}
    for path in sorted((root / "curated").glob("*.csv")):
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        tables[path.stem] = [tuple(v for k, v in r.items() if k != "_run_id") for r in rows]
    return tables


def _status_of(root: Path, service: str, landing_rel: str) -> dict:
    registry = Registry.for_service(root / "raw" / service)
    return registry.entry(registry.seen[landing_rel]["sha256"])


def _logs(root: Path) -> str:
    return "".join(p.read_text("utf-8") for p in (root / "_runs").rglob("*.log"))


@pytest.fixture(scope="session")  # shared with test_bad_input_generated.py
def clean_curated(tmp_path_factory) -> dict[str, list[tuple]]:
    root = tmp_path_factory.mktemp("clean")
    copy_samples(root / "landing")
    result = run_runner(root, *NO_EXTRACTORS)
    assert result.returncode == 0, result.stderr
    return _curated(root)


def test_bad_files_of_every_kind_are_quarantined_and_curated_is_untouched(tmp_path, clean_curated):
    copy_samples(tmp_path / "landing")
    dropped = {s: drop_bad_files(tmp_path / "landing", s) for s in SERVICES}

    result = run_runner(tmp_path, *NO_EXTRACTORS)
    assert result.returncode == 5, result.stderr
    record = json.loads((tmp_path / "_runs" / "latest.json").read_text("utf-8"))
    codes = {(s["service"], s["stage"]): s["exit_code"] for s in record["scripts"]}
    for service in SERVICES:
        assert codes[(service, "landing2raw")] == 5
        assert codes[(service, "raw2staging")] == 0 and codes[(service, "staging2curated")] == 0
    reported = {
        q["file"]: q["reason"]
        for s in record["scripts"]
        for q in s["details"].get("quarantined", [])
    }
    for service, files in dropped.items():
        for name in files:
            rel = f"landing/{service}/dropped/{name}"
            entry = _status_of(tmp_path, service, rel)
            assert entry["status"] == "quarantined", (rel, entry)
            assert 0 < len(entry["reason"]) <= MAX_REASON < 500, (rel, entry["reason"])
            assert reported[rel] == entry["reason"]
            copies = list((tmp_path / "raw" / "_quarantine" / service).glob(f"*_{name}"))
            assert len(copies) == 1 and copies[0].read_bytes() == files[name]
            reason_file = json.loads(Path(f"{copies[0]}.reason.json").read_text("utf-8"))
            assert reason_file["reason"] == entry["reason"]
            assert reason_file["landing_file"] == rel
    assert "Traceback" not in _logs(tmp_path) and "Traceback" not in result.stderr
    for service in SERVICES:  # a 5 MB value is never copied into the registry
        assert (tmp_path / "raw" / service / "_hashes.json").stat().st_size < 100_000
    assert (tmp_path / "_runs" / "latest.json").stat().st_size < 200_000
    assert "Quarantined input" in (tmp_path / "_runs" / "latest.html").read_text("utf-8")
    listing = run(["-m", "datalake.stages.quarantine"], tmp_path).stdout
    assert f"{sum(map(len, dropped.values()))} file(s) set aside" in listing
    assert all(f"dropped/{name}" in listing for files in dropped.values() for name in files)
    assert _curated(tmp_path) == clean_curated

    before = {zone: snapshot(tmp_path / zone) for zone in ("raw", "staging", "curated", "archive")}
    second = run_runner(tmp_path, *NO_EXTRACTORS)
    assert second.returncode == 0, second.stderr  # the same bad files do not count again
    after = {zone: snapshot(tmp_path / zone) for zone in ("raw", "staging", "curated", "archive")}
    assert after == before

    retry = run_runner(tmp_path, *NO_EXTRACTORS, "--retry-quarantined")
    assert retry.returncode == 0, retry.stderr  # re-read, still bad, not counted as new
    for service, files in dropped.items():
        for name in files:
            entry = _status_of(tmp_path, service, f"landing/{service}/dropped/{name}")
            assert entry["status"] == "quarantined"
    assert _curated(tmp_path) == clean_curated
    tally.count("bad input", sum(map(len, dropped.values())))


def _csv_header(sample) -> bool:
    return next(csv.reader([sample.first_line])) == ["date", "streams"]


def _json_keys(sample) -> bool:
    return set(json.loads(sample.text)) == {"streams"}


@pytest.mark.parametrize(
    ("reason_part", "data"),
    [
        ("a line or field longer than 128 KiB", b"x" * (200 << 10) + b"\n"),
        ("nested too deeply", b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
    ],
)
def test_a_detector_that_fails_on_a_file_does_not_match_it(lake_root, reason_part, data):
    formats = [
        Format(name, "things", detect, lambda src, dst: {"rows": 0})
        for name, detect in (("table", _csv_header), ("document", _json_keys))
    ]
    (lake_root / "landing" / "distrokid").mkdir(parents=True)
    (lake_root / "landing" / "distrokid" / "odd_20261130T000000Z.txt").write_bytes(data)
    ctx = make_ctx(lake_root, "distrokid", "landing2raw")
    assert ingest_landing(ctx, formats) == 5
    (quarantined,) = ctx.report.quarantined
    assert quarantined["reason"].startswith("unknown layout: not a known things file")
    assert reason_part in quarantined["reason"]
    assert len(quarantined["reason"]) <= MAX_REASON
    tally.count("bad input")


def _failing(error: Exception):
    def convert(src: Path, dst: Path) -> dict:
        if src.name.startswith("a_"):
            raise error
        dst.write_text("date,streams\n2026-01-01,1\n", "utf-8")
        return {"rows": 1}

    return [Format("any", "things", lambda s: True, convert)]


@pytest.mark.parametrize(
    "error",
    [
        KeyError("date_start"),
        RecursionError("deep"),
        IndexError("x"),
        MemoryError(),
        OSError(0, ""),
    ],
)
def test_any_conversion_error_quarantines_that_file_and_the_next_is_read(lake_root, error):
    landing = lake_root / "landing" / "distrokid"
    landing.mkdir(parents=True)
    for name in ("a_bad_20261130T000000Z.txt", "b_good_20261130T000000Z.txt"):
        (landing / name).write_text(name, "utf-8")
    ctx = make_ctx(lake_root, "distrokid", "landing2raw")
    assert ingest_landing(ctx, _failing(error)) == 5
    assert [q["file"].rsplit("/", 1)[1] for q in ctx.report.quarantined] == [
        "a_bad_20261130T000000Z.txt"
    ]
    assert [Path(o).parent.name for o in ctx.report.outputs] == ["things"]


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EACCES, errno.EROFS])
def test_a_fault_of_the_lake_itself_fails_the_script(lake_root, code):
    landing = lake_root / "landing" / "distrokid"
    landing.mkdir(parents=True)
    (landing / "a_bad_20261130T000000Z.txt").write_text("anything", "utf-8")
    ctx = make_ctx(lake_root, "distrokid", "landing2raw")
    with pytest.raises(OSError):
        ingest_landing(ctx, _failing(OSError(code, "lake fault")))
    assert not ctx.report.quarantined  # not the file's fault: nothing set aside


def test_reasons_are_short_and_say_what_is_wrong():
    assert shown("x" * 10_000).endswith("…(10,002 chars)") and len(shown("x" * 10_000)) < 80
    assert len(cap("why " * 1000)) == MAX_REASON and "\n" not in cap("a\nb")
    assert "nested too deeply" in describe(RecursionError())
    assert describe(KeyError("date_start")) == "KeyError: 'date_start'"
    assert is_lake_fault(OSError(errno.ENOSPC, "full")) and not is_lake_fault(ValueError("x"))
    from datalake.problems import blames_the_file
    from datalake.settings import SettingsError
    from datalake.stages.rawmeta import MetaError

    assert blames_the_file(KeyError("x")) and blames_the_file(OSError(0, "odd"))
    for not_the_file in (OSError(errno.EACCES, "no"), SettingsError("X=1"), MetaError("bug")):
        assert not blames_the_file(not_the_file)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"a": 1, "a": 2}', "repeats key(s) ['a']"),
        ('{"a": NaN}', "NaN, which is no number"),
        ('{"a": [1, 2', "cut short or damaged"),
    ],
)
def test_json_is_read_strictly(text, reason):
    from datalake.problems import Rejected

    with pytest.raises(Rejected, match=re.escape(reason)):
        load_json(text)
    assert load_json(b'\xef\xbb\xbf{"a": [1]}') == {"a": [1]}


# --- raw files that a later stage cannot use --------------------------------------------------

META = REPO / "src" / "metaads" / "cleaners"


def _meta_lake(root: Path) -> None:
    """A lake whose landing zone holds the Meta Ads samples only."""
    shutil.copytree(SAMPLES / "metaads", root / "landing" / "metaads")


def _spoil(raw: Path) -> None:
    """Rewrite a raw insights file as an older, laxer parser could have written it: one row
    without `date_start` (raw is append-only, so nothing in the pipeline ever does this)."""
    lines = raw.read_text("utf-8").splitlines()
    first = json.loads(lines[0])
    del first["date_start"]
    raw.write_text("\n".join([json.dumps(first, sort_keys=True), *lines[1:]]) + "\n", "utf-8")


def test_a_raw_file_that_cannot_be_staged_is_retired_and_a_fixed_parser_brings_it_back(
    tmp_path,
):
    clean, spoiled = tmp_path / "clean", tmp_path / "spoiled"
    for root in (clean, spoiled):
        _meta_lake(root)
        assert run_runner(root, *NO_EXTRACTORS).returncode == 0
    raw = sorted((spoiled / "raw" / "metaads" / "ad_insights").glob("*.ndjson"))[0]
    original = raw.read_bytes()
    _spoil(raw)

    result = run([META / "metaads_raw2staging.py", "--run-id", "retiring"], spoiled)
    assert result.returncode == 5, result.stderr
    assert not raw.exists()
    archived = spoiled / "archive" / "raw" / "metaads" / "ad_insights" / f"{raw.name}.gz"
    assert gzip.decompress(archived.read_bytes()) != original  # the spoiled bytes, kept
    why = json.loads((archived.parent / f"{raw.name}.reason.json").read_text("utf-8"))
    assert "ad_insights: cannot be staged" in why["reason"] and "date_start" in why["reason"]
    assert why["landing_file"].startswith("landing/metaads/ad_insights/")
    report = spoiled / "_runs" / "retiring" / "scripts" / "metaads.raw2staging.json"
    details = json.loads(report.read_text("utf-8"))
    assert details["retired"] == [
        {
            "file": f"raw/metaads/ad_insights/{raw.name}",
            "archived_to": f"archive/raw/metaads/ad_insights/{raw.name}.gz",
            "reason": why["reason"],
        }
    ]
    assert "Traceback" not in result.stderr
    registry = Registry.for_service(spoiled / "raw" / "metaads")
    assert [e["status"] for e in registry.retired().values()] == ["retired"]
    staged = pq.read_table(spoiled / "staging" / "metaads" / "ad_insights.parquet")
    sources = set(staged.column("_source_sha256").to_pylist())
    assert sources and raw.stem.split("__")[0] not in sources  # built from the other files only

    listing = run(["-m", "datalake.stages.quarantine"], spoiled)
    assert listing.returncode == 0
    assert f"metaads  retired  {why['landing_file']}" in listing.stdout
    assert f"raw file retired to archive/raw/metaads/ad_insights/{raw.name}.gz" in listing.stdout

    again = run([META / "metaads_raw2staging.py"], spoiled)
    assert again.returncode == 0, again.stderr
    assert "raw unchanged, nothing to do" in again.stderr

    # the parser of today converts the landing file again, and curated is whole again
    retry = run_runner(spoiled, *NO_EXTRACTORS, "--retry-quarantined")
    assert retry.returncode == 0, retry.stderr
    assert raw.read_bytes() == original
    assert _curated(spoiled) == _curated(clean)
    assert run_runner(spoiled, *NO_EXTRACTORS).returncode == 0


def test_the_run_report_lists_quarantined_and_retired_files():
    from datalake.run.report import render_html

    details = {
        "quarantined": [{"file": "landing/x/a.csv", "reason": "empty file (0 bytes)"}],
        "retired": [
            {
                "file": "raw/x/d/b.csv",
                "archived_to": "archive/raw/x/d/b.csv.gz",
                "reason": "d: <bad>",
            }
        ],
    }
    script = {"service": "x", "stage": "raw2staging", "script": "x_raw2staging.py"}
    record = {
        "run_id": "r",
        "exit_code": 5,
        "exit_meaning": "finished, new input quarantined",
        "started_at": "s",
        "finished_at": "f",
        "lake_root": "/lake",
        "login_needed": [],
        "warnings": [],
        "scripts": [{**script, "status": "ok", "exit_code": 5, "details": details}],
    }
    html = render_html(record)
    assert "<h2>Quarantined input</h2><ul><li>x: <code>landing/x/a.csv</code>: empty file" in html
    assert "<h2>Retired raw files</h2><ul><li>x: <code>raw/x/d/b.csv</code>: d: &lt;bad&gt;" in html


@pytest.mark.parametrize(("vanish", "code"), [(False, 1), (True, 0)])
def test_a_landing_file_that_cannot_be_read_is_skipped_and_read_later(
    lake_root, monkeypatch, vanish, code
):
    import datalake.stages.landing2raw as landing_module

    landing = lake_root / "landing" / "distrokid"
    landing.mkdir(parents=True)
    for name in ("a_locked_20261130T000000Z.txt", "b_good_20261130T000000Z.txt"):
        (landing / name).write_text(name, "utf-8")
    real_hash = landing_module.sha256_file

    def refusing(path: Path) -> str:
        if path.name.startswith("a_"):
            if vanish:
                path.unlink()
                raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(path))
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_hash(path)

    monkeypatch.setattr(landing_module, "sha256_file", refusing)
    ctx = make_ctx(lake_root, "distrokid", "landing2raw")
    assert ingest_landing(ctx, _failing(KeyError("never"))) == code
    assert [Path(o).parent.name for o in ctx.report.outputs] == ["things"]  # b was processed
    assert not ctx.report.quarantined
    seen = Registry.for_service(lake_root / "raw" / "distrokid").seen
    assert list(seen) == ["landing/distrokid/b_good_20261130T000000Z.txt"]  # a: read next time
    if not vanish:
        assert "cannot read 1 landing file(s)" in ctx.report.message
        assert "a_locked_20261130T000000Z.txt" in ctx.report.message
