"""The master runner's entry point (see `datalake.runner`).

Usage: `python cronjob/run_datalake.py --help`.
"""

import sys

from datalake.runner import main

if __name__ == "__main__":
    sys.exit(main())
