"""Change detection: has anything a stage depends on changed since it last ran?

One mechanism, used by the stage drivers and by the runner before it starts a process. A stage's
state file (`_state_<service>_<stage>.json`, beside its outputs) records what the stage was
built from:

- `inputs`: size and mtime of every visible file of its input zone (`raw/<service>/` for
  raw2staging, `staging/<service>/` for staging2curated, and for curated2business every curated
  Parquet file but the stage's own outputs), keyed by its path in the lake (a lake pulled into
  another folder from the mirror is still up to date);
- `code`: a content hash of the code that built it (keyed by its path in the repository, so a
  fresh clone of the same code is the same code): every module of `src/` the stage's process
  had loaded when it finished (its script, its service's modules, and only the shared modules
  it really used), its service's schemas and the shared schemas;
- `settings`: a hash of the value of every setting the stage read (`TOOLOST_PAYABLE_COLUMN`...),
  and of the content of every settings file it read (`datalake.settings.settings_file`: the
  artist-name rules), so a changed value or an edited rules file rebuilds without `--force`;
- `outputs`: what it wrote (an output recorded as `absent` had nothing to write: a shared table
  this service has no rows for).

The stage is up to date when all four still hold, or when it never ran and has no input at all
(a service without data yet: no process is started for it); within a stage, an output is
rebuilt when the inputs it reads changed (`Changes.unchanged`). Two other questions are
answered elsewhere, on purpose: which landing files are new is the dedup registry's
(`raw/<service>/_hashes.json`, by size and mtime, then SHA-256), and whether a rebuilt output
differs is decided by comparing it with the current file (`tables.same_content`), so an
unchanged result is never rewritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from datalake.paths import CODE_ROOT, Lake
from datalake.settings import REPO_ROOT
from datalake.storage.atomic import atomic_write_json
from datalake.storage.registry import Registry

SHARED_CODE = Path(__file__).resolve().parents[1]  # the datalake package
ABSENT = "absent"  # an output the stage had nothing to write to


def _visible_names(folder: Path) -> Iterator[tuple[str, str]]:
    """(folder path, file name) of the files under a folder, sorted, skipping hidden and
    `_`-prefixed names (state, temp, registry): plain strings, no `pathlib` per file."""
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
        yield from ((dirpath, n) for n in sorted(filenames) if not n.startswith((".", "_")))


def _visible_files(folder: Path):
    return (Path(dirpath) / name for dirpath, name in _visible_names(folder))


def visible_files(folder: Path) -> list[Path]:
    """Files under a folder, skipping hidden and `_`-prefixed names (state, temp, registry)."""
    return list(_visible_files(folder)) if folder.exists() else []


def _visible_stats(folder: Path, root: Path) -> Iterator[tuple[str, os.stat_result]]:
    """(path under the lake root with forward slashes, stat) of the files `visible_files`
    lists, in its order. Plain strings and one stat per file: years of nightly files make a
    no-op run's up-to-date checks walk some 100,000 of them."""
    if not folder.exists():
        return
    base, top = os.fspath(folder), Path(folder).relative_to(root).as_posix()
    for dirpath, name in _visible_names(base):
        try:
            info = os.stat(os.path.join(dirpath, name))
        except FileNotFoundError:  # gone while the run looked
            continue
        yield f"{top}{dirpath[len(base) :].replace(os.sep, '/')}/{name}", info


def _code_key(path: Path) -> str:
    try:
        return path.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def _code_prints(paths) -> dict[str, str]:
    """A content hash of each code file, keyed by its path in the repository: a fresh clone
    (new mtimes, another folder) of the same code is the same code."""
    found = {}
    for path in paths:
        path = Path(path) if Path(path).is_absolute() else REPO_ROOT / path
        try:
            found[_code_key(path)] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        except FileNotFoundError:
            continue  # a module or schema that is gone: its entry is missing, so it differs
    return found


def code_in_use(script: Path) -> list[Path]:
    """The code a stage's output depends on: the `src/` modules this process has loaded (the
    script, its service, the shared modules it used), and the service's and shared schemas."""
    roots = {Path(CODE_ROOT).resolve(), SHARED_CODE.parent, Path(script).resolve().parents[2]}
    prefixes = tuple(
        {str(p) + os.sep for root in roots for p in (root, Path(os.path.abspath(root)))}
    )
    modules = {Path(script).resolve()}
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)  # a cheap text test first: hundreds of modules
        if file and file.endswith(".py") and (file.startswith(prefixes) or not os.path.isabs(file)):
            path = Path(file).resolve()
            if any(root in path.parents for root in roots):
                modules.add(path)
    service = Path(script).resolve().parents[1]
    schemas = sorted((service / "schemas").glob("*.json")) + sorted(
        SHARED_CODE.glob("schemas/*.json")
    )
    return sorted(modules) + schemas


def _hash_value(name: str, value: str | None) -> str:
    return hashlib.sha256(f"{name}={value}".encode()).hexdigest()[:16]


def _current(name: str) -> str:
    from datalake.settings import FILE_READ, setting

    if name.startswith(FILE_READ):  # a settings file: its content counts, not only its path
        try:
            return _hash_value(name, Path(name[len(FILE_READ) :]).read_text("utf-8"))
        except (OSError, UnicodeDecodeError):
            return _hash_value(name, None)
    return _hash_value(name, setting(name))


def current_settings(names) -> dict[str, str]:
    """Hashes of the current values of some settings and settings files (values themselves are
    never stored)."""
    return {name: _current(name) for name in sorted(names)}


