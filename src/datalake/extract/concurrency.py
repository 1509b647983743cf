"""Several requests at once, within a platform's limits, on a bounded pool of threads.

(Meta Ads runs several async report jobs at once; Mailchimp reads reports over at most a few of
its 10 allowed connections.)

- `Pacer`, one per extractor run and shared by every worker: a pause asked for by throttling or
  by high usage holds *every* worker (each request waits its turn, `Pacer.wait_turn`), and its
  stop flag ends every wait at once (a failure elsewhere, Ctrl-C) so no thread outlives the run.
- `JobSlots`: how many report jobs may be in flight. It starts at `META_REPORT_CONCURRENCY`,
  halves on every throttling answer and grows back by one per that many jobs completed (jobs
  started after the last throttling answer only: additive increase, multiplicative decrease, as
  TCP does), never above the setting.
- `in_parallel`: run tasks on at most N threads (`concurrent.futures`) and yield each result as
  it completes. A task that fails stops the tasks not started yet; the running ones finish (their
  results are still yielded) and the first error is raised. An interruption (KeyboardInterrupt,
  the consumer stopping) stops every worker at its next wait or request. Waits are bounded.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any, TypeVar

log = logging.getLogger(__name__)
Task = TypeVar("Task")
_TICK_SECONDS = 0.5  # how often a blocked wait checks the stop flag


class Stopped(Exception):
    """The run is stopping: a worker's wait or request ended early."""


class Pacer:
    """A pause every worker observes, and a stop flag that ends every wait."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock, self.stopped = clock, threading.Event()
        self._lock, self._until = threading.Lock(), 0.0

    def hold(self, seconds: float) -> None:
        """No worker sends a request during the next `seconds` (pauses never shorten)."""
        with self._lock:
            self._until = max(self._until, self.clock() + seconds)

    def remaining(self) -> float:
        """Seconds left of the current pause (0 if none)."""
        with self._lock:
            return max(0.0, self._until - self.clock())

    def sleep(self, seconds: float) -> None:
        """Sleep, unless the run stops first (then `Stopped`)."""
        if self.stopped.wait(max(0.0, seconds)):
            raise Stopped("the run is stopping")

    def wait_turn(self) -> None:
        """Before a request: wait out the current pause (`Stopped` if the run stops)."""
        while (left := self.remaining()) > 0:
            self.sleep(left)
        if self.stopped.is_set():
            raise Stopped("the run is stopping")

    def stop(self) -> None:
        self.stopped.set()


class JobSlots:
    """How many report jobs may run at once: AIMD between 1 and `most`."""

    def __init__(self, most: int = 1) -> None:
        self._cond = threading.Condition()
        self.most = self.limit = max(1, most)
        self.active, self._credit, self._epoch = 0, 0, 0  # epoch: throttling answers so far

    def acquire(self, pacer: Pacer | None = None, timeout: float | None = None) -> int | None:
        """Take a slot, waiting while `limit` jobs run (None after `timeout` seconds; `Stopped`
        if the pacer stops). Returns the ticket to `release` it with."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self.active >= self.limit:
                if pacer is not None and pacer.stopped.is_set():
                    raise Stopped("the run is stopping")
                left = _TICK_SECONDS if deadline is None else deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(min(left, _TICK_SECONDS))
            self.active += 1
            return self._epoch

    def release(self, ticket: int, completed: bool = True) -> None:
        """Give a slot back. Every `limit` jobs completed since the last throttling answer allow
        one more at once (up to `most`)."""
        with self._cond:
            self.active -= 1
            if completed and ticket == self._epoch:
                self._credit += 1
                if self._credit >= self.limit and self.limit < self.most:
                    self.limit, self._credit = self.limit + 1, 0
            self._cond.notify_all()

    def throttled(self) -> None:
        """Meta said "too many calls": halve the jobs allowed at once (at least one)."""
        with self._cond:
            before, self.limit = self.limit, max(1, self.limit // 2)
            self._credit, self._epoch = 0, self._epoch + 1
        if self.limit < before:
            log.warning("Meta throttling: %d report jobs at once from now on", self.limit)

    @contextmanager
    def job(self, pacer: Pacer | None = None) -> Iterator[None]:
        """One report job in flight (the slot is released however the job ends)."""
        ticket = self.acquire(pacer)
        completed = False
        try:
            yield
            completed = True
        finally:
            self.release(ticket, completed)


def _cancel(futures) -> None:
    for future in futures:
        future.cancel()


def in_parallel(
    tasks: Sequence[Task],
    work: Callable[[Task], Any],
    workers: int,
    pacer: Pacer,
    name: str = "worker",
) -> Iterator[tuple[Task, Any]]:
    """Yield `(task, work(task))` as each completes, `workers` threads at most (see above)."""
    executor = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix=name)
    futures: dict[Future, Task] = {}
    first_error: BaseException | None = None
    try:
        futures = {executor.submit(work, task): task for task in tasks}
        order = {future: number for number, future in enumerate(futures)}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=_TICK_SECONDS, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=order.__getitem__):
                if future.cancelled():
                    continue
                error = future.exception()
                if error is None:
                    yield futures[future], future.result()
                elif first_error is None:
                    first_error = error
                    _cancel(pending)  # nothing new starts; the running tasks finish
                    log.warning("%s: starting no new task, finishing those running", error)
    except BaseException:  # interrupted, or the consumer stopped: every worker stops now
        pacer.stop()
        _cancel(futures)
        raise
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    if first_error is not None:
        raise first_error
