"""Process control for the runner: each script in its own process group, stopped as a whole.

The runner starts every script through `Processes.start`: a new session on POSIX (so the script
and everything it starts form one process group, and the terminal's Ctrl-C reaches only the
runner), a new process group on Windows. On SIGTERM or SIGINT the runner's handler calls
`Processes.stop`: no script starts any more, every running group gets SIGTERM, and the groups
still alive after the grace period (DATALAKE_STOP_GRACE_SECONDS) get SIGKILL; a second signal
kills at once. Windows has no process groups to signal: there the script itself is terminated.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger("datalake.run.runner")
POSIX = sys.platform != "win32"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _signal_group(process: subprocess.Popen, kill: bool) -> None:
    """SIGTERM (SIGKILL if `kill`) the script's whole process group (Windows: the script)."""
    try:
        if POSIX:
            os.killpg(process.pid, signal.SIGKILL if kill else signal.SIGTERM)
        elif kill:
            process.kill()
        else:
            process.terminate()
    except OSError:  # already gone (ProcessLookupError), or not ours any more
        pass


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the script's process group and reap the script (the timeout's end)."""
    _signal_group(process, kill=True)
    process.wait()


def _linux_group_alive(pgid: int) -> bool:
    """Whether a process of group `pgid` runs; zombies (which a container's init may never
    reap) do not count."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


def group_alive(process: subprocess.Popen) -> bool:
    """Whether the script, or anything left of its process group, is still running."""
    if process.poll() is None:
        return True
    if not POSIX:
        return False
    if sys.platform.startswith("linux"):
        return _linux_group_alive(process.pid)
    try:
        os.killpg(process.pid, 0)
    except OSError:
        return False
    return True


class Processes:
    """The scripts of one run that are running, under a lock; stops them all on request."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.signal: signal.Signals | None = None
        self._lock = threading.RLock()  # re-entrant: the signal handler runs in the main thread
        self._running: set[subprocess.Popen] = set()
        self._stopping = threading.Event()
        self._deadline = 0.0
        self._killer: threading.Timer | None = None

    @property
    def stopping(self) -> bool:
        """Whether a stop signal arrived (no script may start any more)."""
        return self._stopping.is_set()

    @property
    def reason(self) -> str:
        """Why a script was not started."""
        return f"the run was interrupted by {self.signal.name}" if self.signal else ""

    def start(self, command: list[str], **popen_args) -> subprocess.Popen | None:
        """Start a script in its own process group; None once the run is being stopped."""
        if POSIX:
            popen_args["start_new_session"] = True
        else:
            popen_args["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
        with self._lock:
            if self.stopping:
                return None
            process = subprocess.Popen(command, **popen_args)
            self._running.add(process)
            return process

    def done(self, process: subprocess.Popen) -> None:
        """Forget a finished script; while stopping, keep it until its whole group is gone."""
        with self._lock:
            if not self.stopping:
                self._running.discard(process)

    def pause(self, seconds: float) -> bool:
        """Sleep (a retry's backoff) unless the run is stopped meanwhile; True if it was."""
        return self._stopping.wait(seconds)

    def stop(self, signum: int) -> None:
        """A stop signal: the first SIGTERMs every running group and SIGKILLs what is left
        after the grace period; a second one SIGKILLs at once."""
        name = signal.Signals(signum).name
        with self._lock:
            if self.stopping:
                log.warning("%s again: killing the running scripts now", name)
                self.kill()
                return
            self.signal = signal.Signals(signum)
            self._deadline = time.monotonic() + self.grace
            self._stopping.set()
            running = list(self._running)
        log.warning(
            "%s: stopping %d running script(s), SIGKILL after %gs", name, len(running), self.grace
        )
        for process in running:
            _signal_group(process, kill=False)
        self._killer = threading.Timer(self.grace, self.kill)
        self._killer.daemon = True
        self._killer.start()

    def kill(self) -> None:
        """SIGKILL every group of the run that is still alive."""
        with self._lock:
            running = list(self._running)
        for process in running:
            if group_alive(process):
                log.warning("killing process group %d (SIGKILL)", process.pid)
                _signal_group(process, kill=True)

    def _wait_gone(self, deadline: float) -> None:
        """Wait until no group of the run is alive, or the deadline."""
        while time.monotonic() < deadline and any(map(group_alive, list(self._running))):
            time.sleep(0.05)

    def settle(self) -> None:
        """Once every script returned, if the run was stopped: give what is left of their groups
        the rest of the grace period, SIGKILL it, and wait (briefly) until it is gone."""
        if not self.stopping:
            return
        self._wait_gone(self._deadline)
        self.kill()
        self._wait_gone(time.monotonic() + 2)
        if self._killer:
            self._killer.cancel()


@contextmanager
def stop_signals(processes: Processes) -> Iterator[None]:
    """Route SIGTERM and SIGINT to `processes.stop` while the block runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, lambda n, _f: processes.stop(n)) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class EarlyStarts:
    """Cleaners started ahead of their turn, so that their start-up (Python, pyarrow: about
    0.3 s) overlaps the stage before them. Each waits (`--wait-for-start`) until `go` is written
    to its stdin; one that is not needed after all (its stage turned out up to date, or its
    service was stopped by a failure) is told so and exits without doing anything."""

    def __init__(self, processes: Processes) -> None:
        self._processes = processes
        self._lock = threading.Lock()
        self._waiting: dict[object, tuple[subprocess.Popen, object, Path]] = {}

    def start(self, key, command: list[str], log_path, **popen_args) -> None:
        """Start `command --wait-for-start`, its output appended to `log_path`."""
        with self._lock:
            if key in self._waiting:
                return
        out = open(log_path, "ab")  # noqa: SIM115 (closed when the process is taken or dropped)
        process = self._processes.start(
            [*command, "--wait-for-start"],
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=subprocess.STDOUT,
            **popen_args,
        )
        if process is None:
            out.close()
            return
        with self._lock:
            self._waiting[key] = (process, out, Path(log_path))
        log.info("%s started early, waiting for its turn", Path(log_path).stem)

    def go(self, key) -> subprocess.Popen | None:
        """The waiting process of `key`, told to run (None if there is none)."""
        with self._lock:
            entry = self._waiting.pop(key, None)
        if entry is None:
            return None
        process, out, _ = entry
        out.close()  # the child holds its own copy of the log file
        try:
            process.stdin.write(b"go\n")
            process.stdin.close()
        except OSError:  # it died while waiting: its exit code says why
            pass
        return process

    def drop(self, key) -> None:
        """Tell the waiting process of `key` that it is not needed (it exits 0)."""
        with self._lock:
            entry = self._waiting.pop(key, None)
        if entry is None:
            return
        process, out, log_path = entry
        out.close()
        try:
            process.stdin.close()
            process.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            kill_group(process)
        finally:
            self._processes.done(process)
        if log_path.exists() and log_path.stat().st_size == 0:
            log_path.unlink()  # it did nothing: no log
        log.info("%s was not needed after all (up to date or skipped)", log_path.stem)

    def drop_all(self) -> None:
        with self._lock:
            keys = list(self._waiting)
        for key in keys:
            self.drop(key)
