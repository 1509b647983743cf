"""Helpers of the reliability suite (issue 19): runners' progress and process trees read from
/proc and their run logs, kills, and lake comparisons.

Nothing here lists stages or services: `datalake.run.discovery` says which script is which
stage. A runner's *phase* comes from its `run.log` (`Progress`): `startup`, then the stage of
the first planned script whose outcome is not logged yet, then `finish` (SQL views, checks,
reports). Its scripts are its child processes (`running_scripts`), each named by its command
line; one started early (`--wait-for-start`) is waiting while the runner holds its stdin.
`kill_tree` freezes a runner's whole tree with SIGSTOP, notes what ran, and SIGKILLs it.

A lake is compared with a clean run's through `zone_view()`: every file of a zone, with what is
specific to a run masked (run ids wherever they appear, publication and file times in the
manifests and registries, the lake's own path), Parquet files as pyarrow tables (types and
values), so two views are equal exactly when the lakes hold the same data.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from conftest import REPO, RUNNER, clean_env

from datalake.run.discovery import STAGES, discover

RUN_ID = re.compile(rb"\d{8}T\d{6}Z-[0-9a-f]{6}")
RUN_ID_TEXT = re.compile(RUN_ID.pattern.decode())
ZONES = ("landing", "raw", "staging", "curated", "archive")
LINEAGE = ("_run_id", "_source_file", "_source_sha256", "_extracted_at")
# "note": a manifest rewritten after a kill says so (datalake.storage.curated.repair_manifest)
VOLATILE_KEYS = {"ingested_at", "published_at", "mtime_ns", "run_id", "note"}
TEMP_ENDINGS = (".tmp", ".part", ".partial", ".crdownload", "~")
CLEANER_STAGES = tuple(s for s in STAGES if s != "extract")
STARTUP, FINISH = "startup", "finish"


# --- processes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    state: str
    start: int  # clock ticks after boot: tells a reused pid from the original


def processes() -> dict[int, Proc]:
    """Every process of the machine (its parent, state and start time)."""
    table = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        pid = int(stat.parent.name)
        table[pid] = Proc(pid, int(fields[1]), fields[0], int(fields[19]))
    return table


def descendants(pid: int, table: dict[int, Proc] | None = None) -> list[int]:
    table = processes() if table is None else table
    children: dict[int, list[int]] = {}
    for proc in table.values():
        children.setdefault(proc.ppid, []).append(proc.pid)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def live(proc: Proc | None) -> bool:
    return proc is not None and proc.state not in ("Z", "X")


def gone(pid: int, start: int) -> bool:
    """Whether a process has exited for good: no such process (or a new one with its pid), or
    a zombie whose threads have all exited too (a killed process's main thread can turn zombie
    while another one is still finishing, say, an fsync, its files and locks still open)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return True
    if int(fields[19]) != start:
        return True
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        try:
            if stat.read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X"):
                return False
        except (OSError, IndexError):
            continue
    return True


_SCRIPTS: dict[str, tuple[str, str]] | None = None


def scripts() -> dict[str, tuple[str, str]]:
    """Every discovered script's path -> (service, stage)."""
    global _SCRIPTS
    if _SCRIPTS is None:
        _SCRIPTS = {str(s.path): (s.service, s.stage) for s in discover()[0]}
    return _SCRIPTS


@dataclass(frozen=True)
class Running:
    pid: int
    service: str
    stage: str
    waiting: bool  # started early, not told to go yet (the runner holds its stdin open)


def _fd_targets(pid: int, only: str | None = None) -> set[str]:
    folder = Path(f"/proc/{pid}/fd")
    targets = set()
    try:
        entries = [folder / only] if only else list(folder.iterdir())
    except OSError:
        return targets
    for entry in entries:
        try:
            targets.add(os.readlink(entry))
        except OSError:
            continue
    return targets


