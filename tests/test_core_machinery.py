"""Shared machinery: registry and dedup, atomic writes, archive and restore, lock, exit codes,
discovery, schemas."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from conftest import REPO, make_ctx, run_runner

from datalake.paths import Lake
from datalake.run.discovery import discover
from datalake.run.records import worst_exit
from datalake.stages import landing2raw as landing_module
from datalake.storage.archive import list_versions
from datalake.storage.atomic import atomic_path, atomic_write_text, sweep_stale_temps
from datalake.storage.locks import LakeLock
from datalake.storage.publish import publish
from datalake.storage.registry import Registry
from datalake.storage.restore import restore
from datalake.tables.schemas import SchemaError, TableSchema
from distrokid.cleaners.distrokid_landing2raw import FORMATS, login_required
from distrokid.samples import write_bank_details


def _ingest(root: Path, **flags) -> int:
    ctx = make_ctx(root, "distrokid", "landing2raw", **flags)
    return landing_module.ingest_landing(ctx, FORMATS, rejects=[login_required])


# --- registry and dedup ---------------------------------------------------------------------


def test_same_bytes_under_another_name_are_processed_once(lake_root):
    landing = lake_root / "landing" / "distrokid"
    write_bank_details(landing / "bank_details" / "statement_20261101T000000Z.csv", 20)
    (landing / "copy_dropped_by_hand.csv").write_bytes(
        (landing / "bank_details" / "statement_20261101T000000Z.csv").read_bytes()
    )
    assert _ingest(lake_root) == 0
    raw_files = list((lake_root / "raw" / "distrokid" / "bank_details").glob("*.csv"))
    assert len(raw_files) == 1
    registry = Registry.for_service(lake_root / "raw" / "distrokid")
    assert len(registry.files) == 1 and len(registry.seen) == 2
    entry = next(iter(registry.files.values()))
    assert entry["status"] == "processed" and entry["meta"]["rows"] == 20


def test_unchanged_landing_file_is_not_hashed_again(lake_root, monkeypatch):
    landing = lake_root / "landing" / "distrokid" / "bank_details"
    write_bank_details(landing / "statement_20261101T000000Z.csv", 10)
    assert _ingest(lake_root) == 0
    calls = []
    monkeypatch.setattr(landing_module, "sha256_file", lambda p: calls.append(p) or "x")
    assert _ingest(lake_root) == 0
    assert calls == []
    os.utime(landing / "statement_20261101T000000Z.csv")  # touched: must be hashed again
    monkeypatch.undo()
    assert _ingest(lake_root) == 0
    assert len(list((lake_root / "raw" / "distrokid" / "bank_details").glob("*.csv"))) == 1


def test_registry_is_valid_json_after_every_file(lake_root):
    landing = lake_root / "landing" / "distrokid" / "bank_details"
    for n in range(3):
        write_bank_details(landing / f"s{n}_20261101T00000{n}Z.csv", 5, seed=n + 1)
    _ingest(lake_root)
    data = json.loads((lake_root / "raw" / "distrokid" / "_hashes.json").read_text())
    assert {e["status"] for e in data["files"].values()} == {"processed"}
    assert len(data["files"]) == 3


# --- atomic writes --------------------------------------------------------------------------


def test_crash_mid_write_leaves_old_file_and_no_partial_file(tmp_path):
    target = tmp_path / "table.csv"
    atomic_write_text(target, "old contents\n")
    writer = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from datalake.storage.atomic import atomic_path
        with atomic_path(Path({str(target)!r})) as temp:
            with open(temp, "w") as handle:
                handle.write("new partial contents" * 1000)
                handle.flush()
                os.kill(os.getpid(), signal.SIGKILL)
    """)
    result = subprocess.run([sys.executable, "-c", writer], capture_output=True)
    assert result.returncode == -signal.SIGKILL
    assert target.read_text() == "old contents\n"
    visible = [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")]
    assert visible == ["table.csv"]
    leftovers = sweep_stale_temps(tmp_path)
    assert len(leftovers) == 1 and not any(tmp_path.glob(".*"))


def test_exception_inside_atomic_path_removes_temp_and_keeps_target(tmp_path):
    target = tmp_path / "x.txt"
    target.write_text("kept")
    with pytest.raises(RuntimeError), atomic_path(target) as temp:
        temp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "kept" and list(tmp_path.iterdir()) == [target]


# --- schemas --------------------------------------------------------------------------------


def _schema(tmp_path: Path) -> TableSchema:
    path = tmp_path / "t.json"
    path.write_text(
        json.dumps(
            {
                "title": "t",
                "type": "object",
                "x-lineage": False,
                "properties": {
                    "day": {"type": "string", "format": "date"},
                    "n": {"type": ["integer", "null"]},
                    "usd": {"type": "string", "format": "decimal"},
                },
                "required": ["day", "usd"],
            }
        )
    )
    return TableSchema.load(path)


def test_schema_checks_columns_and_names_problems(tmp_path):
    schema = _schema(tmp_path)
    good = pa.table({"day": ["2026-01-02"], "n": ["7"], "usd": ["-0.000000000001"]})
    assert schema.conform(good).to_pylist() == [
        {"day": datetime(2026, 1, 2).date(), "n": 7, "usd": "-0.000000000001"}
    ]
    bad = pa.table({"day": ["02/01/2026", "", "2026-02-30"], "usd": ["1e5", "2", "3"]})
    problems = schema.validate(bad)
    assert "day: 1 empty value(s) in a required column" in problems
    assert "day: 2 value(s) not date (e.g. '02/01/2026', '2026-02-30')" in problems
    assert any(p.startswith("usd: 1 value(s) not decimal") for p in problems)
    with pytest.raises(SchemaError, match="missing columns: day, usd"):
        schema.conform(pa.table({"n": ["1"]}))


# --- archive and restore --------------------------------------------------------------------


def test_archive_and_restore_round_trip(lake_root, tmp_path):
    lake = Lake(lake_root)
    schema = _schema(tmp_path)
    versions = {}
    for n, when in enumerate(["2026-01-01T00:00:00", "2026-02-01T00:00:00", "2026-03-01T00:00"]):
        table = pa.table({"day": [f"2026-01-0{n + 1}"], "n": [str(n)], "usd": ["1.5"]})
        assert publish(lake, schema, [table], run_id=f"r{n}").changed
        meta_path = lake.curated / "_manifest" / "t.json"
        meta = json.loads(meta_path.read_text())
        meta["published_at"] = datetime.fromisoformat(when).replace(tzinfo=UTC).isoformat()
        meta_path.write_text(json.dumps(meta))  # pretend it was published then
        versions[when] = (lake.curated / "t.csv").read_bytes()
    assert not publish(lake, schema, [table], run_id="r3").changed  # same content: no write
    archived = list_versions(lake, "t")
    assert [v.published_at.month for v in archived] == [1, 2]
    with gzip.open(archived[0].csv_gz) as handle:
        assert handle.read() == versions["2026-01-01T00:00:00"]
    moment = datetime(2026, 1, 15, tzinfo=UTC)
    restore(lake, "t", moment)
    assert (lake.curated / "t.csv").read_bytes() == versions["2026-01-01T00:00:00"]
    assert pa.parquet.read_table(lake.curated / "t.parquet").column("n").to_pylist() == [0]
    # the version that the restore replaced is itself archived: a restore can be undone
    assert len(list_versions(lake, "t")) == 3
    restore(lake, "t", datetime(2026, 3, 2, tzinfo=UTC) + timedelta(days=1))
    assert (lake.curated / "t.csv").read_bytes() == versions["2026-03-01T00:00"]


def test_partition_update_keeps_other_sources_and_orders_them(lake_root):
    from datalake.stages.staging2curated import table_schema

    lake = Lake(lake_root)
    schema = table_schema(REPO / "src" / "distrokid", "tidy_daily_streams")
    lineage = {c: ["r"] for c in ("_run_id", "_source_file", "_source_sha256")}
    lineage["_extracted_at"] = ["2026-11-30T06:00:00Z"]  # lineage times are UTC ISO text

    def rows(source, day, n):
        return pa.table(
            {
                "date": [day],
                "spotify_streams": [str(n)],
                "apple_streams": [""],
                "combined_streams": [""],
                "source": [source],
                **lineage,
            }
        )

    publish(lake, schema, [rows("toolost", "2026-01-01", 5)], "r", partition="toolost")
    publish(lake, schema, [rows("distrokid", "2026-01-02", 7)], "r", partition="distrokid")
    publish(lake, schema, [rows("toolost", "2026-01-03", 9)], "r", partition="toolost")
    table = pa.csv.read_csv(lake.curated / "tidy_daily_streams.csv").to_pylist()
    assert [(r["source"], r["spotify_streams"]) for r in table] == [
        ("distrokid", 7),
        ("toolost", 9),
    ]
    assert table[0]["apple_streams"] is None


# --- the lake lock --------------------------------------------------------------------------


def test_second_runner_exits_75_naming_the_holder(lake_root):
    lock = LakeLock(Lake(lake_root))
    lock.acquire("holder-run")
    try:
        result = run_runner(lake_root, "--skip-extractors", "--service", "distrokid")
    finally:
        lock.release()
    assert result.returncode == 75
    assert "holder-run" in result.stderr and f"pid {os.getpid()}" in result.stderr


def test_lock_of_a_killed_run_does_not_block(lake_root):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
        import time
        from pathlib import Path
        from datalake.storage.locks import LakeLock
        from datalake.paths import Lake
        lock = LakeLock(Lake(Path({str(lake_root)!r})))
        lock.acquire("killed-run")
        print("locked", flush=True)
        time.sleep(60)
    """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    assert run_runner(lake_root, "--skip-extractors", "--service", "distrokid").returncode == 75
    holder.kill()
    holder.wait()
    assert run_runner(lake_root, "--skip-extractors", "--service", "distrokid").returncode == 0


# --- exit codes and discovery ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ([0, 0], 0),
        ([0, 5], 5),
        ([5, 3], 3),
        ([3, 1], 1),
        ([2, 5], 1),
        ([0, 124], 1),
        ([], 0),
        ([0, 5, 3, 0], 3),
    ],
)
def test_worst_exit(codes, expected):
    assert worst_exit(codes) == expected


def _fake_service(src: Path, name: str, codes: dict[str, int]) -> None:
    for stage, code in codes.items():
        folder = src / name / ("extractors" if stage == "extract" else "cleaners")
        folder.mkdir(parents=True, exist_ok=True)
        script = folder / (f"{name}_extractor.py" if stage == "extract" else f"{name}_{stage}.py")
        script.write_text(
            f'"""Fake {stage}."""\nimport sys\n\n\ndef main():\n'
            f'    sys.exit({code})\n\n\nif __name__ == "__main__":\n    main()\n'
        )


def test_discovery_picks_up_a_new_folder_and_warns_about_strays(tmp_path):
    src = tmp_path / "src"
    _fake_service(src, "newsvc", {"extract": 0, "landing2raw": 0, "staging2curated": 0})
    (src / "newsvc" / "cleaners" / "newsvc_cleanup_v2.py").write_text("")
    (src / "newsvc" / "cleaners" / "_helpers.py").write_text("")
    scripts, warnings = discover(src)
    assert [(s.service, s.stage) for s in scripts] == [
        ("newsvc", "extract"),
        ("newsvc", "landing2raw"),
        ("newsvc", "staging2curated"),
    ]
    assert len(warnings) == 1 and "newsvc_cleanup_v2.py" in warnings[0]


def test_runner_aggregates_exit_codes_and_skips_after_a_failed_cleaner(lake_root, tmp_path):
    src = tmp_path / "src"
    _fake_service(
        src, "alpha", {"extract": 1, "landing2raw": 0, "raw2staging": 1, "staging2curated": 0}
    )
    _fake_service(src, "beta", {"extract": 4, "landing2raw": 5, "raw2staging": 0})
    _fake_service(src, "gamma", {"extract": 3})
    for service in ("alpha", "beta"):  # something new in landing, so landing2raw has work
        (lake_root / "landing" / service).mkdir(parents=True)
        (lake_root / "landing" / service / "new.csv").write_text("a\n1\n")
        (lake_root / "raw" / service).mkdir(parents=True)  # and raw2staging has input
        (lake_root / "raw" / service / "old.csv").write_text("a\n1\n")
    result = run_runner(lake_root, DATALAKE_CODE_ROOT=str(src))
    assert result.returncode == 1, result.stderr
    record = json.loads((lake_root / "_runs" / "latest.json").read_text())
    status = {(s["service"], s["stage"]): (s["status"], s["exit_code"]) for s in record["scripts"]}
    assert status[("alpha", "extract")] == ("failed", 1)
    assert status[("alpha", "landing2raw")] == ("ok", 0)  # extractor failure: cleaners still run
    assert status[("alpha", "staging2curated")][0].startswith("skipped")
    assert status[("beta", "extract")] == ("not configured (skipped)", 4)
    assert status[("beta", "raw2staging")] == ("ok", 0)
    assert record["login_needed"] == [
        {"service": "gamma", "command": "python src/gamma/extractors/gamma_extractor.py --login"}
    ]
    html = (lake_root / "_runs" / "latest.html").read_text()
    assert "gamma_extractor.py --login" in html
    # without the failing service the worst code is the auth one, then the quarantine one
    assert (
        run_runner(
            lake_root, "--service", "beta", "--service", "gamma", DATALAKE_CODE_ROOT=str(src)
        ).returncode
        == 3
    )
    assert run_runner(lake_root, "--service", "beta", DATALAKE_CODE_ROOT=str(src)).returncode == 5
    assert run_runner(lake_root, "--service", "nope", DATALAKE_CODE_ROOT=str(src)).returncode == 2


def test_runner_retries_a_failing_extractor_then_times_out_a_hung_one(lake_root, tmp_path):
    src = tmp_path / "src"
    folder = src / "flaky" / "extractors"
    folder.mkdir(parents=True)
    counter = tmp_path / "attempts"
    (folder / "flaky_extractor.py").write_text(
        textwrap.dedent(f"""
        '''Fails twice, then works.'''
        import sys
        from pathlib import Path
        def main():
            path = Path({str(counter)!r})
            n = int(path.read_text()) if path.exists() else 0
            path.write_text(str(n + 1))
            sys.exit(1 if n < 2 else 0)
        if __name__ == "__main__":
            main()
    """)
    )
    (folder / "hung_extractor.py").write_text(
        "'''Hangs.'''\nimport time\n\nif __name__ == '__main__':\n    time.sleep(60)\n"
    )
    started = time.monotonic()
    result = run_runner(
        lake_root,
        DATALAKE_CODE_ROOT=str(src),
        DATALAKE_EXTRACTOR_RETRIES="2",
        DATALAKE_RETRY_BACKOFF_SECONDS="0.1",
        DATALAKE_EXTRACTOR_TIMEOUT="2",
    )
    assert time.monotonic() - started < 20
    record = json.loads((lake_root / "_runs" / "latest.json").read_text())
    by_script = {s["script"]: s for s in record["scripts"]}
    assert by_script["flaky_extractor.py"]["attempts"] == 3
    assert by_script["flaky_extractor.py"]["exit_code"] == 0
    assert by_script["hung_extractor.py"]["status"] == "timed out"
    assert result.returncode == 1


def test_dry_run_prints_the_plan_and_runs_nothing(lake_root):
    result = run_runner(lake_root, "--dry-run", "--skip-extractors", "--service", "distrokid")
    assert result.returncode == 0
    stages = [line.split()[0] for line in result.stdout.splitlines()]
    assert stages == ["landing2raw", "raw2staging", "staging2curated"]
    assert not (lake_root / "_runs").exists() or not any((lake_root / "_runs").glob("2*"))


def test_cron_wrapper_works_from_any_directory_and_passes_arguments(lake_root, tmp_path):
    from conftest import clean_env

    wrapper = REPO / "cronjob" / "run_datalake_cron_no_extractors.sh"
    env = clean_env(lake_root, DATALAKE_PYTHON=sys.executable)
    result = subprocess.run(
        ["bash", str(wrapper), "--service", "distrokid", "--dry-run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert [line.split()[:2] for line in result.stdout.splitlines()] == [
        ["landing2raw", "distrokid"],
        ["raw2staging", "distrokid"],
        ["staging2curated", "distrokid"],
    ]
    locked = LakeLock(Lake(lake_root))
    locked.acquire("wrapper-test")
    try:
        full = subprocess.run(
            ["bash", str(REPO / "cronjob" / "run_datalake_cron.sh"), "--service", "distrokid"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        locked.release()
    assert full.returncode == 75  # the runner's exit code comes through the wrapper


def test_secrets_with_quotes_and_accents_are_redacted_from_reports(lake_root):
    from datalake.logs import register_secret
    from datalake.run.records import ScriptReport

    secret = 'pässwörd"\\1'
    register_secret(secret)
    report = ScriptReport(
        "svc", "extract", "svc_extractor.py", "run-1", message=f"login failed for password {secret}"
    )
    report.write(Lake(lake_root))
    text = report.path(Lake(lake_root)).read_text()
    assert "***" in text
    for form in (secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]):
        assert form not in text


def _earnings_line(source: str, artist: str | None, line_id: str) -> pa.Table:
    """One line of the curated `earnings` table, lineage included."""
    lineage = {c: ["r"] for c in ("_run_id", "_source_file", "_source_sha256")}
    lineage["_extracted_at"] = ["2026-11-30T06:00:00Z"]  # lineage times are UTC ISO text
    return pa.table(
        {
            "source": [source],
            "reporting_date": ["2026-01-02"],
            "sale_month": ["2025-12"],
            "store": ["S"],
            "artist": pa.array([artist], pa.string()),
            "title": ["T"],
            "isrc": [""],
            "upc": ["0012"],
            "country": ["NA"],
            "quantity": ["1"],
            "earnings_usd": ["-0.10"],
            "line_id": [line_id],
            **lineage,
        }
    )


def test_rewriting_one_partition_keeps_the_other_sources_bytes(lake_root):
    from datalake.stages.staging2curated import table_schema

    lake = Lake(lake_root)
    schema = table_schema(REPO / "src" / "distrokid", "earnings")
    line = _earnings_line

    publish(lake, schema, [line("toolost", None, "t1")], "r", partition="toolost")
    first = (lake.curated / "earnings.csv").read_bytes()
    publish(lake, schema, [line("distrokid", "A", "d1")], "r", partition="distrokid")
    rows = (lake.curated / "earnings.csv").read_bytes().splitlines()
    assert rows[2] == first.splitlines()[1]  # the toolost line, byte for byte
    assert rows[2].startswith(b'"toolost",2026-01-02,"2025-12","S",,"T","","0012","NA",1,"-0.10"')


def test_landing_refuses_bytes_holding_a_registered_secret(lake_root):
    from datalake.extract.common import ExtractError, read_state, save_landing, write_state
    from datalake.logs import register_secret

    register_secret("EAAB-landing-guard-token")
    lake = Lake(lake_root)
    with pytest.raises(ExtractError, match="contains a secret"):
        save_landing(
            lake,
            "svc",
            "pages",
            "p.json",
            b'{"next": "https://x/?access_token=EAAB-landing-guard-token"}',
        )
    assert not (lake_root / "landing" / "svc").exists() or not any(
        (lake_root / "landing" / "svc").rglob("*.json")
    )
    saved = save_landing(lake, "svc", "pages", "p.json", b"{}")
    again = save_landing(lake, "svc", "pages", "p.json", b"{}")
    assert saved != again and saved.read_bytes() == again.read_bytes()  # never overwritten
    assert read_state(lake, "svc", "act_1") is None
    write_state(lake, "svc", "act_1", {"last_complete_day": "2026-11-24"})
    assert read_state(lake, "svc", "act_1") == {"last_complete_day": "2026-11-24"}
    assert (lake_root / "landing" / "svc" / "_state_act_1.json").exists()


def test_a_cleaner_process_does_not_pay_for_pandas_yet_can_still_import_it():
    """pyarrow would import pandas (0.4 s) on its first conversion; the stage driver tells it
    once that pandas is not used, without making pandas unimportable."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from datalake.stages.driver import _pyarrow_without_pandas\n"
        "_pyarrow_without_pandas()\n"
        "import pyarrow as pa\n"
        "t = pa.table({'a': [1, 2], 'b': ['x', None]})\n"
        "print('pandas' in sys.modules)\n"
        "import pandas\n"
        "print(t.to_pandas().shape)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["False", "(2, 2)"]


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        (b'"a","b"\n"1","x ""y"" z"\n', False),  # quotes inside a value are doubled
        (b'"a","b"\n"1","x ""y', True),  # cut inside the last quoted value
        (b'\xef\xbb\xbf"a","b"\n"1","cut sho', True),  # a BOM does not hide it
        (b'a,b\n1,12" vinyl\n', False),  # an export that does not quote its fields
    ],
)
def test_a_quoted_export_cut_inside_its_last_value_is_refused(tmp_path, text, refused):
    from datalake.tables.io import check_quotes_closed
    from datalake.tables.schemas import SchemaError

    path = tmp_path / "export.csv"
    path.write_bytes(text)
    if refused:
        with pytest.raises(SchemaError, match="ends inside a quoted value"):
            check_quotes_closed(path)
    else:
        check_quotes_closed(path)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux (/dev/full, RLIMIT_FSIZE)")
