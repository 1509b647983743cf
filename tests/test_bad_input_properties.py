"""Property tests of every service's landing parsers, in-process (Hypothesis).

For every landing format a service declares (one bundled sample each), arbitrary mutations of
the sample (bytes flipped, inserted, deleted, repeated, cut; a JSON value or a CSV cell replaced
by an arbitrary one; the CSV inside a ZIP mutated) and arbitrary bytes and text go through the
service's own landing2raw body (`ingest_landing` with its formats, rejects and ignores). Each
either becomes a raw file that meets the service's raw schema (and is standard JSON or CSV), or
is quarantined with a short one-line reason (or recognised and ignored); nothing raises.

Stricter: a quarantined file's reason comes from the lake's own error types (Rejected,
SchemaError, ArrowInvalid, and the errors `problems.describe` puts into words), never from an
unexpected exception caught as a last resort ("could not read as X: TypeError: ..."). Errors of
the known bugs (test_bad_input_generated.KNOWN_BUGS, strict xfail there) are recognised by
their signature and tolerated here, whichever examples show them; any other fails the test.

Examples are derandomized (the same every run) and few in default mode; soak mode
(`DATALAKE_SOAK=1`) runs many more.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import re
import zipfile
from pathlib import Path
from unittest import mock

import pytest
import tally
from badinput import (
    SAMPLES,
    SERVICES,
    _eol,
    _field_spans,
    _split,
    _zipped,
    embedded_span,
    format_samples,
    landing_body,
    leaves,
    put,
    raw_rows,
)
from conftest import make_ctx
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from soak import SOAK, scaled

import datalake.stages.landing2raw as landing2raw_module
import datalake.stages.recognise as recognise_module
from datalake.paths import Lake
from datalake.problems import MAX_REASON, Rejected
from datalake.storage.registry import DISCARDED, IGNORED, PROCESSED, QUARANTINED, Registry

EXAMPLES = scaled(10, 300)
SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    phases=list(Phase) if SOAK else [Phase.explicit, Phase.generate],  # soak: shrink failures
)


# The signatures of known bugs: (bug in KNOWN_BUGS, services, error type, regex on the reason
# or the error). Remove one with its bug: the test then fails while the bug is still there.
SIGNATURES: tuple = ()  # none known today


def known_bug(service: str, error: BaseException, text: str) -> str | None:
    """The known bug an error (and the reason it gave, or its message) is the signature of."""
    for bug, services, types, pattern in SIGNATURES:
        if service in services and type(error).__name__ in types and re.search(pattern, text):
            return bug
    return None


EXPLAINED = {  # the error types whose message (or `describe`) already says what is wrong
    "Rejected",
    "SchemaError",
    "ArrowInvalid",
    "RecursionError",
    "UnicodeDecodeError",
    "BadZipFile",
    "EOFError",
    "MemoryError",
}


def _explained(error: BaseException) -> bool:
    if type(error).__name__ == "Error" and type(error).__module__ == "_csv":
        return "field limit" in str(error)  # the one csv error describe() explains
    return type(error).__name__ in EXPLAINED


# --- what a service makes of one landing file ---------------------------------------------------


def _raw_schema_problems(service: str, dataset: str, path: Path) -> str | None:
    """What is wrong with a raw file against the service's raw schema (None: it meets it)."""
    from datalake.tables.documents import check_records
    from datalake.tables.io import read_csv_text, read_header
    from datalake.tables.schemas import Column, SchemaError, load_schema, schema_file

    try:
        rows = raw_rows(path)  # standard JSON / CSV, whatever the schema
        if path.suffix == ".ndjson":
            check_records(rows, schema_file(service, f"raw_{dataset}"))
            return None
        header = read_header(path)
        name = {
            ("distrokid", "bank_details"): f"raw_bank_details_{len(header)}",
            ("toolost", "sales"): "raw_sales_report",
        }.get((service, dataset), f"raw_{dataset}")
        schema = load_schema(service, name)
        if (service, dataset) == ("toolost", "sales"):
            payable = Column("payable_amount", "money", nullable=False)
            schema = schema.for_header(header, (), payable_amount=payable)
        schema.check(read_csv_text(path))
    except (Rejected, SchemaError, ValueError, csv.Error) as error:
        return f"{type(error).__name__}: {error}"
    return None


