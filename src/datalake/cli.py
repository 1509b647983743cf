"""`datalake`: the project's one command line, with a subcommand per task (as dbt and Meltano).

    datalake run [flags]          run the pipeline, as cron does (`python cronjob/run_datalake.py`)
    datalake demo [--root DIR]    the whole pipeline on the bundled sample data
    datalake restore TABLE ...    list or restore archived versions of a curated table
    datalake quarantine [...]     list quarantined and retired files with their reasons
    datalake show TABLE           a staging or curated table: schema, row count, first rows
    datalake sql "SELECT ..."     a SQL query over the curated tables (curated/lake.duckdb)
    datalake status [--json]      freshness per curated table, services, sessions, mirror
    datalake storage push|pull|verify   the MinIO (S3) mirror of the zones

`datalake <command> --help` shows each command's flags. `python -m datalake ...` is the same.
Each command is the `main(argv, prog)` of its module, which this only dispatches to.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {  # name: (module, one line of help)
    "run": ("datalake.run.runner", "run the pipeline: extract, landing2raw, raw2staging, curated"),
    "demo": ("datalake.demo", "the whole pipeline on the bundled sample data, in ./demo_lake"),
    "restore": ("datalake.storage.restore", "list or restore archived versions of a curated table"),
    "quarantine": ("datalake.stages.quarantine", "list quarantined and retired files with reasons"),
    "show": ("datalake.show", "a staging or curated table: schema, row count, first rows"),
    "sql": ("datalake.sql", "run a SQL query over the curated tables (DuckDB, lake.duckdb)"),
    "status": ("datalake.status", "the lake at a glance: freshness per table, services, sessions"),
    "storage": ("datalake.storage.mirror", "the MinIO mirror: push, pull (rebuild a lake), verify"),
}


def usage() -> str:
    """The top-level help: every command with its line."""
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items()]
    return "\n".join(
        [
            "usage: datalake <command> [options]",
            "",
            "BEDROT Data Lake: the label's platform numbers, landing -> raw -> staging -> curated.",
            "",
            "commands:",
            *lines,
            "",
            "`datalake <command> --help` shows a command's options.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a subcommand; exit 2 for an unknown one."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(usage() + "\n")
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        sys.stderr.write(f"datalake: unknown command {name!r}\n\n{usage()}\n")
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return module.main(rest, prog=f"datalake {name}")


if __name__ == "__main__":
    sys.exit(main())