def running_scripts(root_pid: int, table: dict[int, Proc] | None = None) -> list[Running]:
    """The live scripts under a process (a runner). A script the runner started early (with
    `--wait-for-start`) waits while the runner still holds the other end of its stdin pipe."""
    table = processes() if table is None else table
    found, runner_fds = [], None
    for pid in descendants(root_pid, table):
        if not live(table.get(pid)):
            continue
        args = cmdline(pid)
        script = next((scripts()[a] for a in args[1:3] if a in scripts()), None)
        if script is None:
            continue
        waiting = False
        if "--wait-for-start" in args:
            runner_fds = _fd_targets(root_pid) if runner_fds is None else runner_fds
            waiting = bool(_fd_targets(pid, "0") & runner_fds)
        found.append(Running(pid, *script, waiting))
    return found


class Progress:
    """Which phase a runner is in, from its `run.log`: it logs `[k/N] <service> <stage>: ...`
    as each planned script's outcome comes in, in plan order (stage by stage), so the phase is
    the stage of the first planned script not yet logged; `startup` until its first script
    starts, `finish` once every script is logged (the SQL views, checks and reports)."""

    LINE = re.compile(r": \[(\d+)/(\d+)\] \S+ (\S+): ")

    def __init__(self, root: Path, plan: list[str]) -> None:
        self.runs, self.plan = root / "_runs", plan  # plan: each planned script's stage
        self.before = set(self.runs.glob("*/")) if self.runs.exists() else set()
        self.log: Path | None = None

    def done(self) -> int:
        if self.log is None:
            new = [p for p in self.runs.glob("*/run.log") if p.parent not in self.before]
            if not new:
                return 0
            (self.log,) = new
        counts = [int(m[1]) for m in self.LINE.finditer(self.log.read_text("utf-8", "replace"))]
        return max(counts, default=0)

    def phase(self, seen_script: bool) -> str:
        done = self.done()
        if self.log is None or (done == 0 and not seen_script):
            return STARTUP
        if done >= len(self.plan):
            return FINISH
        return self.plan[done]


def planned_stages(*flags: str) -> list[str]:
    """The stage of each script a runner started with `flags` plans, in its order (only
    `--skip-extractors` and `--service` are understood)."""
    services = [flags[i + 1] for i, f in enumerate(flags) if f == "--service"]
    return [
        s.stage
        for s in discover()[0]
        if not ("--skip-extractors" in flags and s.is_extractor)
        and (not services or s.service in services)
    ]


def phase_rank(phase: str) -> int:
    if phase == STARTUP:
        return -1
    if phase == FINISH:
        return len(STAGES)
    return STAGES.index(phase)


def waiting_on_stdin(pid: int) -> bool:
    """Whether a process is blocked reading its stdin (a script started with --wait-for-start
    that has done its imports)."""
    try:
        call = Path(f"/proc/{pid}/syscall").read_text().split()
        wchan = Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return False
    reading_stdin = len(call) > 1 and call[0] == "0" and call[1] == "0x0"  # read(0, ...) x86_64
    return reading_stdin or "pipe" in wchan


def flock_holders(path: Path) -> set[int]:
    """Pids holding an flock on `path` (from /proc/locks)."""
    try:
        inode = os.stat(path).st_ino
    except FileNotFoundError:
        return set()
    holders = set()
    for line in Path("/proc/locks").read_text().splitlines():
        parts = line.split()
        if "->" in parts or len(parts) < 6:
            continue  # a blocked waiter, not a holder
        if parts[1] == "FLOCK" and int(parts[5].rsplit(":", 1)[1]) == inode:
            holders.add(int(parts[4]))
    return holders


def processes_of_lake(root: Path) -> list[tuple[int, list[str]]]:
    """Live processes whose environment points at this lake (DATALAKE_ROOT=root)."""
    marker = f"DATALAKE_ROOT={root}".encode()
    found = []
    table = processes()
    for pid, proc in table.items():
        if pid == os.getpid() or not live(proc):
            continue
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0"):
            found.append((pid, cmdline(pid)))
    return found


