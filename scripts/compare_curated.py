"""Compare the curated zones of two lakes, run ids aside: `python scripts/compare_curated.py A B`.

For a refactor that must not change what users read: every curated CSV must be byte-identical
once `_run_id` values are masked, and every Parquet file must hold an equal table (schema and
values) without `_run_id`. Prints one line per file (`same`, `DIFF`, `BYTES DIFF`, `missing`,
`extra`) and exits with the number of differences.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

_RUN_ID = re.compile(rb'"\d{8}T\d{6}Z-[0-9a-f]{6}"')


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")


def _table(path: Path):
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pq.read_table(path) if path.suffix == ".parquet" else pacsv.read_csv(path)
    return table.drop_columns(["_run_id"])


def compare(a: Path, b: Path) -> int:
    differences = 0
    for path in sorted((a / "curated").glob("*.*")):
        other = b / "curated" / path.name
        if not other.exists():
            _say(f"missing {path.name}")
            differences += 1
            continue
        if path.suffix == ".csv" and _RUN_ID.sub(b"R", path.read_bytes()) != _RUN_ID.sub(
            b"R", other.read_bytes()
        ):
            _say(f"BYTES DIFF {path.name}")
            differences += 1
        left, right = _table(path), _table(other)
        if not left.equals(right) or left.schema != right.schema:
            _say(f"DIFF {path.name}")
            differences += 1
        else:
            _say(f"same {path.name} ({left.num_rows} rows)")
    for other in sorted((b / "curated").glob("*.*")):
        if not (a / "curated" / other.name).exists():
            _say(f"extra {other.name}")
            differences += 1
    return differences


if __name__ == "__main__":
    sys.exit(compare(Path(sys.argv[1]), Path(sys.argv[2])))
