"""Secrets scan (issue 19): after the suite, no lake root the tests used holds a secret.

What is known (`known_secrets()`), by name (a value is never printed):

- the fakes' credentials and the personal data they serve: every parameter of a fake's
  constructor that is a password, token, key or secret, or a subscriber's, member's or account
  holder's e-mail, with its default, and the module constants behind them (`DEFAULT_PASSWORD`,
  Linktree's subscriber and holder addresses, Mailchimp's member e-mails and API key, the
  TikTok accounts' passwords, the S3 server's keys). A login's own e-mail is not a secret
  (DESIGN.md: a setting; the login page a debug capture saves shows it again);
- what each fake instance held at the end (`install()` records every instance: its password,
  access token, API key, client secret, refresh and access tokens, subscribers, accounts...);
- what the fakes generate at random (session cookies, pending-login cookies, OAuth refresh and
  access tokens, authorization codes): `install()` gives the fakes' modules a `secrets` that
  records every token it hands out (the fakes behave exactly the same);
- the credentials the tests configure: string literals given to a password, token, key or
  secret name (or to subscribers', members' or a holder's e-mails) in `tests/*.py`
  (assignments, keyword arguments, dict entries, `setenv` calls), and every such value set
  through `monkeypatch.setenv` while the suite ran.

Each value is looked for as UTF-8 and in the forms it takes on the way (JSON `\\u` escapes, URL
and HTML encoding, Latin-1, lower case for e-mails, inside base64 such as an HTTP Basic header),
in every file of every lake root under pytest's base temp directory (a folder holding `landing/`,
`raw/`, `staging/`, `curated/`, `archive/` or `_runs/`), text or binary, gzip files decompressed,
ZIP members (TikTok exports, XLSX) and Parquet string columns decoded. Only `.env` files and the
session folders (`PLAYWRIGHT_SESSION_DIR`: `sessions/`, `.sessions/` or a folder a test set it to),
where DESIGN.md allows cookies and tokens, are left out, as is a fake S3 server's own folder
(its identity file holds its keys). OTP codes (6 digits) and values under 6 characters are not
looked for: they would match numbers and words in data.

`SECRETS_SCAN_LIST=1` also lists the names of the secrets looked for.
`tests/conftest.py` calls `install()` when pytest starts and `finish()` at session finish, first
(before pytest's own temp-dir cleanup): it prints one summary line and, if anything is found,
fails the session listing each file and the name of the secret it holds.
"""

from __future__ import annotations

import ast
import base64
import gzip
import html
import inspect
import json
import os
import re
import sys
import time
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, quote_plus

TESTS = Path(__file__).resolve().parent
ZONE_DIRS = ("landing", "raw", "staging", "curated", "archive", "_runs")
SESSION_DIRS = {"sessions", ".sessions"}
MIN_LENGTH = 6
_SECRET_NAME = re.compile(
    r"(?i)(pass(word|wd)?|secret|token|api_?key|access_?key|cookie|_pw$)|(?-i:(^|_)KEY$)"
)
# Personal e-mails are what the fakes serve as data (subscribers, members, the account holder);
# a login's own e-mail is a setting, not a secret (DESIGN.md): a login page shows it again.
_EMAIL_NAME = re.compile(r"(?i)(subscriber|member|holder|e_?mails$)")
_NOT_SECRET_NAME = re.compile(
    r"(?i)(url|uri|path|file|dir|param|name|count|ttl|seconds|type|kind|pattern|regex|_re$|"
    r"prefix|suffix|header|field|hint|message|marker|page|scope|length|size|len$|limit)"
)
_WORD = re.compile(r"[a-z][a-z0-9_]*|[A-Z][A-Z0-9_]*")  # a column or constant name, no secret
_EMAIL = re.compile(r"[^@\s\"'<>]+@[^@\s\"'<>]+\.[a-z]{2,}")
_FAKE_MODULES = (
    "distributor_sites",
    "linktree_site",
    "spotify_artists_site",
    "tiktok_studio_site",
    "graph_api",
    "google_apis",
    "mailchimp_api",
    "s3_server",
)
_FAKE_CLASSES = {  # module -> classes whose instances are recorded
    "distributor_sites": ("FakeSite",),
    "graph_api": ("FakeGraphAPI",),
    "google_apis": ("FakeGoogleAPIs",),
    "mailchimp_api": ("FakeMailchimpAPI",),
    "s3_server": ("S3Server",),
}
_INSTANCE_ATTRS = (  # attribute -> what it is, read from every recorded fake at the end
    ("password", "password"),
    ("access_token", "access token"),
    ("api_key", "API key"),
    ("client_secret", "OAuth client secret"),
    ("refresh_token", "OAuth refresh token"),
    ("access_key", "S3 access key"),
    ("secret_key", "S3 secret key"),
    ("email_of_holder", "account holder's e-mail"),
    ("email", "login e-mail"),
    ("subscriber_emails", "subscriber e-mail"),
)
_RANDOM_KINDS = {  # the fake function that drew a random token -> what the token is
    "_open_session": "session cookie",
    "_after_password": "pending-login cookie",
    "_new_refresh_token": "OAuth refresh token",
    "_new_access_token": "OAuth access token",
    "_authorize": "OAuth authorization code",
}

