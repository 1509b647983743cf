"""Problems with input, in words a person can act on; the lake's own faults told apart.

`Rejected` is what a parser raises for input it recognises but cannot use (its message is the
reason). `describe()` turns any parsing error into such words, `shown()` quotes at most the start of
a value, `json_kind()` names what a JSON value is ("a string"), `cap()` keeps a reason to one line
of `MAX_REASON` characters, so a 5 MB field never reaches a registry, a run record, a report or a
log. `blames_the_file()` tells a file's fault from the lake's (`is_lake_fault()`), a setting's or
the code's; `is_lake_fault()` tells errors of the lake itself (disk full, permissions), which no
file causes and which fail a script instead.
"""

import csv
import errno
import zipfile

MAX_REASON = 400
_LAKE_ERRNOS = {
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
    errno.EIO,
    errno.EMFILE,
    errno.ENFILE,
}


class Rejected(Exception):
    """Raised by a parser for input it recognises but cannot use; the message is the reason."""


_SELF_EXPLAINING = {"Rejected", "SchemaError", "ArrowInvalid"}  # ours, and pyarrow's parse errors


def is_lake_fault(error: BaseException) -> bool:
    """True for errors of the lake itself (disk full, permissions, I/O), which no file causes."""
    return isinstance(error, OSError) and error.errno in _LAKE_ERRNOS


class CodeFault(Exception):
    """Base of errors in the code (a converter breaking its declaration): they fail the script
    and are never blamed on the file being read."""


def blames_the_file(error: BaseException) -> bool:
    """True if an error while reading a file is the file's fault, so the file is set aside;
    False for the lake's own faults, a wrong setting (`SettingsError`) and `CodeFault`s, which
    fail the script instead."""
    from datalake.settings import SettingsError

    return not (is_lake_fault(error) or isinstance(error, SettingsError | CodeFault))


def shown(value, limit: int = 60) -> str:
    """A value as it may appear in a reason: its repr, cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…({len(text):,} chars)"


def json_kind(value) -> str:
    """What a JSON value is, in words: "an object", "a list", "a string", "a number", "null".
    For reasons: "item 3 is a string, not an object"."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    kinds = {dict: "an object", list: "a list", str: "a string", type(None): "null"}
    return next((w for t, w in kinds.items() if isinstance(value, t)), "a number")


def cap(reason: str, limit: int = MAX_REASON) -> str:
    """A reason of at most `limit` characters, on one line."""
    reason = " ".join(str(reason).split())
    return reason if len(reason) <= limit else reason[: limit - 1] + "…"


def describe(error: BaseException) -> str:
    """What a parsing error means for the file, in words a person can act on."""
    if isinstance(error, RecursionError):
        return "nested too deeply to read (a JSON document more than a thousand levels deep)"
    if isinstance(error, csv.Error) and "field limit" in str(error):
        return "a line or field longer than 128 KiB: not a file of this platform"
    if isinstance(error, UnicodeDecodeError):
        return f"not text in {error.encoding} (undecodable byte at position {error.start})"
    if isinstance(error, zipfile.BadZipFile | EOFError):
        return f"a damaged or truncated archive ({error})"
    if isinstance(error, MemoryError):
        return "too large to read into memory (a compressed or JSON bomb?)"
    if type(error).__name__ in _SELF_EXPLAINING:
        return str(error)  # their messages already say what is wrong with the data
    return f"{type(error).__name__}: {error}"
