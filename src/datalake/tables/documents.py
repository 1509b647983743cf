"""JSON documents and records checked against JSON Schema files.

`validate_document()` lists the problems of a whole document (a captured API response, a
landing envelope) with their paths, in document order; `check_records()` checks every record of
an NDJSON file (compiled with fastjsonschema, some 20 times faster than jsonschema, which only
explains the few bad records). Messages never quote a long value.
"""

import functools
import json
from pathlib import Path
from typing import Any

from datalake.problems import shown
from datalake.tables.schemas import SchemaError


@functools.cache
def _document_validator(schema_path: str):
    from jsonschema import validators

    schema = json.loads(Path(schema_path).read_text("utf-8"))
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _path_key(path) -> list[tuple[int, int, str]]:
    return [(0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in path]


def _problem(error, where: str = "") -> str:
    """One jsonschema error as `<where> <path>: <message>`, never quoting a long value."""
    path = "/".join(str(p) for p in error.absolute_path)
    where = " ".join(filter(None, (where, path))) or "(document)"
    message = error.message
    if error.validator in ("anyOf", "oneOf") and "description" in error.schema:
        message = f"{shown(error.instance, 40)} is not {error.schema['description']}"
    if len(message) > 120:  # it quotes a long value: say what the rule is instead
        message = (
            f"{shown(error.instance, 40)} fails {error.validator} {shown(error.validator_value)}"
        )
    return f"{where}: {message}"


def validate_document(doc: Any, schema_path: Path, limit: int = 10) -> list[str]:
    """Problems of a JSON document against a JSON Schema file, each with its path (at most
    `limit`, in document order); an empty list means the document is valid."""
    validator = _document_validator(str(Path(schema_path).resolve()))
    errors = sorted(validator.iter_errors(doc), key=lambda e: _path_key(e.absolute_path))
    return [_problem(e) for e in errors[:limit]]


@functools.cache
def _record_checker(schema_path: str):
    """A compiled validator (fastjsonschema: plain Python code, some 20 times faster than
    jsonschema's, which matters for a backfill of many thousand records)."""
    import fastjsonschema

    return fastjsonschema.compile(json.loads(Path(schema_path).read_text("utf-8")))


def check_records(records, schema_path: Path, limit: int = 3) -> int:
    """Check each JSON record (e.g. NDJSON lines) against a JSON Schema file; returns the count.

    Raises SchemaError naming the number of bad records and the first `limit` problems (those
    explained by jsonschema, whose messages quote the value)."""
    from fastjsonschema import JsonSchemaValueException

    path = str(Path(schema_path).resolve())
    check, problems, bad, count = _record_checker(path), [], 0, 0
    for count, record in enumerate(records, 1):
        try:
            check(record)
            continue
        except JsonSchemaValueException:
            bad += 1
        if len(problems) < limit:
            errors = _document_validator(path).iter_errors(record)
            error = min(errors, key=lambda e: _path_key(e.absolute_path))
            problems.append(_problem(error, f"record {count}"))
    if bad:
        name = Path(schema_path).stem
        raise SchemaError(f"{bad} of {count} record(s) do not meet {name}: " + "; ".join(problems))
    return count


def require_valid(doc: Any, schema_path: Path, what: str, limit: int = 3) -> None:
    """Rejected (the file is quarantined) naming the first problems if `doc` does not meet the
    JSON Schema file; `what` says what the document should have been."""
    from datalake.problems import Rejected

    problems = validate_document(doc, schema_path, limit)
    if problems:
        raise Rejected(f"not {what}: " + "; ".join(problems))