_recorded: list[tuple[str, str]] = []  # (name, value) recorded while the suite ran
_instances: list[object] = []  # every fake built while the suite ran
_session_dirs: set[Path] = set()  # PLAYWRIGHT_SESSION_DIR values set through monkeypatch
_installed = False


# ---- recording what the fakes and the tests hand out ---------------------------------------


class _RecordingSecrets:
    """The `secrets` module as a fake module sees it: the same functions, but every token
    handed out is recorded (named after the fake function that asked for it)."""

    def __init__(self, module_name: str) -> None:
        import secrets

        self._real, self._module = secrets, module_name

    def __getattr__(self, name: str):
        return getattr(self._real, name)

    def _record(self, value: str) -> str:
        caller = sys._getframe(2).f_code.co_name
        kind = _RANDOM_KINDS.get(caller, f"random token ({caller})")
        _recorded.append((f"{self._module}: {kind} (random)", value))
        return value

    def token_urlsafe(self, nbytes: int | None = None) -> str:
        return self._record(self._real.token_urlsafe(nbytes))

    def token_hex(self, nbytes: int | None = None) -> str:
        return self._record(self._real.token_hex(nbytes))


def _record_instances(cls) -> None:
    original = cls.__init__

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if not any(seen is self for seen in _instances):  # a subclass calls the base too
            _instances.append(self)

    __init__.__wrapped__ = original
    cls.__init__ = __init__


def install() -> None:
    """Start recording (idempotent): fake instances, the fakes' random tokens, and the
    secret-looking values the tests set through `monkeypatch.setenv`. Nothing the fakes or the
    tests do changes."""
    global _installed
    if _installed:
        return
    _installed = True
    import importlib

    import pytest

    for name in _FAKE_MODULES:
        module = importlib.import_module(f"tests.fakes.{name}")
        if hasattr(module, "secrets"):
            module.secrets = _RecordingSecrets(name)
        for class_name in _FAKE_CLASSES.get(name, ()):
            _record_instances(getattr(module, class_name))
    setenv = pytest.MonkeyPatch.setenv

    def recording_setenv(self, name, value, prepend=None):
        _note_setting(str(name), str(value), "monkeypatch.setenv")
        return setenv(self, name, value, prepend)

    pytest.MonkeyPatch.setenv = recording_setenv


def _note_setting(name: str, value: str, where: str) -> None:
    if name == "PLAYWRIGHT_SESSION_DIR":
        _session_dirs.add(Path(value))
    elif _is_secret_name(name) or (_EMAIL_NAME.search(name) and "@" in value):
        _recorded.append((f"setting {name} ({where})", value))