class Ingest:
    """Each example is a new landing file read by the service's own body, in a lake shared by
    PER_LAKE examples (a run's registry is rewritten after every file: kept small)."""

    PER_LAKE = 25

    def __init__(self, base: Path, service: str) -> None:
        self.base, self.service, self.count = base, service, itertools.count()
        self.known: list[str] = []  # the known bugs examples showed
        self.verdicts: dict[bytes, BaseException | None] = {}
        self.root = base

    def _next_file(self, name: str) -> str:
        number = next(self.count)
        self.root = self.base / f"lake{number // self.PER_LAKE}"
        Lake(self.root).ensure()
        return f"hyp/{number:05d}-{name}"

    def __call__(self, name: str, data: bytes) -> None:
        """Read `data` as a new landing file; raise what is wrong. The same bytes again (as
        Hypothesis replays a failing example) give the same answer, not "already seen"."""
        if data not in self.verdicts:
            try:
                self.verdicts[data] = self._verdict(name, data)
            except Exception as error:  # a crash: ingest_landing let it escape
                self.verdicts[data] = error
        if self.verdicts[data] is not None:
            raise self.verdicts[data]

    def _verdict(self, name: str, data: bytes) -> AssertionError | None:
        rel = self._next_file(name)
        path = self.root / "landing" / self.service / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        caught: list[BaseException] = []

        def recording(describe):
            def wrapper(error):
                caught.append(error)
                return describe(error)

            return wrapper

        with (
            mock.patch.object(os, "fsync", lambda _fd: None),  # durability is not tested here
            mock.patch.object(
                landing2raw_module, "describe", recording(landing2raw_module.describe)
            ),
            mock.patch.object(recognise_module, "describe", recording(recognise_module.describe)),
        ):
            try:
                code = landing_body(self.service)(make_ctx(self.root, self.service, "landing2raw"))
            except Exception as error:
                bug = known_bug(self.service, error, str(error))
                if not bug:
                    raise
                self.known.append(bug)
                path.unlink()  # never recorded: it would stop every later example too
                return None
        if code not in (0, 5):
            return AssertionError(f"{rel}: landing2raw exited {code}")
        registry = Registry.for_service(self.root / "raw" / self.service)
        seen = registry.seen.get(f"landing/{self.service}/{rel}")
        if seen is None:  # discarded: personal data, deleted from landing
            return None if not path.exists() else AssertionError(f"{rel}: never read")
        entry = registry.entry(seen["sha256"])
        status = entry["status"]
        if status == PROCESSED:
            (output,) = entry["outputs"]
            problem = _raw_schema_problems(self.service, entry["dataset"], self.root / output)
            if problem:
                problem = f"{rel}: raw file does not meet its schema: {problem}"
                bug = known_bug(self.service, Rejected(problem), problem)
                if not bug:
                    return AssertionError(problem)
                self.known.append(bug)
        elif status == QUARANTINED:
            reason = entry["reason"]
            if not reason.strip() or len(reason) > MAX_REASON or "\n" in reason:
                return AssertionError(f"{rel}: not a one-line reason of <= MAX_REASON: {reason!r}")
            for error in (e for e in caught if not _explained(e)):
                bug = known_bug(self.service, error, reason)
                if not bug:
                    return AssertionError(
                        f"{rel}: quarantined for an unexpected {error!r}: {reason}"
                    )
                self.known.append(bug)
        elif status not in (IGNORED, DISCARDED):
            return AssertionError(f"{rel}: {entry}")
        return None


# --- strategies -----------------------------------------------------------------------------------

STRUCTURAL = list(b'",;\t\r\n{}[]:\\0-.eE x\xef\xbb\xbf\x00')


def _apply(data: bytes, ops) -> bytes:
    for op, where, arg in ops:
        at = where % (len(data) + 1)
        if op == "set" and data:
            at = min(at, len(data) - 1)
            data = data[:at] + bytes([arg]) + data[at + 1 :]
        elif op == "insert":
            data = data[:at] + arg + data[at:]
        elif op == "delete":
            data = data[:at] + data[at + arg :]
        elif op == "repeat":
            data = data[:at] + data[at : at + arg] + data[at:]
        elif op == "cut":
            data = data[:at]
    return data


def byte_mutations(data: bytes):
    """A sample with up to four byte-level edits (structural characters favoured)."""
    where = st.integers(0, max(len(data), 1))
    op = st.one_of(
        st.tuples(st.just("set"), where, st.integers(0, 255)),
        st.tuples(st.just("set"), where, st.sampled_from(STRUCTURAL)),
        st.tuples(st.just("insert"), where, st.binary(min_size=1, max_size=8)),
        st.tuples(st.just("delete"), where, st.integers(1, 64)),
        st.tuples(st.just("repeat"), where, st.integers(1, 64)),
        st.tuples(st.just("cut"), where, st.none()),
    )
    return st.lists(op, min_size=1, max_size=4).map(lambda ops: _apply(data, ops))


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _json_paths(document) -> list[tuple]:
    """Where a document's values are: every leaf of its first items, and its containers."""
    paths = [p for p, _ in leaves(document)]
    return sorted({p[:i] for p in paths for i in range(1, len(p) + 1)}, key=lambda p: (len(p), p))


