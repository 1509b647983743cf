"""What a landing format is, and how a landing file is recognised as one.

A `Format` says how to recognise a file from a `Sample` of it (its first bytes, or all of a file
up to 8 MiB), which raw dataset it feeds and how to convert it. `route_file()` asks the rejects
(recognisable bad input, such as a saved login page), then each format; a detector that fails on
a file counts as "not this format", and a file nothing claims gets a reason saying what it seems
to be (an HTML page and its title, JSON and its keys, binary data, its first line).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datalake.problems import blames_the_file, describe, shown
from datalake.stages.rawmeta import RawMeta

SAMPLE_BYTES = 1 << 16
WHOLE_FILE_SAMPLE = 8 << 20  # pages and JSON documents are recognised from their whole text


@dataclass(frozen=True)
class Sample:
    """The first bytes of a landing file, for recognising it by content."""

    path: Path
    head: bytes
    size: int

    @classmethod
    def of(cls, path: Path) -> Sample:
        """The sample of a landing file: its whole bytes up to WHOLE_FILE_SAMPLE, else its head."""
        size = path.stat().st_size
        with open(path, "rb") as handle:
            return cls(path, handle.read(size if size <= WHOLE_FILE_SAMPLE else SAMPLE_BYTES), size)

    @property
    def text(self) -> str:
        """The head decoded leniently (UTF-8, else Latin-1), without a BOM."""
        head = self.head.removeprefix(b"\xef\xbb\xbf")
        try:
            return head.decode("utf-8")
        except UnicodeDecodeError as error:
            if error.start > len(head) - 4:  # a character cut by the sample's end
                return head[: error.start].decode("utf-8")
            return head.decode("latin-1")

    def header(self, delimiter: str = ",") -> tuple[str, ...]:
        """The first line read as a delimited header (quotes honoured)."""
        return tuple(next(csv.reader([self.first_line], delimiter=delimiter), []))

    @property
    def first_line(self) -> str:
        return self.text.replace("\r\n", "\n").replace("\r", "\n").split("\n", 1)[0]


@dataclass(frozen=True)
class Format:
    """A landing format: how to recognise it and how to turn it into a raw file."""

    name: str
    dataset: str
    detect: Callable[[Sample], bool]
    convert: Callable[[Path, Path], dict[str, Any]]
    extension: str = "csv"
    schema: str | None = None  # `schemas/<schema>.json`: what the raw file must meet
    meta: type = RawMeta  # what `convert` returns about the raw file (see `rawmeta`)


@dataclass(frozen=True)
class Ignore:
    """A recognisable landing file the lake does not use (a dashboard's notifications, say):
    recorded with the reason `detect(sample)` gives, never read into raw, not counted as bad
    input. `personal`: the file holds personal data (an account holder's e-mail, a subscriber
    list), so it is also deleted from landing and never copied anywhere (no quarantine copy); the
    reason must hold none of it."""

    detect: Callable[[Sample], str | None]
    personal: bool = False


def ignored(sample: Sample, ignores: Sequence[Ignore]) -> tuple[Ignore, str] | None:
    """The first `Ignore` that claims a file, with its reason."""
    errors: list[BaseException] = []
    for ignore in ignores:
        reason = _matches(ignore.detect, sample, errors)
        if reason:
            return ignore, reason
    return None


def _matches(check, sample: Sample, errors: list[BaseException]):
    """A detector's or reject's answer; one that fails on this file does not match it."""
    try:
        return check(sample)
    except Exception as error:
        if not blames_the_file(error):
            raise
        errors.append(error)
        return None


def route_file(sample: Sample, formats: Sequence[Format], rejects) -> Format | str:
    """The format a file is, or the reason (a reject's, or what the file seems to be) why not."""
    if sample.size == 0:
        return "empty file (0 bytes)"
    errors: list[BaseException] = []
    for reject in rejects:
        reason = _matches(reject, sample, errors)
        if reason:
            return reason
    for fmt in formats:
        if _matches(fmt.detect, sample, errors):
            return fmt
    known = ", ".join(sorted({f.dataset for f in formats}))
    return f"unknown layout: not a known {known} file; {_looks_like(sample, errors)}"


def _looks_like(sample: Sample, errors: list[BaseException]) -> str:
    """What an unrecognised file seems to be, for the person who reads the reason."""
    text = sample.text.lstrip()
    if b"\x00" in sample.head[:4096]:
        return "it holds binary data, not text"
    if text[:1] == "<":
        title = re.search(r"<title[^>]*>([^<]*)", text[:65536], re.IGNORECASE)
        name = f" titled {shown(title[1].strip())}" if title else ""
        return f"it is an HTML page{name} (an error or login page saved as data?)"
    if text[:1] in "{[" and sample.size == len(sample.head):
        from datalake.tables.records import load_json

        try:
            document = load_json(sample.head)
        except Exception as error:
            if not blames_the_file(error):
                raise
            return f"it is JSON that cannot be read: {describe(error)}"
        if isinstance(document, dict):
            return f"it is JSON with the top-level keys {shown(sorted(document), 120)}"
        return "it is a JSON array, not an object"
    hint = f"its first line is {shown(sample.first_line)}"
    return hint + (f" ({describe(errors[0])})" if errors else "")
