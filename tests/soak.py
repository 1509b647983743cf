"""The reliability suite's two modes: the fast default (CI) and the soak mode.

`bash scripts/test.sh --soak` sets `DATALAKE_SOAK=1`; a test that repeats a fault (kills,
generated inputs, bursts) asks `scaled(default, soak)` how many times to do it.
"""

from __future__ import annotations

import os

SOAK = os.environ.get("DATALAKE_SOAK", "") not in ("", "0")


def scaled(default: int, soak: int) -> int:
    """How many repetitions this mode runs."""
    return soak if SOAK else default