@dataclass
class Kill:
    """One SIGKILL of a runner's whole process tree."""

    phase: str
    running: list[Running]
    pids: dict[int, int]  # pid -> start time, every process of the tree
    at: float  # seconds after the runner started
    survivors: list[int] = field(default_factory=list)


def kill_tree(process: subprocess.Popen, started: float, progress: Progress | None = None) -> Kill:
    """Freeze the runner and everything under it (SIGSTOP, until no new process appears), note
    what it was doing, SIGKILL every process of the tree, and wait until each is gone."""
    frozen: dict[int, int] = {}
    table = processes()
    if live(table.get(process.pid)):
        os.kill(process.pid, signal.SIGSTOP)
        frozen[process.pid] = table[process.pid].start
    while True:
        table = processes()
        new = [p for p in descendants(process.pid, table) if p not in frozen]
        if not new:
            break
        for pid in new:
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                continue
            frozen[pid] = table[pid].start
    running = running_scripts(process.pid, table)
    at = time.monotonic() - started
    phase = progress.phase(True) if progress else ""  # the runner is frozen: its log is final
    if progress and not running and progress.done() == 0:
        phase = STARTUP  # no script started yet
    for pid in frozen:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait(timeout=30)
    deadline = time.monotonic() + 30
    while True:
        alive = [pid for pid, start in frozen.items() if not gone(pid, start)]
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    return Kill(phase, running, frozen, at, alive)


# --- running the runner ---------------------------------------------------------------------


