"""`python -m datalake <command>`: the same as the `datalake` command."""

import sys

from datalake.cli import main

if __name__ == "__main__":
    sys.exit(main())
