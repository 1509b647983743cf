"""One stream of batches read once and handed to several consumers running side by side.

Two curated tables built from the same staging dataset (a statement's lines as
`dk_bank_details` and as `earnings`) each stream it; `FanOut` reads it once for both. The
consumers run in threads of their own; each gets every batch, in order, through a small queue
(so at most a few batches per consumer are in memory). Reading starts when every expected
consumer has subscribed or withdrawn (a consumer that failed before reading, or never reads),
so none misses the first batches; a consumer that stops early (closes its generator) stops
being fed, and a read error reaches every consumer still reading.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from queue import Full, Queue

_END = object()
_POLL_SECONDS = 0.2  # how often a blocked hand-over checks whether its consumer stopped


class _Subscriber:
    def __init__(self) -> None:
        self.queue: Queue = Queue(maxsize=2)
        self.stopped = threading.Event()


class FanOut:
    """`source()` read once, for `expected` consumers (see the module docstring)."""

    def __init__(self, source: Callable[[], Iterable], expected: int) -> None:
        self._source, self._waiting = source, expected
        self._subscribers: list[_Subscriber] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def subscribe(self) -> Iterator:
        """The batches, for one consumer (call from the consumer's own thread)."""
        subscriber = _Subscriber()
        with self._lock:
            self._subscribers.append(subscriber)
            self._arrived()
        return self._receive(subscriber)

    def withdraw(self) -> None:
        """An expected consumer that will not subscribe (it failed or did not need the data)."""
        with self._lock:
            self._arrived()

    def _arrived(self) -> None:
        self._waiting -= 1
        if self._waiting <= 0 and self._thread is None:
            self._thread = threading.Thread(target=self._produce, name="fanout", daemon=True)
            self._thread.start()

    def _receive(self, subscriber: _Subscriber) -> Iterator:
        try:
            while (item := subscriber.queue.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            subscriber.stopped.set()

    def _hand(self, subscriber: _Subscriber, item) -> None:
        while not subscriber.stopped.is_set():
            try:
                subscriber.queue.put(item, timeout=_POLL_SECONDS)
                return
            except Full:
                continue

    def _produce(self) -> None:
        final: object = _END
        try:
            for batch in self._source():
                live = [s for s in self._subscribers if not s.stopped.is_set()]
                if not live:
                    return
                for subscriber in live:
                    self._hand(subscriber, batch)
        except BaseException as error:  # handed to the consumers, which raise it
            final = error
        finally:
            for subscriber in self._subscribers:
                self._hand(subscriber, final)