@pytest.mark.parametrize(
    ("writer", "full"),
    [
        ("write_table", "csv at once"),
        ("write_table", "parquet at once"),
        ("write_table", "csv midway"),
        ("write_table", "parquet midway"),
        ("write_parquet", "parquet at once"),
        ("write_parquet", "parquet midway"),
    ],
)
def test_a_full_disk_is_one_error_and_nothing_on_the_terminal(tmp_path, writer, full):
    """A write refused by the kernel, at once (/dev/full: ENOSPC) or midway (a file size limit:
    EFBIG, for every file from then on, as a full disk is), is raised once and unchained: what
    the writer opened is closed quietly, and pyarrow's finaliser has nothing left to print."""
    _schema(tmp_path)
    csv_path = "/dev/full" if full == "csv at once" else str(tmp_path / "t.csv")
    parquet_path = "/dev/full" if full == "parquet at once" else str(tmp_path / "t.parquet")
    arguments = (
        f"Path({parquet_path!r})"
        if writer == "write_parquet"
        else f"Path({csv_path!r}), Path({parquet_path!r})"
    )
    code = textwrap.dedent(
        f"""
        import builtins, gc, resource, signal
        from pathlib import Path
        import pyarrow as pa
        import datalake.tables.io as io_module
        from datalake.tables.schemas import TableSchema

        def fill_the_disk():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (1, resource.RLIM_INFINITY))

        class FillsAfterTheHeader:  # the CSV handle: the disk fills as its first rows go out
            def __init__(self, handle):
                self.handle, self.writes = handle, 0
            def write(self, data):
                self.writes += 1
                if self.writes == 2:
                    fill_the_disk()
                return self.handle.write(data)
            def close(self):
                self.handle.close()
            def __enter__(self):
                return self
            def __exit__(self, *exc):
                self.close()

        schema = TableSchema.load(Path({str(tmp_path / "t.json")!r}))
        rows = {{"day": ["2026-01-02"] * 50_000, "n": list(range(50_000)), "usd": ["1.5"] * 50_000}}
        batches = [pa.record_batch(rows)] * 8
        if {full!r} == "csv midway":
            io_module.open = lambda *a, **k: FillsAfterTheHeader(builtins.open(*a, **k))
        if {full!r} == "parquet midway":
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, resource.RLIM_INFINITY))
        try:
            io_module.{writer}(batches, schema, {arguments})
        except OSError as error:
            print("raised", error.errno, "chained" if error.__context__ else "alone")
        gc.collect()  # a writer left open would try to finish its file now, and print
        resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY,) * 2)  # coverage
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    errno = 27 if "midway" in full else 28
    assert result.stdout.strip() == f"raised {errno} alone", result.stderr
    assert result.stderr == ""


def test_a_file_named_with_a_newline_cannot_split_or_forge_a_log_line(tmp_path):
    """Each event is one line of the log: line breaks and control characters in a message's
    arguments are escaped; a traceback still follows its line."""
    code = textwrap.dedent(
        f"""
        import logging
        from pathlib import Path
        from datalake.logs import setup_logging
        setup_logging(log_file=Path({str(tmp_path / "run.log")!r}))
        name = Path("landing/svc/x\\n2026-01-01T00:00:00Z INFO    forged: all good.csv")
        logging.getLogger("svc").warning("quarantined %s: %s", name, "bad\\r\\x1b[2Jbytes")
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("svc").exception("failed on %s", name)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "run.log").read_text("utf-8").splitlines()
    assert lines[0].endswith(
        r"WARNING svc: quarantined landing/svc/x\n2026-01-01T00:00:00Z INFO    forged: "
        r"all good.csv: bad\r\x1b[2Jbytes"
    )
    assert lines[1].endswith(
        r"ERROR   svc: failed on landing/svc/x\n2026-01-01T00:00:00Z INFO    forged: all good.csv"
    )
    assert lines[2] == "Traceback (most recent call last):" and lines[-1] == "ValueError: boom"
    assert not any(line.startswith("2026-01-01") for line in lines)


