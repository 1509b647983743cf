"""Generated bad input, every platform (issue 19): no crash, each bad file quarantined with a
reason a person can act on, every good file of the same run processed, exit 5.

The cases come from `badinput.generated()`: variants of every landing format's bundled sample
(truncations at structural boundaries, encodings, BOMs, headers, columns, wrong values, huge
lines, bombs, other platforms' files, login and error pages, hostile names). Those the
platform's rules refuse go through the real runner next to the samples; those they accept are
read in-process and must give the right raw rows. Cases that show a bug of the lake are listed
in KNOWN_BUGS and checked by strict xfail tests, so that a fix is noticed.

Default mode drops PER_FAMILY cases of each family per service into the run and reads a few
valid variants of each family in-process; soak mode (`DATALAKE_SOAK=1`) makes ten times the
truncation points per sample, drops up to 50 of each family and reads every valid variant.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest
import tally
from badinput import (
    ACCEPTED,
    EITHER,
    REFUSED,
    SAMPLES,
    SERVICES,
    Case,
    expected_rows,
    family,
    generated,
    hostile_named_samples,
    landing_body,
    pick,
    raw_rows,
    sampled,
    unactionable,
)
from conftest import make_ctx, run_runner
from soak import scaled
from test_bad_input import NO_EXTRACTORS, _curated, _logs, clean_curated  # noqa: F401

from datalake.demo import copy_samples
from datalake.paths import Lake
from datalake.problems import Rejected
from datalake.storage.registry import PROCESSED, QUARANTINED, Registry

BUDGET = scaled(4, 40)  # truncation points (and the like) per sample
PER_FAMILY = scaled(2, 50)  # cases of each family per service dropped into the run
PER_FAMILY_IN_PROCESS = scaled(4, 100_000)  # valid variants and known bugs, read in-process
MIN_CASES = 10  # the issue: at least 10 malformed inputs per service


@dataclass(frozen=True)
class Bug:
    """A bug of the lake that some generated cases show (the src/ fix is for the lead)."""

    patterns: dict[str, str]  # service -> the names of its cases that show it
    what: str

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(self.patterns)


KNOWN_BUGS: dict[str, Bug] = {}  # none known today: add one as a Bug with its cases


def bug_of(service: str, case: Case) -> str | None:
    return next(
        (
            name
            for name, bug in KNOWN_BUGS.items()
            if service in bug.patterns and re.search(bug.patterns[service], case.name)
        ),
        None,
    )


def cases_of(service: str, *expect: str) -> list[Case]:
    """The service's generated cases expected as given, known bugs left out."""
    return [
        c for c in generated(service, BUDGET) if c.expect in expect and bug_of(service, c) is None
    ]


# --- the floor ------------------------------------------------------------------------

REQUIRED_FAMILIES = {
    "truncated",
    "wrong encoding",
    "duplicated header or key",
    "extra or missing column",
    "wrong value",
    "huge line",
    "another platform's file",
    "login or error page",
    "not data (empty, binary)",
    "hostile name",
}


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_gets_many_generated_bad_inputs_of_every_kind(service):
    refused = cases_of(service, REFUSED)
    families = {family(c) for c in refused}
    assert len(refused) >= MIN_CASES and len(sampled(refused, PER_FAMILY)) >= MIN_CASES
    assert REQUIRED_FAMILIES <= families, REQUIRED_FAMILIES - families
    takes_json = any(p.suffix in (".json", ".html") for p in (SAMPLES / service).rglob("*"))
    takes_zip = any(p.suffix == ".zip" for p in (SAMPLES / service).rglob("*"))
    assert "bomb" in families or not (takes_json or takes_zip)
    assert "ZIP structure" in families or not takes_zip
    assert all(family(c) != "other" for c in generated(service, BUDGET)), "name its family"
    accepted = cases_of(service, ACCEPTED)
    assert accepted, "valid variants (BOM, line ends, shorter files) are generated too"


# --- the real runner: bad files next to the samples -------------------------------------------


