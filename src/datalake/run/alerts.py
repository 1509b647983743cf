"""Run alerts: one message per run, through the channels the user set, when a person must act.

`DATALAKE_ALERT_URLS` lists Apprise URLs, comma-separated (`mailtos://user:pass@host:587?to=...`,
`mailto://...` for plain SMTP, `slack://...`, `ntfy://...`, `json://host:port/path` for a plain
JSON webhook); adding a channel is adding a URL. `problems_of()` turns a run record into short
lines (failed scripts, logins needed, newly quarantined or retired files, stale tables, the mirror
behind); `notify()` sends them as one message, and only when they differ from the last alert sent
(a hash of the sorted lines, the run id left out), or an "all clear" once they are gone.

The last alert sent is kept in `_runs/alert_state.json`; it changes only when at least one channel
accepted the message, so an alert no channel took is tried again by the next run. Delivery
problems are logged, never raised: an alert never fails a run. Every URL's credentials are
registered as secrets (`datalake.logs.register_secret`) and the message is redacted before it
leaves, so no secret reaches a log line or a message.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

from datalake.logs import redact, register_secret
from datalake.problems import cap
from datalake.settings import setting
from datalake.storage.atomic import atomic_write_json

log = logging.getLogger(__name__)

STATE_NAME = "alert_state.json"
TITLE = "BEDROT Data Lake"
_NOT_PROBLEMS = {0, 3, 4, 5}  # ok, login needed (listed apart), not configured, quarantined
_LINE_LIMIT = 300
_NAMES_SHOWN = 3


# ---- what a person must act on ------------------------------------------------------------------


def problems_of(record: dict) -> list[str]:
    """The things a person must act on in a run record (`_runs/<id>/run.json`, see below), each a
    short line, sorted: failed scripts with their reason, logins needed with the exact command,
    newly quarantined files (count per service), stale tables (from record.get("freshness"):
    list of {"table", "state": "ok"|"warn"|"error", "reason"}; warn and error count), the mirror
    behind (record.get("mirror") with "behind" != 0)."""
    lines: set[str] = set()
    quarantined: dict[str, list[str]] = defaultdict(list)
    retired: dict[str, list[str]] = defaultdict(list)
    for script in record.get("scripts") or []:
        details = script.get("details") or {}
        service = script.get("service", "?")
        code = script.get("exit_code")
        if code is not None and code not in _NOT_PROBLEMS and script.get("status") != "interrupted":
            reason = details.get("message") or script.get("status") or "failed"
            lines.add(
                f"{service} {script.get('stage', '?')} failed (exit {code}): {_one_line(reason)}"
            )
        quarantined[service] += [_file_of(q) for q in details.get("quarantined") or []]
        retired[service] += [_file_of(r) for r in details.get("retired") or []]
    for needed in record.get("login_needed") or []:
        lines.add(f"{needed.get('service', '?')} needs a login: {needed.get('command', '')}")
    for service, files in quarantined.items():
        if files:
            lines.add(f"{service}: {len(files)} new file(s) quarantined: {_names(files)}")
    for service, files in retired.items():
        if files:
            lines.add(f"{service}: {len(files)} raw file(s) retired: {_names(files)}")
    for table in record.get("freshness") or []:
        if table.get("state") in ("warn", "error"):
            reason = _one_line(table.get("reason") or "no recent data")
            lines.add(
                f"curated table {table.get('table', '?')} is stale ({table['state']}): {reason}"
            )
    mirror = record.get("mirror") or {}
    behind = mirror.get("behind") or 0
    if behind:
        count = "all files" if behind < 0 else f"{behind} file(s)"
        error = _one_line(mirror.get("error") or "store unreachable")
        lines.add(f"mirror behind: {count} not uploaded ({error})")
    interrupted = record.get("interrupted")
    if interrupted:
        lines.add(f"run interrupted by {interrupted.get('signal', 'a signal')} before it finished")
    return sorted(lines)


def _one_line(text) -> str:
    return cap(str(text), _LINE_LIMIT)


def _file_of(entry) -> str:
    name = entry.get("file", "?") if isinstance(entry, dict) else str(entry)
    return PurePosixPath(str(name).replace("\\", "/")).name or str(name)


def _names(files: list[str]) -> str:
    shown = ", ".join(sorted(files)[:_NAMES_SHOWN])
    more = len(files) - _NAMES_SHOWN
    return f"{shown}, +{more} more" if more > 0 else shown


# ---- sending ------------------------------------------------------------------------------------


def notify(lake_root: Path, record: dict, urls: list[str] | None = None) -> str:
    """Send what changed since the last alert; returns what happened: "sent", "resolved",
    "unchanged" (same problem set as last time: no repeat), "quiet" (nothing to say), "off" (no
    URLs), or "failed" (every channel failed; logged, never raised). State in
    `<lake_root>/_runs/alert_state.json` (the last problem set sent, with its hash and time)."""
    if urls is None:
        urls = _configured_urls()
    urls = [url.strip() for url in urls if url and url.strip()]
    for url in urls:
        _register_credentials(url)
    if not urls:
        return "off"
    run_id = str(record.get("run_id") or "")
    state_path = Path(lake_root) / "_runs" / STATE_NAME
    state = _read_state(state_path)
    previous = [str(line) for line in state.get("problems") or []]
    problems = [redact(line) for line in problems_of(record)]  # in messages and on disk
    digest = _digest(problems, run_id)
    if problems and digest == state.get("hash"):
        return "unchanged"
    if not problems and not previous:
        return "quiet"
    if problems:
        outcome, title, body = (
            "sent",
            _problem_title(problems, run_id),
            _problem_body(record, problems, previous),
        )
    else:
        outcome, title, body = (
            "resolved",
            f"{TITLE}: all clear (run {run_id})",
            _resolved_body(run_id, previous),
        )
    if not _deliver(urls, redact(title), redact(body), failure=bool(problems)):
        return "failed"
    state = {
        "hash": digest,
        "problems": problems,
        "run_id": run_id,
        "sent_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "status": "open" if problems else "resolved",
    }
    try:
        atomic_write_json(state_path, state)
    except OSError as error:  # sent, but not remembered: the next run may send it again
        log.warning("alerts: could not save %s: %s", state_path.name, error)
    return outcome


def _configured_urls() -> list[str]:
    """`DATALAKE_ALERT_URLS`, split the way Apprise splits (a comma inside `?to=a,b` stays)."""
    configured = setting("DATALAKE_ALERT_URLS") or ""
    if not configured.strip():
        return []  # no alerts: Apprise is not even imported (a tenth of a second every run)
    from apprise.utils.parse import parse_urls

    return parse_urls(configured)


def _digest(problems: list[str], run_id: str) -> str:
    """A hash of the sorted problem lines; the run id (as in a `_debug/<run_id>/` path) left out."""
    lines = sorted(line.replace(run_id, "<run>") if run_id else line for line in problems)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def _read_state(path: Path) -> dict:
    try:
        state = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        log.warning("alerts: %s unreadable (%s): starting afresh", path.name, error)
        return {}
    return state if isinstance(state, dict) else {}


def _problem_title(problems: list[str], run_id: str) -> str:
    return f"{TITLE}: {len(problems)} problem(s) in run {run_id}"


def _report_line(run_id: str) -> str:
    return f"Run report: _runs/{run_id}/report.html"


def _problem_body(record: dict, problems: list[str], previous: list[str]) -> str:
    run_id = str(record.get("run_id") or "")
    meaning = record.get("exit_meaning") or ""
    code = record.get("exit_code")
    lines = [f"Run {run_id} ended with exit {code}" + (f" ({meaning})." if meaning else ".")]
    lines += ["", "Needs a person:"]
    earlier = set(previous)
    lines += [
        f"- {line}" + ("" if line in earlier or not earlier else "  [new]") for line in problems
    ]
    gone = sorted(earlier - set(problems))
    if gone:
        lines += ["", "Resolved since the last alert:", *(f"- {line}" for line in gone)]
    lines += ["", _report_line(run_id)]
    return "\n".join(lines) + "\n"


def _resolved_body(run_id: str, previous: list[str]) -> str:
    lines = [f"Run {run_id} has nothing left for a person to do.", "", "Resolved:"]
    lines += [f"- {line}" for line in previous]
    lines += ["", _report_line(run_id)]
    return "\n".join(lines) + "\n"


def _deliver(urls: list[str], title: str, body: str, failure: bool) -> bool:
    """Send to every channel; True if at least one accepted. Problems are logged, not raised."""
    import apprise

    kind = apprise.NotifyType.FAILURE if failure else apprise.NotifyType.SUCCESS
    accepted = 0
    for number, url in enumerate(urls, start=1):
        try:
            channel = apprise.Apprise.instantiate(url)
        except Exception as error:  # a plugin refusing its URL
            channel, why = None, f"{type(error).__name__}: {error}"
        else:
            why = "not a valid Apprise URL"
        if channel is None:
            log.warning("alerts: channel %d (%s): %s", number, _scheme(url), redact(why))
            continue
        name = redact(channel.url(privacy=True))
        try:
            ok = channel.notify(
                body=body, title=title, notify_type=kind, body_format=apprise.NotifyFormat.TEXT
            )
        except Exception as error:
            log.warning("alerts: %s failed: %s", name, redact(f"{type(error).__name__}: {error}"))
            continue
        if ok:
            accepted += 1
            log.info("alerts: sent to %s", name)
        else:
            log.warning("alerts: %s did not accept the message", name)
    if not accepted:
        log.warning("alerts: no channel accepted the alert; the next run tries again")
    return accepted > 0


def _scheme(url: str) -> str:
    return url.split("://", 1)[0] if "://" in url else "no scheme"


def _register_credentials(url: str) -> None:
    """Register the URL and every private part of it (password, tokens, header values)."""
    register_secret(url)
    from apprise.manager_plugins import NotificationManager

    plugins, scheme = NotificationManager(), _scheme(url).lower()
    if scheme not in plugins:
        return  # not a URL Apprise knows: only the whole of it is masked
    plugin = plugins[scheme]
    try:
        parsed = plugin.parse_url(url)
    except Exception:  # a malformed URL: only the whole of it is masked
        parsed = None
    if not parsed:
        return
    register_secret(parsed.get("password"))
    register_secret(unquote(parsed.get("password") or ""))
    for tokens in (plugin.template_tokens, plugin.template_args):
        for key, meta in tokens.items():
            if meta.get("private"):
                _register_value(parsed.get(meta.get("map_to", key)))
    for value in (parsed.get("headers") or {}).values():
        _register_value(value)


def _register_value(value) -> None:
    if isinstance(value, str):
        register_secret(value)
    elif isinstance(value, list | tuple | set):
        for item in value:
            _register_value(item)
