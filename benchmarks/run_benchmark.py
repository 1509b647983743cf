"""Benchmark of the lake on a realistic, growing DistroKid history.

For each statement size (default 1M and 5M lines) it generates, deterministically, a 13-column
Latin-1 statement with bare-CR line ends (every quirk of FORMATS.md) plus a year of Spotify and
Apple stats pages, then measures as whole processes (median of --repeats runs):

- cold run: the no-extractor pipeline (landing -> curated) on a fresh lake;
- no-op rerun: the same again with nothing new;
- incremental run: after one new day of stats pages lands;
- peak memory (max RSS) of the largest process of the cold run;
- references on the same file: one pyarrow pass (CSV read, Parquet write) and dlt loading the
  statement to Parquet (Arrow batches to the filesystem destination; `pip install -r
  benchmarks/requirements.txt`).

It checks that curated `earnings` monthly sums equal the exact decimal sums of the generated
statement, prints a table and writes it as JSON (default `benchmarks/results/latest.json`).

Usage: python benchmarks/run_benchmark.py [--sizes 1000000,5000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNNER = REPO / "cronjob" / "run_datalake.py"
_MEASURE = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "took = time.perf_counter() - t\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(f'{took} {peak} {code}', file=sys.stderr)\n"
)
TARGETS = {
    "cold_vs_pyarrow": 2.5,
    "peak_gib": 1.2,
    "noop_s": 1.5,
    "incremental_vs_cold": 0.10,
    "scaling_5m_vs_1m": 5.5,
}
_REFERENCE_PYARROW = """
import sys
import pyarrow as pa, pyarrow.csv as pacsv, pyarrow.parquet as pq
src, out = sys.argv[1], sys.argv[2]
with open(src, "rb") as handle:
    names = handle.readline().split(b"\\r")[0].decode("latin-1").split("\\t")
table = pacsv.read_csv(src,
    read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, encoding="latin-1"),
    parse_options=pacsv.ParseOptions(delimiter="\\t", quote_char=False),
    convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}))
pq.write_table(table, out)
"""
_REFERENCE_DLT = """
import sys
import dlt
import pyarrow as pa, pyarrow.csv as pacsv
src, out = sys.argv[1], sys.argv[2]
with open(src, "rb") as handle:
    names = handle.readline().split(b"\\r")[0].decode("latin-1").split("\\t")

@dlt.resource(name="bank_details", write_disposition="replace")
def statement():
    with pacsv.open_csv(src,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, encoding="latin-1",
                                           block_size=16 << 20),
            parse_options=pacsv.ParseOptions(delimiter="\\t", quote_char=False),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names})) as reader:
        yield from reader

pipeline = dlt.pipeline(pipeline_name="bench", pipelines_dir=out + "/_dlt",
                        destination=dlt.destinations.filesystem(bucket_url="file://" + out),
                        dataset_name="distrokid")
