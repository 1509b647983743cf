"""The reliability tally printed at session finish (tests/tally.py) says what was counted.

Counts become one line in a fixed order, singular or plural as the number says, kinds never
counted left out; nothing counted is no line at all (a session without reliability tests prints
nothing); a kind misspelt by a test fails it instead of vanishing from the line.
"""

from __future__ import annotations

from collections import Counter

import pytest
import tally


@pytest.fixture
def counts(monkeypatch) -> Counter:
    """A fresh tally for the test (the session's own is left as it was)."""
    fresh: Counter[str] = Counter()
    monkeypatch.setattr(tally, "_counts", fresh)
    return fresh


def test_the_tally_is_one_line_of_what_was_counted(counts):
    assert tally.summary() is None
    tally.count("fault", 95)
    tally.count("bad input", 800)
    tally.count("bad input", 12)
    for _ in range(6):
        tally.count("kill")
    assert tally.summary() == (
        "reliability: 812 bad inputs tried (all quarantined or read right), "
        "6 kills survived, 95 faults injected"
    )


def test_kinds_never_counted_are_left_out_and_one_is_singular(counts):
    tally.count("kill")
    assert tally.summary() == "reliability: 1 kill survived"
    tally.count("fault")
    assert tally.summary() == "reliability: 1 kill survived, 1 fault injected"


def test_an_unknown_kind_is_refused(counts):
    with pytest.raises(ValueError, match="'kills'"):
        tally.count("kills")
    assert tally.summary() is None