def _drop(landing: Path, service: str, cases: list[Case]) -> None:
    for case in cases:
        path = landing / service / case.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(case.data)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A run on the samples plus the refused cases (up to PER_FAMILY of each family)."""
    root = tmp_path_factory.mktemp("generated")
    copy_samples(root / "landing")
    dropped = {s: sampled(cases_of(s, REFUSED), PER_FAMILY) for s in SERVICES}
    for service, cases in dropped.items():
        _drop(root / "landing", service, cases)
    bad = run_runner(root, *NO_EXTRACTORS)
    return {"root": root, "result": bad, "dropped": dropped}


def test_the_run_with_generated_bad_input_exits_5_without_a_traceback(runs, clean_curated):  # noqa: F811
    result, root = runs["result"], runs["root"]
    assert result.returncode == 5, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and "Traceback" not in _logs(root)
    assert _curated(root) == clean_curated  # every good file of the run processed


@pytest.mark.parametrize("service", SERVICES)
def test_generated_bad_inputs_are_quarantined_with_a_reason_a_person_can_act_on(runs, service):
    root, dropped = runs["root"], runs["dropped"][service]
    record = json.loads((root / "_runs" / "latest.json").read_text("utf-8"))
    scripts = {(s["service"], s["stage"]): s for s in record["scripts"]}
    assert scripts[(service, "landing2raw")]["exit_code"] == 5
    assert scripts[(service, "raw2staging")]["exit_code"] == 0  # nothing reached raw to retire
    assert scripts[(service, "staging2curated")]["exit_code"] == 0
    reported = {
        q["file"]: q["reason"] for q in scripts[(service, "landing2raw")]["details"]["quarantined"]
    }
    registry = Registry.for_service(root / "raw" / service)
    copies = root / "raw" / "_quarantine" / service
    problems = []
    for case in dropped:
        rel = f"landing/{service}/{case.name}"
        entry = registry.entry(registry.seen[rel]["sha256"]) if rel in registry.seen else {}
        if entry.get("status") != QUARANTINED:
            problems.append(f"{case.name!r}: {entry.get('status')}, not quarantined")
            continue
        reason = entry["reason"]
        if why := unactionable(reason):
            problems.append(f"{case.name!r}: reason {why}: {reason!r}")
        if reported.get(rel) != reason:
            problems.append(f"{case.name!r}: run.json says {reported.get(rel)!r}")
        copy = copies / f"{registry.seen[rel]['sha256'][:12]}_{Path(case.name).name}"
        if not copy.is_file() or copy.read_bytes() != case.data:
            problems.append(f"{case.name!r}: no byte-identical quarantine copy")
        elif json.loads(Path(f"{copy}.reason.json").read_text("utf-8"))["reason"] != reason:
            problems.append(f"{case.name!r}: .reason.json differs from the registry")
    assert not problems, "\n".join(problems)
    for sample in (SAMPLES / service).rglob("*"):  # and every good file was processed
        if sample.is_file():
            rel = f"landing/{service}/{sample.relative_to(SAMPLES / service).as_posix()}"
            assert registry.entry(registry.seen[rel]["sha256"])["status"] == PROCESSED, rel
    files = len(dropped) + sum(1 for p in (SAMPLES / service).rglob("*") if p.is_file())
    assert (root / "raw" / service / "_hashes.json").stat().st_size < 2000 * files  # no values
    tally.count("bad input", len(dropped))


# --- in-process: what the rules accept is read into the right rows ----------------------------


def _ingest_together(root: Path, service: str, cases: list[Case]) -> Registry:
    """Drop the cases and the samples they come from into a fresh lake, run the service's
    landing2raw in-process once (without fsync: durability is not what is tested here)."""
    Lake(root).ensure()
    for rel in {c.sample for c in cases}:
        target = root / "landing" / service / "samples" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SAMPLES / service / rel, target)
    _drop(root / "landing", service, cases)
    with mock.patch.object(os, "fsync", lambda _fd: None):
        code = landing_body(service)(make_ctx(root, service, "landing2raw"))
    assert code in (0, 5)
    return Registry.for_service(root / "raw" / service)


def _outcome(root: Path, service: str, registry: Registry, rel: str) -> tuple[str, object]:
    """("processed", raw rows) or (status, reason) of a landing file."""
    entry = registry.entry(registry.seen[f"landing/{service}/{rel}"]["sha256"])
    if entry["status"] == PROCESSED:
        (output,) = entry["outputs"]
        try:
            return PROCESSED, raw_rows(root / output)
        except Rejected as error:  # raw is standard JSON: no NaN, no Infinity
            return f"processed into a raw file that is not valid JSON ({error})", None
    return entry["status"], entry.get("reason")


def _check_valid_variants(root: Path, service: str, cases: list[Case]) -> list[str]:
    registry = _ingest_together(root, service, cases)
    problems = []
    for case in cases:
        status, got = _outcome(root, service, registry, case.name)
        if status != PROCESSED:
            if case.expect == ACCEPTED or status != QUARANTINED:
                problems.append(f"{case.name!r}: {status} ({got}), expected read")
            elif why := unactionable(got):
                problems.append(f"{case.name!r}: reason {why}: {got!r}")
            continue
        sample_status, sample_rows = _outcome(root, service, registry, f"samples/{case.sample}")
        assert sample_status == PROCESSED, case.sample
        if got != expected_rows(sample_rows, case.rows):
            problems.append(f"{case.name!r}: raw rows differ from {case.rows[:2]} of the sample")
    return problems


@pytest.mark.parametrize("service", SERVICES)
def test_generated_valid_variants_are_read_into_the_right_rows(tmp_path, service):
    """BOMs, other line ends, shorter files cut at a line end, ignored extra columns, optional
    columns missing, hostile names: read like the sample; EITHER cases: refused with a good
    reason, or read into exactly the rows the case says."""
    cases = cases_of(service, ACCEPTED, EITHER) + hostile_named_samples(service)
    cases = sampled(cases, PER_FAMILY_IN_PROCESS)
    problems = _check_valid_variants(tmp_path, service, cases)
    assert not problems, "\n".join(problems)
    tally.count("bad input", len(cases))


# --- known bugs: strict xfail, so that the fix is noticed -------------------------------------


def _refused_in_process(root: Path, service: str, cases: list[Case]) -> list[str]:
    registry = _ingest_together(root, service, cases)
    problems = []
    for case in cases:
        status, got = _outcome(root, service, registry, case.name)
        if status != QUARANTINED:
            problems.append(f"{case.name!r}: {status}, not quarantined")
        elif why := unactionable(got):
            problems.append(f"{case.name!r}: reason {why}: {got!r}")
    return problems


@pytest.mark.parametrize(
    "bug",
    [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=bug.what))
        for name, bug in KNOWN_BUGS.items()
    ],
)
def test_known_bug_cases_are_quarantined_with_a_reason_a_person_can_act_on(tmp_path, bug):
    problems, tried = [], 0
    for service in KNOWN_BUGS[bug].services:
        showing = [c for c in generated(service, BUDGET) if bug_of(service, c) == bug]
        assert showing, f"{service}: no generated case shows {bug}"
        showing = pick(showing, PER_FAMILY_IN_PROCESS)
        problems += _refused_in_process(tmp_path / service, service, showing)
        tried += len(showing)
    assert not problems, "\n".join(problems)
    tally.count("bad input", tried)


LONG_NAME = "statement " + "x" * 215 + ".html"  # 230 bytes: a legal name (255 at most)


def test_a_bad_file_with_a_long_name_is_quarantined_and_the_next_file_read(tmp_path):
    good = SAMPLES / "spotify" / "audience" / "audience_UvzrGcUEeVPnLs56hWCQhh_20261109T060000Z.csv"
    page = b"<html><title>502 Bad Gateway</title></html>"
    bad = Case(f"generated/{LONG_NAME}", page, REFUSED, "audience/" + good.name)
    long_good = Case(
        f"generated/{good.stem}{'y' * (240 - len(good.name))}.csv",
        good.read_bytes(),
        ACCEPTED,
        "audience/" + good.name,
        ("same",),
    )
    try:
        problems = _refused_in_process(tmp_path / "a", "spotify", [bad])
        problems += _check_valid_variants(tmp_path / "b", "spotify", [long_good])
    except OSError as error:
        pytest.fail(f"landing2raw raised {error!r}")
    assert not problems, "\n".join(problems)
    tally.count("bad input", 2)


def _xlsx_bomb(rows: int) -> bytes:
    """A DistroKid statement workbook whose sheet expands ~300 times (a ZIP bomb as XLSX)."""
    from openpyxl import Workbook

    from distrokid.settings import BANK_15

    book = Workbook()
    book.active.append(list(BANK_15))
    buffer = io.BytesIO()
    book.save(buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as small:
        parts = {i.filename: small.read(i) for i in small.infolist()}
    sheet = "xl/worksheets/sheet1.xml"
    row = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>'
    parts[sheet] = parts[sheet].replace(b"</sheetData>", row * rows + b"</sheetData>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_an_xlsx_zip_bomb_is_refused_as_a_bomb(tmp_path):
    bomb = _xlsx_bomb(50_000)
    name = f"generated/gen-xlsx-bomb-{len(bomb)}-bytes_20261130T060000Z.xlsx"
    case = Case(name, bomb, REFUSED, "bank_details/bank_details_20261120T060000Z.tsv")
    problems = _refused_in_process(tmp_path, "distrokid", [case])
    assert not problems, "\n".join(problems)
    reason = _outcome(
        tmp_path, "distrokid", Registry.for_service(tmp_path / "raw" / "distrokid"), case.name
    )[1]
    assert "bomb" in reason, reason
    tally.count("bad input")
