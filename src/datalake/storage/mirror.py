"""The MinIO (S3) mirror: every zone kept in a bucket of its own, a fresh machine rebuilt from it.

With `DATALAKE_STORAGE=minio` each zone (`landing`, `raw`, `staging`, `curated`, `archive`,
`sandbox`) has a bucket named after it (`MINIO_BUCKET_PREFIX` + zone); a zone file is the object
under its zone-relative key, its SHA-256 (and modification time) in the object's user metadata.
The local lake stays the working copy (locks, atomic replace); the mirror follows it:

- `push()`: uploads what is missing or different (by SHA-256; a file whose size and time are
  those of its last upload is not even hashed again, so an unchanged lake costs one `stat` per
  file), removes objects whose file is gone (a pulled lake must not bring back a retired raw
  file), creates missing buckets. Large files go as multipart uploads (the client splits them).
  An unreachable or refusing server stops the push: what was not uploaded is "behind" and the next
  push catches up; an object is either the whole new file or not there (S3 PUT and multipart
  completion are atomic). Landing files are mirrored once registered (listed in a raw registry),
  with the extractors' `_state_*` files.
- `pull()`: rebuilds an empty or partial lake from the buckets, each file written atomically with
  its recorded modification time, so the next run finds everything unchanged (a no-op).
- `verify()`: every local zone file against its object; the differences, listed.

`datalake storage push|pull|verify` runs them by hand; the runner pushes after every run. The
index of what was uploaded lives in `<lake>/_mirror/index.json` (outside the zones). Keys never
reach a log line or a report (registered secrets).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from datalake.paths import ZONES, Lake
from datalake.settings import SettingsError, choice_setting, secret, setting
from datalake.storage.atomic import atomic_path, atomic_write_json
from datalake.storage.registry import REGISTRY_NAME, sha256_file

log = logging.getLogger(__name__)
INDEX = Path("_mirror") / "index.json"
# derived and tied to this machine's folders (views over absolute paths): rebuilt, not mirrored
LOCAL_ONLY = frozenset({"curated/lake.duckdb"})
SHA_KEY, MTIME_KEY = "sha256", "mtime-ns"
_PASSING = {"InternalError", "SlowDown", "ServiceUnavailable", "RequestTimeout"}
_KEY_ERRORS = {
    "InvalidAccessKeyId": "MINIO_ACCESS_KEY",
    "SignatureDoesNotMatch": "MINIO_SECRET_KEY",
}


class MirrorUnavailable(RuntimeError):
    """The object store cannot be reached or refuses to work (not a key problem)."""


@dataclass(frozen=True)
class MirrorSettings:
    endpoint: str
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    secure: bool
    prefix: str

    @classmethod
    def read(cls) -> MirrorSettings:
        """`MINIO_*` from settings; SettingsError naming what is missing or wrong."""
        from datalake.logs import register_secret

        endpoint = setting("MINIO_ENDPOINT")
        access, secret_key = setting("MINIO_ACCESS_KEY"), secret("MINIO_SECRET_KEY")
        missing = [
            name
            for name, value in (
                ("MINIO_ENDPOINT", endpoint),
                ("MINIO_ACCESS_KEY", access),
                ("MINIO_SECRET_KEY", secret_key),
            )
            if not value
        ]
        if missing:
            raise SettingsError(f"DATALAKE_STORAGE=minio needs {', '.join(missing)}")
        if "://" in endpoint or "/" in endpoint:
            raise SettingsError(f"MINIO_ENDPOINT must be host:port, got {endpoint!r}")
        register_secret(access)
        register_secret(secret_key)
        host = endpoint.rsplit(":", 1)[0]
        local = host in ("localhost", "127.0.0.1", "::1", "[::1]")
        secure = choice_setting("MINIO_SECURE", "false" if local else "true", ("true", "false"))
        prefix = setting("MINIO_BUCKET_PREFIX") or ""
        return cls(endpoint, access, secret_key, secure == "true", prefix)

    def bucket(self, zone: str) -> str:
        return f"{self.prefix}{zone}"

    def client(self):
        import urllib3
        from minio import Minio

        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=5, read=120),
            retries=urllib3.Retry(total=2, backoff_factor=0.5, status_forcelist=(502, 503, 504)),
        )
        return Minio(
            self.endpoint, self.access_key, self.secret_key, secure=self.secure, http_client=http
        )


@dataclass
class PushResult:
    uploaded: int = 0
    removed: int = 0
    unchanged: int = 0
    behind: int = 0
    error: str = ""

    def as_record(self) -> dict:
        return asdict(self)


def _registered_landing(lake: Lake) -> set[str]:
    """Landing files (lake-relative) that some service's registry has seen."""
    found: set[str] = set()
    for registry in lake.zone("raw").glob(f"*/{REGISTRY_NAME}"):
        try:
            found |= set(json.loads(registry.read_text("utf-8")).get("seen", {}))
        except (OSError, ValueError):
            continue
    return found