pipeline.run(statement(), loader_file_format="parquet")
"""


def measure(command: list[str], env: dict[str, str] | None = None) -> dict:
    """Run a command as a child of a measuring process: wall seconds, peak RSS, exit code."""
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    took, peak_kib, code = result.stderr.strip().splitlines()[-1].split()
    return {"seconds": float(took), "peak_mib": int(peak_kib) / 1024, "exit": int(code)}


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATALAKE_")}
    env.update(DATALAKE_ROOT=str(root), DATALAKE_ENV_FILE=str(root / "none.env"))
    return env


def generate(data: Path, lines: int) -> dict:
    """The statement (and its exact monthly sums) for a size, generated once and cached."""
    from distrokid.samples import write_bank_details

    path = data / f"statement_{lines}.tsv"
    summary_path = path.with_suffix(".json")
    if not summary_path.exists():
        data.mkdir(parents=True, exist_ok=True)
        summary = write_bank_details(
            path,
            lines,
            layout=13,
            encoding="latin-1",
            line_end="\r",
            seed=7,
            last_reporting_date=date(2026, 11, 15),
            months=36,
        )
        summary_path.write_text(json.dumps(summary))
    return {"path": path, **json.loads(summary_path.read_text())}


def _stats_pages(landing: Path, day: date) -> None:
    from distrokid.samples import apple_stats_html, spotify_stats_html

    folder = landing / "distrokid" / "streams"
    folder.mkdir(parents=True, exist_ok=True)
    moment = datetime.combine(day + timedelta(days=2), datetime.min.time(), UTC)
    name = moment.strftime("%Y%m%dT%H%M%SZ")
    (folder / f"spotify_streams_{name}.html").write_text(spotify_stats_html(day), "utf-8")
    (folder / f"apple_music_{name}.html").write_text(apple_stats_html(day), "utf-8")


def fresh_lake(work: Path, statement: Path) -> Path:
    """A new lake whose landing holds the statement (hard-linked) and a year of stats pages."""
    root = work / "lake"
    shutil.rmtree(root, ignore_errors=True)
    target = root / "landing" / "distrokid" / "bank_details" / "bank_details_20261120T060000Z.tsv"
    target.parent.mkdir(parents=True)
    os.link(statement, target)
    _stats_pages(root / "landing", date(2026, 11, 18))
    return root


def check_money(root: Path, expected: dict[str, str]) -> bool:
    """Curated earnings per sale month equal the generator's exact decimal sums."""
    sums: dict[str, Decimal] = {}
    with open(root / "curated" / "earnings.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["source"] == "distrokid":
                month = row["sale_month"]
                sums[month] = sums.get(month, Decimal(0)) + Decimal(row["earnings_usd"])
    return sums == {m: Decimal(v) for m, v in expected.items()}


def bench_size(lines: int, repeats: int, work: Path, with_dlt: bool) -> dict:
    generated = generate(work / "data", lines)
    statement = generated["path"]
    runner = [sys.executable, str(RUNNER), "--skip-extractors", "--no-progress"]
    colds, noops, incrementals, peaks = [], [], [], []
    money_ok = True
    for _ in range(repeats):
        root = fresh_lake(work, statement)
        cold = measure(runner, _env(root))
        assert cold["exit"] == 0, f"cold run exited {cold['exit']}"
        colds.append(cold["seconds"])
        peaks.append(cold["peak_mib"])
        money_ok &= check_money(root, generated["earnings_by_sale_month"])
        noops.append(measure(runner, _env(root))["seconds"])
        _stats_pages(root / "landing", date(2026, 11, 19))
        incrementals.append(measure(runner, _env(root))["seconds"])
    out = work / "reference.parquet"
    pyarrow_runs = [
        measure([sys.executable, "-c", _REFERENCE_PYARROW, str(statement), str(out)])
        for _ in range(repeats)
    ]
    result = {
        "lines": lines,
        "statement_mib": round(statement.stat().st_size / 2**20, 1),
        "cold_s": statistics.median(colds),
        "noop_s": statistics.median(noops),
        "incremental_s": statistics.median(incrementals),
        "peak_mib": max(peaks),
        "pyarrow_s": statistics.median(r["seconds"] for r in pyarrow_runs),
        "money_exact": money_ok,
    }
    if with_dlt:
        dlt_out = work / "dlt"
        runs = []
        for _ in range(repeats):
            shutil.rmtree(dlt_out, ignore_errors=True)
            runs.append(
                measure([sys.executable, "-c", _REFERENCE_DLT, str(statement), str(dlt_out)])
            )
        result["dlt_s"] = statistics.median(r["seconds"] for r in runs)
        result["dlt_exit"] = max(r["exit"] for r in runs)
    return result


def _has_dlt() -> bool:
    return subprocess.run([sys.executable, "-c", "import dlt"], capture_output=True).returncode == 0


def verdicts(results: list[dict]) -> dict[str, bool]:
    """Each target of issue 3, checked on the largest size (and the scaling on both)."""
    big = results[-1]
    checks = {
        "cold <= 2.5x pyarrow": big["cold_s"] <= TARGETS["cold_vs_pyarrow"] * big["pyarrow_s"],
        "peak <= 1.2 GiB": big["peak_mib"] <= TARGETS["peak_gib"] * 1024,
        "no-op < 1.5 s (every size)": all(r["noop_s"] < TARGETS["noop_s"] for r in results),
        "incremental < 10% of cold": big["incremental_s"]
        < TARGETS["incremental_vs_cold"] * big["cold_s"],
        "money exact (every size)": all(r["money_exact"] for r in results),
    }
    if "dlt_s" in big:
        checks["cold faster than dlt"] = big["cold_s"] < big["dlt_s"]
    if len(results) > 1:
        checks["5M cold <= 5.5x 1M cold"] = (
            results[-1]["cold_s"] <= TARGETS["scaling_5m_vs_1m"] * results[0]["cold_s"]
        )
    return checks


def table(results: list[dict]) -> str:
    """The results as a Markdown table, with our figures as ratios to the references."""
    lines = [
        "| lines | MiB | cold s | x pyarrow | x dlt | no-op s | incr. s | incr/cold "
        "| peak MiB | pyarrow s | dlt s | money |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:--|",
    ]
    for r in results:
        dlt = r.get("dlt_s")
        vs_dlt = "" if dlt is None else f"{r['cold_s'] / dlt:.2f}"
        dlt_s = "" if dlt is None else f"{dlt:.2f}"
        money = "exact" if r["money_exact"] else "WRONG"
        lines.append(
            f"| {r['lines']:,} | {r['statement_mib']} | {r['cold_s']:.2f} | "
            f"{r['cold_s'] / r['pyarrow_s']:.2f} | {vs_dlt} | {r['noop_s']:.2f} | "
            f"{r['incremental_s']:.2f} | {r['incremental_s'] / r['cold_s']:.1%} | "
            f"{r['peak_mib']:.0f} | {r['pyarrow_s']:.2f} | {dlt_s} | {money} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000,5000000", help="statement lines, comma list")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument(
        "--work",
        type=Path,
        default=REPO / "benchmarks" / "data",
        help="where generated data and lakes go (git-ignored)",
    )
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "latest.json")
    parser.add_argument("--no-dlt", action="store_true", help="skip the dlt reference")
    args = parser.parse_args(argv)
    with_dlt = not args.no_dlt and _has_dlt()
    if not args.no_dlt and not with_dlt:
        print("dlt not installed: pip install -r benchmarks/requirements.txt (skipping it)")
    results = []
    for lines in (int(s) for s in args.sizes.split(",")):
        print(f"benchmarking {lines:,} lines ...", flush=True)
        results.append(bench_size(lines, args.repeats, args.work, with_dlt))
    checks = verdicts(results)
    print(table(results))
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "measured_at": datetime.now(UTC).isoformat(),
                "machine": {"cpus": os.cpu_count(), "python": sys.version},
                "results": results,
                "targets": checks,
            },
            indent=1,
        )
    )
    print(f"written {args.out}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
