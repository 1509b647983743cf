"""Stage state: what a stage last built from, so unchanged inputs mean no work at all.

A fingerprint is the size and mtime of every input file plus the script itself (a changed
cleaner rebuilds). The runner uses `is_up_to_date()` before starting a process, and the stage
itself checks again, so a run with nothing new neither re-reads files nor imports pandas.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from datalake.atomic import atomic_write_json
from datalake.paths import Lake
from datalake.registry import Registry


def _visible_files(folder: Path):
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
        for name in sorted(filenames):
            if not name.startswith((".", "_")):
                yield Path(dirpath) / name


SHARED_CODE = Path(__file__).resolve().parent
ABSENT = "absent"  # an output the stage had nothing to write to


def code_files(script: Path) -> list[Path]:
    """What a stage's output depends on besides its inputs: the script, its service's settings
    and schemas, and the shared package (so a fixed parser or schema rebuilds)."""
    service = Path(script).resolve().parents[1]
    found = [Path(script), *sorted((service / "schemas").glob("*.json"))]
    found += [p for p in (service / "settings.py",) if p.exists()]
    return found + sorted(SHARED_CODE.glob("*.py")) + sorted(SHARED_CODE.glob("schemas/*.json"))


def fingerprint(folder: Path, script: Path) -> dict[str, list[int]]:
    """Size and mtime of each visible file under `folder`, and of the code it is built with."""
    prints = {}
    for path in [*_visible_files(folder), *code_files(script)]:
        info = os.stat(path)
        prints[path.as_posix()] = [info.st_size, info.st_mtime_ns]
    return prints


def state_path(lake: Lake, service: str, stage: str) -> Path:
    zone = lake.staging(service) if stage == "raw2staging" else lake.curated / "_manifest"
    return zone / f"_state_{service}_{stage}.json"


def input_folder(lake: Lake, service: str, stage: str) -> Path:
    return lake.raw(service) if stage == "raw2staging" else lake.staging(service)


def load_state(lake: Lake, service: str, stage: str) -> dict[str, Any]:
    path = state_path(lake, service, stage)
    return json.loads(path.read_text("utf-8")) if path.exists() else {}


def save_state(lake: Lake, service: str, stage: str, prints: dict, outputs: dict) -> None:
    """Record the inputs a stage built from and the outputs (path -> sha256) it produced."""
    atomic_write_json(state_path(lake, service, stage), {"inputs": prints, "outputs": outputs})


def pending_landing(lake: Lake, service: str) -> list[Path]:
    """Landing files not yet seen with their current size and mtime."""
    from datalake.registry import FileStat

    landing = lake.landing(service)
    if not landing.exists():
        return []
    registry = Registry.for_service(lake.raw(service))
    return [
        p
        for p in _visible_files(landing)
        if not registry.known_unchanged(lake.relative(p), FileStat.of(p))
    ]


def is_up_to_date(lake: Lake, service: str, stage: str, script: Path) -> bool:
    """True if running this stage now would change nothing."""
    if stage == "landing2raw":
        return not pending_landing(lake, service)
    if stage not in ("raw2staging", "staging2curated"):
        return False
    state = load_state(lake, service, stage)
    if not state or state.get("inputs") != fingerprint(input_folder(lake, service, stage), script):
        return False
    outputs = state.get("outputs", {})
    return all(output_in_place(lake, rel, outputs) for rel in outputs)


def output_in_place(lake: Lake, rel: str, outputs: dict) -> bool:
    """True if a recorded output is still as the stage left it: present, or absent on purpose
    (a shared table that this service had no rows for, so it wrote nothing)."""
    return rel in outputs and (outputs[rel] == ABSENT or (lake.root / rel).exists())


def part_changed(old: dict, new: dict, inputs: list[Path], script: Path) -> bool:
    """True if the fingerprint entries under `inputs` (files or folders) or the code differ."""
    prefixes = [Path(p).as_posix() for p in inputs]
    code = {p.as_posix() for p in code_files(script)}

    def part(prints: dict) -> dict:
        return {
            k: v
            for k, v in prints.items()
            if k in code or any(k == p or k.startswith(p + "/") for p in prefixes)
        }

    return part(old) != part(new)


def visible_files(folder: Path) -> list[Path]:
    """Files under a folder, skipping hidden and `_`-prefixed names (state, temp, registry)."""
    return list(_visible_files(folder)) if folder.exists() else []