def zone_files(lake: Lake) -> dict[str, Path]:
    """`zone/key` -> path of every file the mirror keeps (hidden and temp files never)."""
    registered = _registered_landing(lake)
    files: dict[str, Path] = {}
    for zone in ZONES:
        folder = lake.zone(zone)
        for path in sorted(folder.rglob("*")) if folder.is_dir() else ():
            relative = path.relative_to(folder)
            if not path.is_file() or any(part.startswith(".") for part in relative.parts):
                continue
            key = relative.as_posix()
            if f"{zone}/{key}" in LOCAL_ONLY:
                continue
            if zone == "landing" and f"landing/{key}" not in registered:
                if not path.name.startswith("_state_"):
                    continue  # not registered yet: an extractor may still be writing it
            files[f"{zone}/{key}"] = path
    return files


def _metadata(stat) -> dict:
    """User metadata of an object, keys lower-cased without `x-amz-meta-` (servers differ)."""
    found = {}
    for name, value in (stat.metadata or {}).items():
        lowered = name.lower()
        if lowered.startswith("x-amz-meta-"):
            found[lowered.removeprefix("x-amz-meta-")] = value
    return found


class Mirror:
    """The lake's zones and their buckets."""

    def __init__(self, lake: Lake, settings: MirrorSettings | None = None, client=None) -> None:
        self.lake, self.settings = lake, settings or MirrorSettings.read()
        self.client = client or self.settings.client()
        self.index_path = lake.root / INDEX
        self.index: dict[str, dict] = self._load_index()
        self._buckets: set[str] = set()

    # ---- errors ---------------------------------------------------------------------------

    def _call(self, action: str, function, *args, **kwargs):
        """A client call; key problems are SettingsError, anything else MirrorUnavailable. A
        server's passing trouble (`InternalError`, `SlowDown`: a store still starting) is
        retried a few times with backoff (tenacity) before it counts as an outage."""
        from minio.error import S3Error
        from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

        passing = lambda e: isinstance(e, S3Error) and e.code in _PASSING  # noqa: E731
        retrying = Retrying(
            stop=stop_after_attempt(4),
            wait=wait_exponential(multiplier=0.5, max=4),
            retry=retry_if_exception(passing),
            reraise=True,
        )
        try:
            return retrying(function, *args, **kwargs)
        except S3Error as error:
            if error.code in _KEY_ERRORS:
                raise SettingsError(
                    f"{_KEY_ERRORS[error.code]} refused by {self.settings.endpoint} ({error.code})"
                ) from None
            if error.code in ("NoSuchKey", "NoSuchBucket"):
                raise
            raise MirrorUnavailable(f"{action}: {error.code}: {error.message}") from None
        except (OSError, ValueError) as error:  # connection refused, reset, timeout
            text = str(error).split("\n")[0][:200]
            raise MirrorUnavailable(f"{action}: {type(error).__name__}: {text}") from None
        except Exception as error:  # urllib3's MaxRetryError and the like
            if type(error).__module__.startswith("urllib3"):
                text = str(error).split("\n")[0][:200]
                raise MirrorUnavailable(f"{action}: {type(error).__name__}: {text}") from None
            raise

    # ---- index ----------------------------------------------------------------------------

    @property
    def _target(self) -> str:
        return f"{self.settings.endpoint}/{self.settings.prefix}"

    def _load_index(self) -> dict:
        """What was uploaded to this store (another endpoint or prefix: nothing yet)."""
        try:
            saved = json.loads(self.index_path.read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return saved.get("files", {}) if saved.get("target") == self._target else {}

    def _save_index(self) -> None:
        self.index_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.index_path, {"target": self._target, "files": self.index})

    def _bucket(self, zone: str) -> str:
        bucket = self.settings.bucket(zone)
        if bucket not in self._buckets:
            if not self._call(f"bucket {bucket}", self.client.bucket_exists, bucket):
                self._call(f"create bucket {bucket}", self.client.make_bucket, bucket)
                log.info("created bucket %s", bucket)
            self._buckets.add(bucket)
        return bucket

    # ---- push -----------------------------------------------------------------------------

    def push(self) -> PushResult:
        """Upload what changed, remove what is gone; stops at the first outage (the rest is
        behind, and the next push catches up)."""
        result, files = PushResult(), zone_files(self.lake)
        # bookkeeping (registries, stage states, manifests: `_` names) goes up after the data
        # it describes, so a push cut short never leaves a state ahead of its tables
        pending = sorted(files.items(), key=lambda item: _is_bookkeeping(item[0]))
        gone = [  # only what is really gone: a file merely not registered (yet) stays
            name
            for name in self.index
            if name not in files and not (self.lake.root / name).exists()
        ]
        try:
            for zone in ZONES:  # a bucket lost or never made on this store: everything again
                bucket = self.settings.bucket(zone)
                if not self._call(f"bucket {bucket}", self.client.bucket_exists, bucket):
                    prefix = zone + "/"
                    self.index = {n: e for n, e in self.index.items() if not n.startswith(prefix)}
            for number, (name, path) in enumerate(pending):
                if self._push_one(name, path):
                    result.uploaded += 1
                else:
                    result.unchanged += 1
                if number % 50 == 49:
                    self._save_index()
            for name in gone:
                zone, key = name.split("/", 1)
                self._call(f"remove {name}", self.client.remove_object, self._bucket(zone), key)
                del self.index[name]
                result.removed += 1
        except MirrorUnavailable as error:
            done = result.uploaded + result.unchanged
            result.behind = len(pending) - done + len([g for g in gone if g in self.index])
            result.error = str(error)
            log.error("mirror behind: %d file(s): %s", result.behind, error)
        finally:
            self._save_index()
        if not result.behind:
            log.info(
                "mirror: %d uploaded, %d removed, %d unchanged",
                result.uploaded,
                result.removed,
                result.unchanged,
            )
        return result

    def _push_one(self, name: str, path: Path) -> bool:
        stat = path.stat()
        known = self.index.get(name)
        if known and known["size"] == stat.st_size and known["mtime_ns"] == stat.st_mtime_ns:
            return False
        sha = sha256_file(path)
        if known and known["sha256"] == sha:  # touched, same bytes
            self.index[name] = {**known, "mtime_ns": stat.st_mtime_ns}
            return False
        zone, key = name.split("/", 1)
        metadata = {SHA_KEY: sha, MTIME_KEY: str(stat.st_mtime_ns)}
        bucket = self._bucket(zone)
        self._call(
            f"upload {name}", self.client.fput_object, bucket, key, str(path), metadata=metadata
        )
        self.index[name] = {"sha256": sha, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
        return True

    # ---- pull and verify ------------------------------------------------------------------

    def objects(self) -> dict[str, dict]:
        """`zone/key` -> user metadata of every object in the zone buckets."""
        from minio.error import S3Error

        found = {}
        for zone in ZONES:
            bucket = self.settings.bucket(zone)
            if not self._call(f"bucket {bucket}", self.client.bucket_exists, bucket):
                continue
            listing = self._call(
                f"list {bucket}", lambda b=bucket: list(self.client.list_objects(b, recursive=True))
            )
            for item in listing:
                if item.is_dir:
                    continue
                try:
                    stat = self._call(
                        f"stat {item.object_name}",
                        self.client.stat_object,
                        bucket,
                        item.object_name,
                    )
                except S3Error:
                    continue
                found[f"{zone}/{item.object_name}"] = _metadata(stat)
        return found

    def pull(self, force: bool = False) -> tuple[int, list[str]]:
        """Download every object whose local file is missing (with `force`, also those whose
        local file differs: the buckets win); (files pulled, what was left and why)."""
        pulled, left = 0, []
        try:
            for name, meta in sorted(self.objects().items()):
                pulled += self._pull_one(name, meta, force, left)
        finally:
            self._save_index()
        return pulled, left

    def _pull_one(self, name: str, meta: dict, force: bool, left: list[str]) -> int:
        zone, key = name.split("/", 1)
        try:
            target = _inside(self.lake.zone(zone), key)
        except MirrorUnavailable as error:
            left.append(str(error))
            return 0
        sha = meta.get(SHA_KEY)
        if target.is_file():
            if sha and sha256_file(target) == sha:
                self._note(name, target, sha)
                return 0
            if not force:
                left.append(f"{name}: the local file differs (kept; --force takes the mirror's)")
                return 0
        with atomic_path(target) as temp:
            bucket = self.settings.bucket(zone)
            self._call(f"download {name}", self.client.fget_object, bucket, key, str(temp))
            got = sha256_file(temp)
            if sha and got != sha:
                raise MirrorUnavailable(f"download {name}: SHA-256 {got[:12]} != {sha[:12]}")
            if meta.get(MTIME_KEY, "").isdigit():
                ns = int(meta[MTIME_KEY])
                os.utime(temp, ns=(ns, ns))
        self._note(name, target, got)
        return 1

    def _note(self, name: str, path: Path, sha: str) -> None:
        stat = path.stat()
        self.index[name] = {"sha256": sha, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}

    def verify(self) -> list[str]:
        """Every difference between the local zone files and the objects."""
        local, remote = zone_files(self.lake), self.objects()
        problems = [f"missing in the mirror: {n}" for n in sorted(local.keys() - remote.keys())]
        problems += [f"only in the mirror: {n}" for n in sorted(remote.keys() - local.keys())]
        for name in sorted(local.keys() & remote.keys()):
            if remote[name].get(SHA_KEY) != sha256_file(local[name]):
                problems.append(f"differs: {name}")
        return problems


def _is_bookkeeping(name: str) -> bool:
    return any(part.startswith("_") for part in name.split("/"))


def _inside(folder: Path, key: str) -> Path:
    """The local path of an object key, refusing keys that would leave the zone folder."""
    parts = PurePosixPath(key).parts
    if not parts or key.startswith("/") or ".." in parts or any(":" in p for p in parts):
        raise MirrorUnavailable(f"object key {key!r} would leave the zone folder: not pulled")
    return folder.joinpath(*parts)


def mirror_enabled() -> bool:
    return choice_setting("DATALAKE_STORAGE", "local", ("local", "minio")) == "minio"


def _settings_error(error: SettingsError) -> int:
    sys.stderr.write(f"configuration error: {error}\n")
    return 2


def main(argv: list[str] | None = None, prog: str = "datalake storage") -> int:
    """`datalake storage push|pull|verify`."""
    from datalake.logs import setup_logging
    from datalake.settings import get_settings

    parser = argparse.ArgumentParser(prog=prog, description="The MinIO (S3) mirror of the zones.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("push", help="upload the zone files missing or different in the buckets")
    pull = commands.add_parser(
        "pull", help="rebuild an empty or partial local lake from the buckets"
    )
    pull.add_argument(
        "--force", action="store_true", help="also replace local files that differ from the mirror"
    )
    commands.add_parser(
        "verify", help="compare every zone file with its object (exit 1 if any differ)"
    )
    args = parser.parse_args(argv)
    setup_logging()
    from datalake.storage.locks import LakeLock, LakeLocked

    try:
        lake = Lake(get_settings().root)
        lake.ensure()
        mirror = Mirror(lake)
        lock = LakeLock(lake)
        lock.acquire(f"datalake storage {args.command}")  # never beside a run writing the zones
    except LakeLocked as error:
        sys.stderr.write(f"{error}\n")
        return 75
    except SettingsError as error:
        return _settings_error(error)
    try:
        if args.command == "push":
            result = mirror.push()
            if result.behind:
                sys.stderr.write(f"mirror behind: {result.behind} file(s): {result.error}\n")
                return 1
            done = f"{result.uploaded} uploaded, {result.removed} removed"
            sys.stdout.write(f"{done}, {result.unchanged} unchanged\n")
            return 0
        if args.command == "pull":
            pulled, left = mirror.pull(force=args.force)
            for reason in left:
                sys.stderr.write(f"not pulled: {reason}\n")
            sys.stdout.write(f"{pulled} file(s) pulled into {lake.root}\n")
            return 1 if left else 0
        problems = mirror.verify()
        for problem in problems:
            sys.stdout.write(problem + "\n")
        sys.stdout.write(f"{len(problems)} difference(s)\n")
        return 1 if problems else 0
    except SettingsError as error:  # keys refused by the store
        return _settings_error(error)
    except MirrorUnavailable as error:
        sys.stderr.write(f"mirror unavailable: {error}\n")
        return 1
    finally:
        lock.release()
