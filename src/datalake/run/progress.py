"""What the runner shows while it works: a live progress bar with coloured result lines in a
terminal (rich), plain log lines otherwise (cron, CI)."""

from __future__ import annotations

import logging
from contextlib import contextmanager

log = logging.getLogger("datalake.run.runner")


@contextmanager
def progress_lines(total: int, interactive: bool):
    """Yield a callback for finished scripts: a live progress bar with coloured result lines in
    a terminal (rich), plain log lines otherwise (cron, CI)."""
    done = [0]

    def line(outcome) -> str:
        done[0] += 1
        took = f" ({outcome.duration_s:.1f}s)" if outcome.duration_s else ""
        return f"[{done[0]}/{total}] {outcome.service} {outcome.stage}: {outcome.status}{took}"

    if not interactive:
        yield lambda outcome: log.info("%s", line(outcome))
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("BEDROT Data Lake", total=total)

        def show(outcome) -> None:
            colour = {0: "green", None: "green", 4: "yellow", 5: "yellow"}.get(
                outcome.exit_code, "red"
            )
            bar.console.print(line(outcome), style=colour, highlight=False)
            bar.advance(task)

        yield show