def start_runner(root: Path, *flags: str, log: Path | None = None, **extra: str):
    """The runner as a process against the lake at `root` (its output to `log`)."""
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    try:
        return subprocess.Popen(
            [sys.executable, str(RUNNER), "--no-progress", *flags],
            env=clean_env(root, **extra),
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    finally:
        if log:
            out.close()


@dataclass
class Timeline:
    """When each phase of a runner was seen (seconds after its start), and the exit code."""

    first: dict[str, float] = field(default_factory=dict)
    last: dict[str, float] = field(default_factory=dict)
    total: float = 0.0
    code: int | None = None

    def see(self, phase: str, at: float) -> None:
        self.first.setdefault(phase, at)
        self.last[phase] = at

    def duration(self, phase: str) -> float:
        if phase == FINISH and FINISH in self.first:
            return max(0.05, self.total - self.first[FINISH])
        return max(0.05, self.last.get(phase, 0.0) - self.first.get(phase, 0.0))


def watch(process: subprocess.Popen, progress: Progress, poll: float = 0.01) -> Timeline:
    """Follow a runner to its end, noting when each phase was seen."""
    timeline = Timeline()
    started, seen = time.monotonic(), False
    while process.poll() is None:
        seen = seen or bool(running_scripts(process.pid))
        timeline.see(progress.phase(seen), time.monotonic() - started)
        time.sleep(poll)
    timeline.total, timeline.code = time.monotonic() - started, process.returncode
    return timeline


# --- lake contents --------------------------------------------------------------------------


def mask(data: bytes) -> bytes:
    return RUN_ID.sub(b"<run id>", data)


def _masked_json(value, root: str):
    if isinstance(value, dict):
        return {k: _masked_json(v, root) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [_masked_json(v, root) for v in value]
    if isinstance(value, str):
        return RUN_ID_TEXT.sub("<run id>", value.replace(root, "<root>"))
    return value


def masked_table(path: Path):
    """A Parquet file as a pyarrow table, run ids masked in every text column."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    def text(kind) -> bool:
        return pa.types.is_string(kind) or pa.types.is_large_string(kind)

    table = pq.read_table(path)
    for index, column in enumerate(table.columns):
        kind = column.type
        plain = kind.value_type if pa.types.is_dictionary(kind) else kind
        if text(plain):
            values = pc.cast(column, plain) if plain is not kind else column
            masked = pc.replace_substring_regex(values, RUN_ID_TEXT.pattern, "<run id>")
            table = table.set_column(index, table.field(index), pc.cast(masked, kind))
    return table


def _duckdb_view(path: Path, root: Path):
    import duckdb

    with duckdb.connect(str(path), read_only=True) as db:
        views = sorted(r[0] for r in db.execute("SELECT view_name FROM duckdb_views()").fetchall())
        (definition,) = db.execute("SELECT definition FROM _lake_views").fetchone()
    return {"views": views, "definition": _masked_json(json.loads(definition), str(root))}


def file_view(path: Path, root: Path):
    """What a zone file holds, run-specific values masked."""
    name = path.name
    if name.endswith(".parquet"):
        return masked_table(path)
    if name.endswith(".duckdb"):
        return _duckdb_view(path, root)
    if name.endswith(".json"):
        value = _masked_json(json.loads(path.read_bytes()), str(root))
        if name.startswith("_state_") and isinstance(value, dict):
            # change detection's own memory: what it saw depends on the runs before (a stage
            # that reads all of curated sees its own earlier outputs), not only on the data
            return {"state of": sorted(value)}
        return value
    if name.endswith(".gz"):
        return mask(gzip.decompress(path.read_bytes()))
    return mask(path.read_bytes())


def zone_view(root: Path, zone: str) -> dict[str, object]:
    """Every (not hidden) file of a zone, by path, as `file_view` gives it."""
    folder = root / zone
    return {
        path.relative_to(folder).as_posix(): file_view(path, root)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    }


def differences(got: dict, expected: dict) -> list[str]:
    """What differs between two zone views (file names, then contents)."""
    lines = [f"missing: {k}" for k in sorted(expected.keys() - got.keys())]
    lines += [f"extra: {k}" for k in sorted(got.keys() - expected.keys())]
    for key in sorted(got.keys() & expected.keys()):
        if type(got[key]) is not type(expected[key]) or not got[key] == expected[key]:
            lines.append(f"differs: {key}")
    return lines


def leftovers(root: Path, zones: Iterable[str] = ZONES) -> list[str]:
    """Hidden, temp or partial files in the zones (lock files aside)."""
    found = []
    for zone in zones:
        for path in (root / zone).rglob("*"):
            if not path.is_file() or path.name.endswith(".lock"):
                continue
            if path.name.startswith(".") or path.name.endswith(TEMP_ENDINGS):
                found.append(path.relative_to(root).as_posix())
    return sorted(found)


def held_locks(root: Path) -> list[str]:
    """Lock files under the lake that some process holds (each is tried at once), with the
    holder's pid and command line."""
    from filelock import FileLock, Timeout

    held = []
    for path in sorted(root.rglob("*.lock")):
        lock = FileLock(str(path), timeout=0)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            holders = {pid: " ".join(cmdline(pid))[:200] for pid in flock_holders(path)}
            held.append(f"{path.relative_to(root).as_posix()} held by {holders}")
        else:
            lock.release()
    return held


def table_keys() -> dict[str, list[str]]:
    """Each curated table's key columns, from the schemas (`x-key`) of every service."""
    keys: dict[str, list[str]] = {}
    for path in sorted(REPO.glob("src/*/schemas/*.json")):
        try:
            schema = json.loads(path.read_text("utf-8"))
        except ValueError:
            continue
        if schema.get("x-key") and schema.get("title"):
            keys.setdefault(schema["title"], list(schema["x-key"]))
    return keys


def duplicate_keys(root: Path) -> dict[str, int]:
    """Curated tables whose Parquet has rows repeating their key, with how many rows too many.
    A table without a key (`dk_bank_details`: a statement's own lines, which may repeat) is
    left to the comparison with a clean run."""
    import pyarrow.parquet as pq

    keys, found = table_keys(), {}
    for path in sorted((root / "curated").glob("*.parquet")):
        key = keys.get(path.stem)
        if not key:
            continue
        table = pq.read_table(path, columns=key)
        if table.num_rows == 0:
            continue
        distinct = table.select(key).group_by(key).aggregate([]).num_rows
        if distinct != table.num_rows:
            found[path.stem] = table.num_rows - distinct
    return found


def registry_problems(root: Path) -> list[str]:
    """Each landing file recorded once in its service's `_hashes.json`, each raw file there
    exists, and no raw file that no record names (a copy made by a killed run)."""
    problems, named = [], set()
    for registry in sorted((root / "raw").glob("*/_hashes.json")):
        records = json.loads(registry.read_text("utf-8"))["files"]
        landing = [r.get("landing_path") for r in records.values()]
        repeated = {p for p in landing if p and landing.count(p) > 1}
        problems += [f"landing file recorded twice: {p}" for p in sorted(repeated)]
        for record in records.values():
            for output in record.get("outputs") or []:
                named.add(output)
                if not (root / output).is_file():
                    problems.append(f"recorded raw file missing: {output}")
    for path in sorted((root / "raw").rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and path.name != "_hashes.json" and "/_quarantine/" not in rel:
            if rel not in named and not path.name.startswith("."):
                problems.append(f"raw file no record names: {rel}")
    return problems


def broken_archives(root: Path) -> list[str]:
    """Archived versions that do not decompress (a partial archive)."""
    broken = []
    for path in sorted((root / "archive").rglob("*.gz")):
        try:
            gzip.decompress(path.read_bytes())
        except (OSError, EOFError) as error:
            broken.append(f"{path.relative_to(root).as_posix()}: {error}")
    return broken


# --- clean reference lakes ------------------------------------------------------------------

BIG_LINES = 40_000  # a DistroKid statement large enough that its stages take a while


def big_statement(
    landing: Path,
    lines: int = BIG_LINES,
    seed: int = 11,
    last_reporting: str = "2026-11-24",
    landed: str = "20261125T060000Z",
) -> Path:
    """A large DistroKid bank statement in landing (newer than the samples': it wins)."""
    from datetime import date

    from distrokid.samples import write_bank_details

    path = landing / "distrokid" / "bank_details" / f"big{seed}_{landed}.tsv"
    last = date.fromisoformat(last_reporting)
    write_bank_details(path, lines, 13, "latin-1", seed=seed, last_reporting_date=last)
    return path


def samples_of(landing: Path, *services: str) -> None:
    """The bundled sample files of these services (every service if none is named)."""
    import shutil

    from datalake.demo import SAMPLES, copy_samples

    if not services:
        copy_samples(landing)
    for service in services:
        shutil.copytree(SAMPLES / service, landing / service, copy_function=shutil.copy2)


@dataclass
class Clean:
    """A lake after one clean run: its landing (to copy), its phases, and its zones' views."""

    landing: Path
    root: Path
    flags: tuple[str, ...]
    timeline: Timeline
    views: dict[str, dict]


COMPARED = ("landing", "raw", "staging", "curated")
_CLEAN: dict[str, Clean] = {}


def clean_lake(base: Path, name: str, build_landing, *flags: str) -> Clean:
    """A landing zone made by `build_landing(folder)`, through one clean run with `flags`
    (built once per test session, under `base`)."""
    import shutil

    if name in _CLEAN:
        return _CLEAN[name]
    landing = base / f"{name}-landing"
    build_landing(landing)
    root = base / f"{name}-clean"
    shutil.copytree(landing, root / "landing")
    progress = Progress(root, planned_stages(*flags))
    log = base / f"{name}-clean.log"
    timeline = watch(start_runner(root, *flags, log=log), progress)
    assert timeline.code == 0, log.read_text()
    assert duplicate_keys(root) == {} and leftovers(root) == [] and held_locks(root) == []
    views = {zone: zone_view(root, zone) for zone in COMPARED}
    assert views["curated"], "the clean run published curated tables"
    _CLEAN[name] = Clean(landing, root, flags, timeline, views)
    return _CLEAN[name]


def is_table_manifest(rel: str) -> bool:
    """`_manifest/<table>.json` (a curated table's manifest, not a stage's state)."""
    return rel.startswith("_manifest/") and not rel.startswith("_manifest/_state_")


def like_clean(
    lake: Path, clean: Clean, zones: Iterable[str] = COMPARED, manifests: bool = True
) -> list[str]:
    """How a lake differs from a clean run's (zone by zone), and whatever it should not hold;
    `manifests=False` leaves curated tables' manifests out (see `manifest_problems`)."""
    problems = []
    for zone in zones:
        got, expected = zone_view(lake, zone), clean.views[zone]
        if not manifests and zone == "curated":
            got, expected = (
                {k: v for k, v in view.items() if not is_table_manifest(k)}
                for view in (got, expected)
            )
        problems += [f"{zone}: {d}" for d in differences(got, expected)]
    problems += [f"left over: {p}" for p in leftovers(lake)]
    problems += [f"key repeated in {t}: {n} rows" for t, n in duplicate_keys(lake).items()]
    problems += registry_problems(lake) + broken_archives(lake)
    problems += [f"lock still held: {p}" for p in held_locks(lake)]
    return problems


def manifest_problems(root: Path) -> list[str]:
    """Curated tables whose manifest (`_manifest/<table>.json`) is missing or does not describe
    the current CSV file (its size, modification time and rows)."""
    import pyarrow.parquet as pq

    problems = []
    for csv_path in sorted((root / "curated").glob("*.csv")):
        manifest = root / "curated" / "_manifest" / f"{csv_path.stem}.json"
        if not manifest.exists():
            problems.append(f"{csv_path.stem}: no manifest")
            continue
        meta, stat = json.loads(manifest.read_text("utf-8")), csv_path.stat()
        parquet = csv_path.with_suffix(".parquet")
        rows = pq.ParquetFile(parquet).metadata.num_rows if parquet.exists() else None
        said = (meta.get("size"), meta.get("mtime_ns"))
        if said != (stat.st_size, stat.st_mtime_ns) or meta.get("rows") not in (None, rows):
            problems.append(
                f"{csv_path.stem}: the manifest (published {meta.get('published_at')}) says "
                f"{meta.get('rows')} rows, {said[0]} bytes, mtime {said[1]}; the table has "
                f"{rows} rows, {stat.st_size} bytes, mtime {stat.st_mtime_ns}"
            )
    return problems


# --- a kill at a chosen commit ---------------------------------------------------------------

# Runs a script with `os.replace` (every atomic commit of a zone file goes through it) wrapped:
# SIGKILL right before or right after the N-th commit, or right after the commit of a file whose
# name ends with KILL_AFTER_NAME; without N, prints how many commits the script made.
KILLER = """
import atexit, os, signal, sys, runpy, threading
n, when = int(os.environ.get("KILL_AT", "0")), os.environ.get("KILL_WHEN", "after")
name, count, real = os.environ.get("KILL_AFTER_NAME"), [0], os.replace
lock = threading.Lock()  # tables are published on several threads: number each commit once
def replace(src, dst, *args, **kwargs):
    with lock:
        count[0] += 1
        number = count[0]
    if n and number == n and when == "before":
        os.kill(os.getpid(), signal.SIGKILL)
    real(src, dst, *args, **kwargs)
    if (n and number == n and when == "after") or (name and str(dst).endswith(name)):
        sys.stderr.write(f"killed after committing {dst}\\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGKILL)
os.replace = replace
if not n and not name:
    atexit.register(lambda: sys.stderr.write(f"commits: {count[0]}\\n"))
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def run_killed_at(script: Path, root: Path, **kill: str) -> subprocess.CompletedProcess:
    """Run a stage script against the lake at `root`, SIGKILLed where `kill` says
    (`KILL_AT=3, KILL_WHEN="before"`, or `KILL_AFTER_NAME="dk_bank_details.csv"`)."""
    return subprocess.run(
        [sys.executable, "-c", KILLER, str(script)],
        env=clean_env(root, **kill),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )


def commits_of(script: Path, root: Path) -> int:
    """How many zone files a script commits on this lake (run on it: use a copy)."""
    result = run_killed_at(script, root)
    assert result.returncode == 0, result.stderr[-3000:]
    return int(result.stderr.rsplit("commits: ", 1)[1].split()[0])
