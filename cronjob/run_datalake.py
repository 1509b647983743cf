"""The master runner's entry point (see `datalake.run.runner`).

Usage: `python cronjob/run_datalake.py --help`. Run with a Python that does not have the project
installed (a fresh clone, no `.venv` yet), it says in one line what to run first and exits 2.
"""

import sys
from pathlib import Path

INSTALL = "python3 -m venv .venv && .venv/bin/pip install -e ."


def main() -> int:
    try:
        from datalake.run.runner import main as run
    except ModuleNotFoundError as error:
        repo = Path(__file__).resolve().parents[1]
        sys.stderr.write(
            f"BEDROT Data Lake is not installed for {sys.executable} ({error}): "
            f"run `{INSTALL}` in {repo} first (Windows: py -m venv .venv && "
            ".venv\\Scripts\\pip install -e .)\n"
        )
        return 2
    return run()


if __name__ == "__main__":
    sys.exit(main())
