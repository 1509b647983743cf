"""`datalake.tables.fanout.FanOut`: one read of a stream for several consumers in threads."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from datalake.tables.fanout import FanOut


def _counting_source(items, reads: list):
    def source():
        reads.append(1)
        yield from items

    return source


def test_every_consumer_gets_every_batch_in_order_from_one_read():
    reads: list = []
    fan = FanOut(_counting_source(range(50), reads), expected=3)
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: list(fan.subscribe()), range(3)))
    assert results == [list(range(50))] * 3
    assert reads == [1]


def test_reading_waits_for_every_expected_consumer_then_a_withdrawal_lets_it_start():
    reads: list = []
    fan = FanOut(_counting_source(range(5), reads), expected=2)
    got = []
    consumer = threading.Thread(target=lambda: got.extend(fan.subscribe()))
    consumer.start()
    consumer.join(0.5)
    assert consumer.is_alive() and reads == []  # still waiting for the second consumer
    fan.withdraw()
    consumer.join(5)
    assert not consumer.is_alive() and got == [0, 1, 2, 3, 4] and reads == [1]


def test_a_consumer_that_stops_early_does_not_block_the_others():
    fan = FanOut(lambda: iter(range(1000)), expected=2)

    def first_three():
        stream = fan.subscribe()
        taken = [next(stream) for _ in range(3)]
        stream.close()
        return taken

    with ThreadPoolExecutor(2) as pool:
        early = pool.submit(first_three)
        full = pool.submit(lambda: list(fan.subscribe()))
        assert early.result(timeout=10) == [0, 1, 2]
        assert full.result(timeout=10) == list(range(1000))


def test_a_read_error_reaches_every_consumer():
    def broken():
        yield 1
        raise OSError("disk gone")

    fan = FanOut(broken, expected=2)

    def consume():
        seen = []
        with pytest.raises(OSError, match="disk gone"):
            for item in fan.subscribe():
                seen.append(item)
        return seen

    with ThreadPoolExecutor(2) as pool:
        assert [f.result(timeout=10) for f in [pool.submit(consume), pool.submit(consume)]] == [
            [1],
            [1],
        ]