def _is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name)) and not _NOT_SECRET_NAME.search(name)


# ---- what is known -------------------------------------------------------------------------


def _fake_defaults() -> Iterator[tuple[str, str]]:
    """The fakes' constructor defaults and module constants that are credentials or e-mails."""
    import importlib

    for module_name in _FAKE_MODULES:
        module = importlib.import_module(f"tests.fakes.{module_name}")
        for const, value in vars(module).items():
            if not const.isupper():
                continue
            for item in value if isinstance(value, list | tuple) else [value]:
                if not isinstance(item, str):
                    continue
                if _is_secret_name(const) or (_EMAIL_NAME.search(const) and _EMAIL.fullmatch(item)):
                    yield f"{module_name}.{const}", item
        for cls in vars(module).values():
            if not inspect.isclass(cls) or cls.__module__ != module.__name__:
                continue
            init = getattr(cls.__init__, "__wrapped__", cls.__init__)
            try:
                parameters = inspect.signature(init).parameters.values()
            except (TypeError, ValueError):
                continue
            for p in parameters:
                wanted = _is_secret_name(p.name) or _EMAIL_NAME.search(p.name)
                if wanted and isinstance(p.default, str):
                    yield f"{module_name}.{cls.__name__}({p.name}=...) default", p.default
        for account in getattr(module, "DEFAULT_ACCOUNTS", ()):  # TikTok's creators
            yield f"{module_name}: account {account.handle} password", account.password


def _instance_secrets() -> Iterator[tuple[str, str]]:
    for fake in _instances:
        kind = type(fake).__name__
        for attr, what in _INSTANCE_ATTRS:
            value = getattr(fake, attr, None)
            for item in value if isinstance(value, list | tuple) else [value]:
                if isinstance(item, str):
                    yield f"{kind} {what}", item
        for account in (getattr(fake, "accounts", None) or {}).values():
            if hasattr(account, "password"):
                yield f"{kind} account {account.handle} password", account.password
        for attr, what in (
            ("_sessions", "session cookie"),
            ("_pending_logins", "pending-login cookie"),
            ("_refresh", "OAuth refresh token"),
            ("_access", "OAuth access token"),
            ("_codes", "OAuth authorization code"),
            ("_session_handles", "session cookie"),
            ("_pending_handles", "pending-login cookie"),
        ):
            for token in getattr(fake, attr, None) or ():
                if isinstance(token, str):
                    yield f"{kind} {what}", token