def json_mutations(data: bytes):
    """A JSON sample with one value (a leaf or a container) replaced by an arbitrary one."""
    document = json.loads(data)
    paths = _json_paths(document)

    def replaced(args) -> bytes:
        index, value = args
        changed = json.loads(data)
        put(changed, paths[index % len(paths)], value)
        return json.dumps(changed, allow_nan=True).encode()

    return st.tuples(st.integers(0, len(paths) - 1), JSON_VALUES).map(replaced)


def page_mutations(data: bytes):
    """A saved page whose embedded JSON has one value replaced by an arbitrary one."""
    text = data.decode("utf-8")
    start, end, value = embedded_span(text)
    inner = json.dumps(value).encode()
    return json_mutations(inner).map(
        lambda new: (text[:start] + new.decode() + text[end:]).encode()
    )


def csv_mutations(data: bytes):
    """A CSV export with one cell replaced by arbitrary text (quoted as the file quotes)."""
    bom = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
    lines, eol = _split(data[len(bom) :])
    delimiter = b"\t" if b"\t" in lines[0] else b","
    encoding = "utf-8" if delimiter == b"," or bom else "latin-1"

    def replaced(args) -> bytes:
        number, column, text = args
        number %= len(lines)
        line = lines[number]
        spans = _field_spans(line, delimiter, delimiter == b",")
        a, b = spans[column % len(spans)]
        value = text.encode(encoding, errors="replace")
        if delimiter == b"," and any(c in value for c in b'",\r\n'):
            value = b'"' + value.replace(b'"', b'""') + b'"'
        changed = [*lines[:number], line[:a] + value + line[b:], *lines[number + 1 :]]
        return bom + eol.join(changed) + eol

    return st.tuples(st.integers(0, 10**6), st.integers(0, 100), st.text(max_size=30)).map(replaced)


def zip_mutations(data: bytes):
    """A ZIP export whose CSV has been mutated (bytes or one cell), zipped again."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        member = archive.namelist()[0]
        inner = archive.read(member)
    return st.one_of(byte_mutations(inner), csv_mutations(inner)).map(
        lambda csv_bytes: _zipped({member: csv_bytes})
    )


def structured(sample: Path):
    data = sample.read_bytes()
    return {
        ".json": json_mutations,
        ".csv": csv_mutations,
        ".tsv": csv_mutations,
        ".html": page_mutations,
        ".zip": zip_mutations,
    }[sample.suffix](data)


# --- the properties ---------------------------------------------------------------------------

SAMPLED = [(s, p) for s in SERVICES for p in format_samples(s)]


def test_the_signatures_are_of_known_bugs():
    from test_bad_input_generated import KNOWN_BUGS

    assert {bug for bug, *_ in SIGNATURES} <= set(KNOWN_BUGS)


@pytest.mark.parametrize(("service", "sample"), SAMPLED, ids=[f"{s}-{p.name}" for s, p in SAMPLED])
def test_mutated_samples_become_valid_raw_files_or_are_quarantined(tmp_path, service, sample):
    ingest = Ingest(tmp_path, service)

    @SETTINGS
    @given(data=st.one_of(byte_mutations(sample.read_bytes()), structured(sample)))
    def check(data: bytes) -> None:
        ingest(sample.name, data)
        tally.count("bad input")  # raw that meets its schema, or a one-line reason: checked

    check()


@pytest.mark.parametrize("service", SERVICES)
def test_arbitrary_bytes_and_text_are_quarantined_or_valid(tmp_path, service):
    ingest = Ingest(tmp_path, service)
    name = format_samples(service)[0].name  # a name that says what the service reads from it
    text = st.text().map(lambda t: t.encode("utf-8", errors="surrogatepass"))
    bom = st.text().map(lambda t: b"\xef\xbb\xbf" + t.encode("utf-8", errors="surrogatepass"))
    json_text = JSON_VALUES.map(lambda v: json.dumps(v).encode())

    @SETTINGS
    @given(data=st.one_of(st.binary(), text, bom, json_text))
    def check(data: bytes) -> None:
        ingest(name, data)
        tally.count("bad input")

    check()


def test_the_property_machinery_sees_a_valid_sample_processed_and_rubbish_quarantined(tmp_path):
    for service in SERVICES:
        ingest = Ingest(tmp_path / service, service)
        for sample in format_samples(service):
            ingest(sample.name, sample.read_bytes())
            ingest(sample.name, b"<html><title>500</title></html>" + sample.name.encode())
        registry = Registry.for_service(ingest.root / "raw" / service)
        statuses = sorted(registry.entry(s["sha256"])["status"] for s in registry.seen.values())
        count = len(format_samples(service))
        assert statuses == sorted([PROCESSED] * count + [QUARANTINED] * count), service
    assert _eol(b"a\rb") == b"\r" and (SAMPLES / "tiktok").is_dir()