def test_a_parquet_left_newer_than_its_csv_by_a_kill_is_replaced_when_the_table_holds(lake_root):
    """A kill between a commit's Parquet and CSV renames leaves the new Parquet next to the old
    CSV; when the next build gives the old CSV's content again (nothing to publish), the Parquet
    is rebuilt from it, byte for byte what a clean publish writes, and no version is archived."""
    import pyarrow.parquet as pq

    from datalake.stages.staging2curated import table_schema

    lake = Lake(lake_root)
    schema = table_schema(REPO / "src" / "distrokid", "earnings")
    old, new = _earnings_line("distrokid", "A", "d1"), _earnings_line("distrokid", "B", "d2")
    publish(lake, schema, [new], "r1")
    newer_parquet = (lake.curated / "earnings.parquet").read_bytes()
    (lake.curated / "earnings.parquet").unlink()
    (lake.curated / "earnings.csv").unlink()
    publish(lake, schema, [old], "r2")
    clean = {p.name: p.read_bytes() for p in lake.curated.glob("earnings.*")}
    (lake.curated / "earnings.parquet").write_bytes(newer_parquet)  # killed after one rename
    versions = list_versions(lake, "earnings")
    result = publish(lake, schema, [old], "r3")
    assert not result.changed
    assert {p.name: p.read_bytes() for p in lake.curated.glob("earnings.*")} == clean
    assert pq.read_table(lake.curated / "earnings.parquet").column("artist").to_pylist() == ["A"]
    assert list_versions(lake, "earnings") == versions
    assert not list(lake.curated.glob(".*tmp*"))


@pytest.mark.parametrize(
    ("text", "as_document", "in_page"),
    [
        (
            '{"a": "abc',
            "the document ends inside a string (opened at line 1, column 7)",
            "the page ends inside a string (opened at line 1, column 31)",
        ),
        (
            '{"a": 1,',
            "the document ends early (line 1, column 9)",
            "the page ends early (line 1, column 33)",
        ),
        (
            '{"a" 1}',
            "Expecting ':' delimiter (line 1, column 6)",
            "Expecting ':' delimiter (line 1, column 30)",
        ),
    ],
)
def test_json_that_does_not_parse_is_refused_saying_where(text, as_document, in_page):
    """As a document, and embedded in a page after 24 characters of script."""
    from datalake.problems import Rejected
    from datalake.tables.records import load_embedded_json, load_json

    with pytest.raises(Rejected) as refused:
        load_json(text)
    assert str(refused.value) == f"not valid JSON (cut short or damaged?): {as_document}"
    script = f"<script>var chartData = {text}"
    with pytest.raises(Rejected) as refused:
        load_embedded_json(script, script.index("{"), "the page's chartData")
    what = "the page's chartData is not valid JSON (cut short or damaged?)"
    assert str(refused.value) == f"{what}: {in_page}"