def _literal(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _named(name: str, node, where: str) -> Iterator[tuple[str, str]]:
    """Values given to `name`: a string, or the strings of a list, tuple or set."""
    values = [node] if _literal(node) is not None else []
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        values = node.elts
    for item in values:
        value = _literal(item)
        if value is None:
            continue
        if _is_secret_name(name) or (_EMAIL_NAME.search(name) and _EMAIL.fullmatch(value)):
            yield f"{where} {name}", value


def literals_in_tests(folder: Path = TESTS) -> Iterator[tuple[str, str]]:
    """String literals the tests give to a password, token, key, secret or e-mail name."""
    for path in sorted(folder.glob("*.py")):
        if path.name == Path(__file__).name:  # this module names kinds of secrets, holds none
            continue
        try:
            tree = ast.parse(path.read_text("utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            where = f"{path.name}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name) and node.value is not None:
                        yield from _named(target.id, node.value, where)
                    elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                        for name, value in zip(target.elts, node.value.elts, strict=False):
                            if isinstance(name, ast.Name):
                                yield from _named(name.id, value, where)
            elif isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg:
                        yield from _named(keyword.arg, keyword.value, where)
                func = getattr(node.func, "attr", getattr(node.func, "id", ""))
                if func == "setenv" and len(node.args) >= 2 and _literal(node.args[0]):
                    yield from _named(_literal(node.args[0]), node.args[1], where)
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if key is not None and _literal(key):
                        yield from _named(_literal(key), value, where)


def known_secrets(extra: Iterable[tuple[str, str]] = ()) -> dict[str, str]:
    """{value: name} of every secret known now (the first name a value was known by)."""
    known: dict[str, str] = {}
    sources = (_fake_defaults(), literals_in_tests(), list(_recorded), _instance_secrets(), extra)
    for source in sources:
        for name, value in source:
            value = value.strip()
            if len(value) < MIN_LENGTH or value.isdigit() or "{" in value or _WORD.fullmatch(value):
                continue
            known.setdefault(value, name)
    return known


def forms(value: str) -> dict[bytes, str]:
    """The byte strings `value` may take in a file: {bytes: how it was written}."""
    found = {value.encode(): "as is"}
    variants = [
        (json.dumps(value)[1:-1], "JSON-escaped"),
        (quote(value, safe=""), "URL-encoded"),
        (quote_plus(value, safe=""), "URL-encoded"),
        (html.escape(value), "HTML-escaped"),
    ]
    if "@" in value:
        variants.append((value.lower(), "lower case"))
    for text, how in variants:
        found.setdefault(text.encode(), how)
    try:
        found.setdefault(value.encode("latin-1"), "Latin-1")
    except UnicodeEncodeError:
        pass
    raw = value.encode()
    if len(raw) >= 12:  # inside base64 (an HTTP Basic header): the part fixed by the value
        for shift in range(3):
            text = base64.b64encode(b"\0" * shift + raw + b"\0\0")
            first, last = -(-shift // 3) * 4, (shift + len(raw)) // 3 * 4
            part = text[first:last]
            if len(part) >= 12:
                found.setdefault(part, "in base64")
                found.setdefault(part.replace(b"+", b"-").replace(b"/", b"_"), "in base64url")
    return {form: how for form, how in found.items() if len(form) >= MIN_LENGTH}


# ---- the scan ------------------------------------------------------------------------------


class Matcher:
    """Finds which of many byte strings occur in data, at a few nanoseconds a byte whatever
    their number. The data is read as 32-bit words; each 8-byte window starting at a multiple
    of 4 is hashed (numpy) and looked up in a bit table of the hashes of every pattern's 8-byte
    pieces at offsets 0 to 3 (any occurrence of a pattern of 11 bytes or more covers such a
    window with one of them); a hit is then compared exactly. Shorter ones: `bytes.find`."""

    BITS, STEP, WIDE = 20, 4, 8
    _MUL1, _MUL2 = 0x9E3779B1, 0x85EBCA77

    def __init__(self, patterns: Iterable[bytes]) -> None:
        import numpy as np

        self.np = np
        patterns = set(patterns)
        shortest = self.WIDE + self.STEP - 1
        self.short = sorted(p for p in patterns if len(p) < shortest)
        self.longest = max((len(p) for p in patterns), default=self.WIDE)
        self.table = np.zeros(1 << self.BITS, dtype=bool)
        self.pieces: dict[bytes, list[tuple[bytes, int]]] = {}
        for pattern in (p for p in patterns if len(p) >= shortest):
            for offset in range(self.STEP):
                piece = pattern[offset : offset + self.WIDE]
                self.pieces.setdefault(piece, []).append((pattern, offset))
        if self.pieces:
            words = np.frombuffer(b"".join(self.pieces), dtype="<u4")
            self.table[self._hash(words[0::2], words[1::2])] = True

    def _hash(self, first, second):
        np = self.np
        mixed = first * np.uint32(self._MUL1)
        mixed ^= second * np.uint32(self._MUL2)
        return mixed >> np.uint32(32 - self.BITS)

    def find(self, data: bytes) -> set[bytes]:
        found = {p for p in self.short if p in data}
        if not self.pieces or len(data) < self.WIDE:
            return found
        np = self.np
        padded = data + bytes(-len(data) % self.STEP + self.STEP)
        words = np.frombuffer(padded, dtype="<u4")
        hits = np.flatnonzero(self.table[self._hash(words[:-1], words[1:])])
        for at in (int(i) * self.STEP for i in hits):
            for pattern, offset in self.pieces.get(padded[at : at + self.WIDE], ()):
                if at >= offset and data.startswith(pattern, at - offset):
                    found.add(pattern)
        return found


@dataclass
class Finding:
    path: Path
    secret: str  # its name, never its value
    how: str


@dataclass
class Report:
    roots: int = 0
    files: int = 0
    bytes: int = 0
    secrets: int = 0
    forms: int = 0
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)

    def summary(self) -> str:
        state = f"FOUND {len(self.findings)}" if self.findings else "clean"
        return (
            f"secrets scan: {self.roots} lake root(s), {self.files} file(s), "
            f"{self.bytes / 1e6:.1f} MB, {self.secrets} secrets known ({self.forms} forms), "
            f"{self.seconds:.1f} s: {state}"
        )


def is_env_file(name: str) -> bool:
    return name == ".env" or name.endswith(".env") or name.startswith(".env.")


def lake_roots(base: Path, skip: Iterable[Path] = ()) -> list[Path]:
    """Folders under `base` holding a zone folder (`landing/`, ..., `_runs/`): the outermost
    ones (a lake root's own files are scanned whole). Session folders and `skip` are left out."""
    skip = {Path(p).resolve() for p in skip}
    roots = []
    for dirpath, dirnames, _files in os.walk(base):
        here = Path(dirpath)
        if here.resolve() in skip:
            dirnames[:] = []
            continue
        if any(d in ZONE_DIRS for d in dirnames):
            roots.append(here)
            dirnames[:] = []  # scanned whole
            continue
        dirnames[:] = [d for d in dirnames if d not in SESSION_DIRS]
    return sorted(roots)


def files_of(root: Path, sessions: Iterable[Path] = ()) -> Iterator[Path]:
    """Every file of a lake root but `.env` files and session folders (and `sessions`)."""
    excluded = {Path(p).resolve() for p in sessions}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [
            d
            for d in dirnames
            if d not in SESSION_DIRS and (Path(dirpath) / d).resolve() not in excluded
        ]
        for name in filenames:
            path = Path(dirpath) / name
            if not is_env_file(name) and not path.is_symlink():
                yield path


BLOCK = 32 << 20  # big files and decompressed streams are scanned in blocks of this size


def _blocks(stream, overlap: int) -> Iterator[bytes]:
    """A stream's bytes in blocks that overlap by `overlap` (a match across a boundary)."""
    tail = b""
    while chunk := stream.read(BLOCK):
        yield tail + chunk
        tail = chunk[-overlap:] if overlap else b""


def _contents(path: Path, overlap: int) -> Iterator[tuple[str, bytes]]:
    """(label, bytes) of what a file holds: its bytes, and decoded: gzip, ZIP members,
    Parquet string values. Big files come in overlapping blocks."""
    with open(path, "rb") as handle:
        head = handle.read(4)
        handle.seek(0)
        for block in _blocks(handle, overlap):
            yield "", block
    if head[:2] == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as stream:
                for block in _blocks(stream, overlap):
                    yield " (gunzipped)", block
        except (OSError, EOFError, ValueError, zlib.error):
            pass
    elif head == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(path) as archive:
                for member in archive.infolist()[:1000]:
                    with archive.open(member) as stream:
                        for block in _blocks(stream, overlap):
                            yield f" (zip member {member.filename})", block
        except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, NotImplementedError):
            pass
    elif head == b"PAR1" and path.stat().st_size < 4 * BLOCK:
        text = _parquet_strings(path)
        if text:
            yield " (Parquet values)", text


def _parquet_strings(path: Path) -> bytes:
    """The string and binary values of a Parquet file (a dictionary column: its distinct
    values), their bytes one after another: compressed pages can hide a value from a byte
    scan."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq

        texts = (pa.types.is_string, pa.types.is_binary, pa.types.is_large_string)
        texts += (pa.types.is_large_binary,)
        names = []
        for item in pq.read_schema(path):
            kind = item.type.value_type if pa.types.is_dictionary(item.type) else item.type
            if any(test(kind) for test in texts):
                names.append(item.name)
        if not names:
            return b""
        table = pq.read_table(path, columns=names)
    except Exception:  # not readable: the byte scan is all there is
        return b""
    import numpy as np

    parts = []
    for column in table.columns:
        for chunk in column.chunks:
            if pa.types.is_dictionary(chunk.type):
                chunk = chunk.dictionary
            kind = chunk.type
            if pa.types.is_string(kind) or pa.types.is_binary(kind):
                width = np.int32
            elif pa.types.is_large_string(kind) or pa.types.is_large_binary(kind):
                width = np.int64
            else:
                continue
            _validity, offsets, data = chunk.buffers()[:3]
            if not len(chunk) or data is None:
                continue
            ends = np.frombuffer(offsets, dtype=width)[chunk.offset : chunk.offset + len(chunk) + 1]
            parts.append(data.to_pybytes()[int(ends[0]) : int(ends[-1])])
    return b"\n".join(p for p in parts if p)


def scan(
    roots: Iterable[Path],
    secrets: dict[str, str],
    sessions: Iterable[Path] = (),
    relative_to: Path | None = None,
) -> Report:
    """Look for every form of every secret ({value: name}) in every file of the roots."""
    started = time.perf_counter()
    by_form: dict[bytes, tuple[str, str]] = {}
    for value, name in secrets.items():
        for form, how in forms(value).items():
            by_form.setdefault(form, (name, how))
    matcher = Matcher(by_form)
    report = Report(secrets=len(secrets), forms=len(by_form))
    sessions = list(sessions)
    for root in roots:
        report.roots += 1
        for path in files_of(root, sessions):
            try:
                report.bytes += path.stat().st_size
                shown = path.relative_to(relative_to) if relative_to else path
                seen: set[str] = set()
                for label, content in _contents(path, matcher.longest - 1):
                    for form in matcher.find(content):
                        name, how = by_form[form]
                        if name not in seen:
                            seen.add(name)
                            report.findings.append(Finding(Path(f"{shown}{label}"), name, how))
            except OSError:  # gone or unreadable: nothing a test left there to scan
                continue
            report.files += 1
    report.seconds = time.perf_counter() - started
    return report


# ---- the session hook ----------------------------------------------------------------------


def finish(session) -> Report | None:
    """The scan at the end of a pytest session: every lake root under the base temp directory;
    a finding fails the session (exit status 1) naming the file and the secret."""
    factory = getattr(session.config, "_tmp_path_factory", None)
    base = getattr(factory, "_basetemp", None)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")

    def say(line: str, **markup) -> None:
        if reporter is not None:
            reporter.write_line(line, **markup)
        else:
            sys.stderr.write(line + "\n")

    if getattr(getattr(reporter, "_tw", None), "width_of_current_line", 0):
        reporter.write("\n")  # after the progress dots
    if base is None or not Path(base).is_dir():
        say("secrets scan: no temp directory was used")
        return None
    policy = getattr(factory, "_retention_policy", "all")
    skip = [Path(s.root) for s in _instances if type(s).__name__ == "S3Server"]
    roots = lake_roots(Path(base), skip)
    known = known_secrets()
    report = scan(roots, known, _session_dirs, relative_to=Path(base))
    say(report.summary(), red=bool(report.findings), green=not report.findings)
    if os.environ.get("SECRETS_SCAN_LIST"):  # which secrets were looked for (names only)
        for name in sorted(known.values()):
            say(f"  known: {name}")
    if policy != "all":
        say(f"secrets scan: tmp_path_retention_policy={policy}: removed tmp paths not scanned")
    for finding in report.findings:
        say(f"  {finding.path}: holds {finding.secret} ({finding.how})", red=True)
    if report.findings:
        import pytest

        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    return report