def state_path(lake: Lake, service: str, stage: str) -> Path:
    zone = lake.staging(service) if stage == "raw2staging" else lake.curated / "_manifest"
    return zone / f"_state_{service}_{stage}.json"


def input_folder(lake: Lake, service: str, stage: str) -> Path:
    if stage == "curated2business":
        return lake.curated
    return lake.raw(service) if stage == "raw2staging" else lake.staging(service)


def input_prints(lake: Lake, service: str, stage: str, state: dict) -> dict[str, list[int]]:
    """Size and mtime of a stage's input files, keyed by their path under the lake root (so a
    lake restored into another folder, `datalake storage pull`, is still up to date).
    curated2business reads the curated Parquet files of the other services: its own outputs
    (recorded in its state) are not its inputs."""
    found = _visible_stats(input_folder(lake, service, stage), lake.root)
    if stage == "curated2business":
        own = {rel.removesuffix(".csv") + ".parquet" for rel in state.get("outputs", {})}
        found = (
            (rel, info)
            for rel, info in found
            if rel.endswith(".parquet") and rel.count("/") == 1 and rel not in own
        )
    return {rel: [info.st_size, info.st_mtime_ns] for rel, info in found}


def load_state(lake: Lake, service: str, stage: str) -> dict[str, Any]:
    path = state_path(lake, service, stage)
    return json.loads(path.read_text("utf-8")) if path.exists() else {}


def output_in_place(lake: Lake, rel: str, outputs: dict) -> bool:
    """True if a recorded output is still as the stage left it: present, or absent on purpose
    (a shared table that this service had no rows for, so it wrote nothing)."""
    return rel in outputs and (outputs[rel] == ABSENT or (lake.root / rel).exists())


def _same_code_and_settings(state: dict) -> bool:
    code = state.get("code") or {}
    settings = state.get("settings") or {}
    return bool(code) and _code_prints(code) == code and current_settings(settings) == settings


def pending_landing(lake: Lake, service: str) -> list[Path]:
    """Landing files not yet seen with their current size and mtime."""
    from datalake.storage.registry import FileStat

    landing = lake.landing(service)
    if not landing.exists():
        return []
    registry = Registry.for_service(lake.raw(service))
    return [
        lake.root / rel
        for rel, info in _visible_stats(landing, lake.root)
        if not registry.known_unchanged(rel, FileStat(info.st_size, info.st_mtime_ns))
    ]


def _has_built(lake: Lake, service: str, stage: str) -> bool:
    """Whether the stage's output folder holds anything of this service's (staging tables for
    raw2staging; for staging2curated, nothing is known without a state: False)."""
    return stage == "raw2staging" and bool(visible_files(lake.staging(service)))


def is_up_to_date(lake: Lake, service: str, stage: str, script: Path) -> bool:
    """True if running this stage now would change nothing (the runner asks before starting
    a process; the stage asks again)."""
    if stage == "landing2raw":
        return not pending_landing(lake, service)
    if stage not in ("raw2staging", "staging2curated", "curated2business"):
        return False
    state = load_state(lake, service, stage)
    inputs = input_prints(lake, service, stage, state)
    if not state and not inputs and not _has_built(lake, service, stage):
        return True  # a service without data yet: nothing to build, nothing to replace
    if not state or state.get("inputs") != inputs:
        return False
    outputs = state.get("outputs", {})
    return _same_code_and_settings(state) and all(
        output_in_place(lake, rel, outputs) for rel in outputs
    )


class Changes:
    """What changed for one run of a stage (see the module docstring)."""

    def __init__(self, ctx) -> None:
        self._ctx = ctx
        self.folder = input_folder(ctx.lake, ctx.service, ctx.stage)
        self.old = load_state(ctx.lake, ctx.service, ctx.stage)
        self.inputs = input_prints(ctx.lake, ctx.service, ctx.stage, self.old)
        self._same_code = _same_code_and_settings(self.old)

    def up_to_date(self) -> bool:
        lake, ctx = self._ctx.lake, self._ctx
        return is_up_to_date(lake, ctx.service, ctx.stage, ctx.script)

    def unchanged(self, rel: str, inputs: list[Path]) -> bool:
        """True if the output `rel` is in place and nothing it reads (files or folders under
        `inputs`), nor the code or settings, changed."""
        if not self._same_code or not output_in_place(
            self._ctx.lake, rel, self.old.get("outputs", {})
        ):
            return False
        root = self._ctx.lake.root
        prefixes = [Path(p).relative_to(root).as_posix() for p in inputs]

        def part(prints: dict) -> dict:
            return {
                k: v
                for k, v in prints.items()
                if any(k == p or k.startswith(p + "/") for p in prefixes)
            }

        return part(self.old.get("inputs", {})) == part(self.inputs)

    def previous_output(self, rel: str):
        return self.old.get("outputs", {}).get(rel)

    def save(self, outputs: dict, refresh_inputs: bool = False) -> None:
        """Record what the stage was built from (after it wrote `outputs`)."""
        ctx = self._ctx
        if refresh_inputs:  # the stage itself changed its inputs (retired a raw file)
            self.inputs = input_prints(ctx.lake, ctx.service, ctx.stage, self.old)
        atomic_write_json(
            state_path(ctx.lake, ctx.service, ctx.stage),
            {
                "inputs": self.inputs,
                "code": _code_prints(code_in_use(ctx.script)),
                "settings": current_settings(ctx.settings_read),
                "outputs": outputs,
            },
        )
