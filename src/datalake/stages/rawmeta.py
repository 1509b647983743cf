"""The declared shape of what a converter says about the raw file it wrote.

A `Format` names a `RawMeta` TypedDict (or a subclass with the platform's own keys, e.g. a
statement's `layout` and `max_reporting_date`); landing2raw checks what the converter returns
against it before anything is recorded, keeps it in `raw/<service>/_hashes.json`, and
raw2staging hands it to the builders as `RawFile.meta`. A converter that returns something else
is a bug in the code, not in the file: `MetaError` fails the script instead of quarantining.
Only text read from the file itself can be of another type with every key right (an envelope
edited by hand with a number where the platform writes text): that file is refused instead.
(No `from __future__ import annotations` in modules declaring these: TypedDict needs real
annotations to tell `Required` keys.)
"""

import typing
from typing import Any, Required, TypedDict

from datalake.problems import CodeFault, Rejected


class RawMeta(TypedDict, total=False):
    """What every raw file may be described by."""

    rows: Required[int]  # data rows (or records) written
    encoding: str  # the source's text encoding, when it was detected
    first_date: str  # the first and last day a daily series covers (YYYY-MM-DD)
    last_date: str
    # when the platform says the file was downloaded (its own name's time, UTC ISO): wins over
    # the landing name's stamp and the file's modification time
    extracted_at: str
    # data-quality notes about the file, kept as given (the run record lists them)
    warnings: list[str]


class MetaError(CodeFault, TypeError):
    """A converter returned metadata that does not match its format's declaration."""


def _matches(value: Any, kind: Any) -> bool:
    origin = typing.get_origin(kind)
    if origin is list:
        (item,) = typing.get_args(kind) or (Any,)
        return isinstance(value, list) and all(_matches(v, item) for v in value)
    if kind is Any:
        return True
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, origin or kind)


def check_meta(declared: type, meta: dict, fmt: str) -> dict:
    """`meta` if it matches the TypedDict `declared` (required keys, no others, simple types)."""
    hints = typing.get_type_hints(declared)
    missing = sorted(declared.__required_keys__ - meta.keys())
    unknown = sorted(meta.keys() - hints.keys())
    wrong = sorted(k for k, v in meta.items() if k in hints and not _matches(v, hints[k]))
    if wrong and not (missing or unknown) and all(hints[k] is str for k in wrong):
        shown = ", ".join(f"{k} ({type(meta[k]).__name__})" for k in wrong)
        raise Rejected(f"what it says about itself has values of the wrong type: {shown}")
    if missing or unknown or wrong:
        raise MetaError(
            f"format {fmt} returned metadata that is not a {declared.__name__}: "
            f"missing {missing}, undeclared {unknown}, wrong type {wrong}"
        )
    return meta
