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


def test_a_table_whose_builder_fails_midway_does_not_hold_up_the_other(tmp_path):
    """Two curated tables share one staging read; one fails after its first batch while its
    stream is still referenced (by the traceback it keeps): `done()` leaves the read, and the
    other table gets every batch."""
    import types

    import pyarrow as pa
    import pyarrow.parquet as pq

    from datalake.paths import Lake
    from datalake.stages.staging2curated import StagingReader

    service = tmp_path / "svc"
    (service / "schemas").mkdir(parents=True)
    (service / "schemas" / "stg_lines.json").write_text(
        '{"properties": {"n": {"type": "integer"}}, "x-lineage": false}'
    )
    lake = Lake(tmp_path / "lake")
    lake.staging("svc").mkdir(parents=True)
    rows = pa.table({"n": pa.array(range(300_000), pa.int64())})
    pq.write_table(rows, lake.staging("svc") / "lines.parquet", row_group_size=10_000)
    ctx = types.SimpleNamespace(lake=lake, service="svc", service_dir=service)
    base = StagingReader(ctx)
    base.share("lines", 2)
    failing, counting = base.for_table(("lines",)), base.for_table(("lines",))
    kept = []

    def fail_after_one_batch():
        stream = failing.batches("lines")
        kept.append(stream)  # as a traceback would
        try:
            next(iter(stream))
            raise ValueError("schema problem")
        except ValueError:
            pass
        finally:
            failing.done()

    counted = []

    def count_all():
        try:
            counted.append(sum(batch.num_rows for batch in counting.batches("lines")))
        finally:
            counting.done()

    threads = [threading.Thread(target=f, daemon=True) for f in (fail_after_one_batch, count_all)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert counted == [300_000], "the other table was held up by the failed one"
