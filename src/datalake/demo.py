"""The demo: the whole pipeline on bundled synthetic sample files, in a lake of its own.

`python -m datalake.demo [--root DIR]` copies `samples/landing/` (made-up data with every quirk
of the real formats) into the demo lake's landing zone, runs the master runner without
extractors (no credentials, no network), and prints where the curated tables and the run report
are. Running it again is a no-op run: nothing new, nothing rewritten.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from datalake.settings import REPO_ROOT

SAMPLES = REPO_ROOT / "samples" / "landing"


def copy_samples(landing: Path) -> int:
    """Copy the bundled landing files (keeping their mtimes) into a landing zone."""
    count = 0
    for source in sorted(p for p in SAMPLES.rglob("*") if p.is_file()):
        target = landing / source.relative_to(SAMPLES)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            count += 1
    return count


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """Run the demo and print where its outputs are."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--root",
        type=Path,
        default=REPO_ROOT / "demo_lake",
        help="demo lake root (default: ./demo_lake)",
    )
    args = parser.parse_args(argv)
    root = args.root.resolve()
    copied = copy_samples(root / "landing")
    env = {**os.environ, "DATALAKE_ROOT": str(root)}
    command = [sys.executable, str(REPO_ROOT / "cronjob" / "run_datalake.py"), "--skip-extractors"]
    code = subprocess.run(command, env=env, check=False).returncode
    curated = sorted((root / "curated").glob("*.csv"))
    lines = [
        "",
        f"Demo lake: {root} ({copied} sample file(s) copied into landing)",
        f"Runner exit code: {code}",
        "Curated tables:",
        *[f"  {p}  (+ {p.with_suffix('.parquet').name})" for p in curated],
        f"Run report: {root / '_runs' / 'latest.html'}",
        f"Run record: {root / '_runs' / 'latest.json'}",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
