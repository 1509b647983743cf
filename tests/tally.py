"""What the reliability suite actually did this session, counted by the tests themselves.

A test calls `count(kind, n)` once the input, kill or fault it delivered has been checked (after
its assertions on it passed), so a failed check counts nothing. `tests/conftest.py` prints
`summary()` at session finish, next to the secrets scan's line:

    reliability: 812 bad inputs tried (all quarantined or read right), 6 kills survived, ...

Kinds: "bad input" (a malformed or valid-variant landing file read by a service and checked),
"kill" (a SIGKILL after which the next run was verified), "fault" (a fault of the network or the
disk the code met, whose outcome was asserted). Import it as `tally` (the tests folder is on
`sys.path`, as for `conftest` and `soak`), never as `tests.tally`: that would be a second,
separate count.
"""

from __future__ import annotations

from collections import Counter

KINDS = {  # kind -> (singular, plural) of how the summary says it
    "bad input": ("bad input tried", "bad inputs tried"),
    "kill": ("kill survived", "kills survived"),
    "fault": ("fault injected", "faults injected"),
}
_counts: Counter[str] = Counter()


def count(kind: str, n: int = 1) -> None:
    """Add `n` checked things of `kind` to this session's tally."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}, not {kind!r}")
    _counts[kind] += n


def summary() -> str | None:
    """The one-line tally (kinds never counted left out); None when nothing was counted."""
    parts = []
    for kind, (one, many) in KINDS.items():
        if n := _counts[kind]:
            parts.append(f"{n} {one if n == 1 else many}")
            if kind == "bad input":
                parts[-1] += " (all quarantined or read right)"
    return f"reliability: {', '.join(parts)}" if parts else None
