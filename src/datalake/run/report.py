"""Run reports: `_runs/<run_id>/run.json` and a self-contained `report.html`.

The HTML has no external assets: a table of every script (status, exit code, duration, files and
rows), the quarantined landing files and retired raw files with their reasons, the files ignored
(or deleted for holding personal data), data-quality warnings, and the exact command for any
platform that needs a new login. `_runs/latest.html` and `_runs/latest.json`
always show the newest run.
"""

from __future__ import annotations

import json
import logging
from html import escape

from datalake.logs import redact, redact_obj
from datalake.paths import Lake
from datalake.storage.atomic import atomic_write_text

log = logging.getLogger(__name__)

_STYLE = """body{font:14px system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
.ok{background:#e6f4ea}.warn{background:#fff4d6}.bad{background:#fde7e7}.skip{background:#eee}
code{background:#f4f4f4;padding:1px 4px}"""


def _css(row: dict) -> str:
    code = row.get("exit_code")
    if row["status"].startswith("skipped") or code == 4:
        return "skip"
    return {0: "ok", 5: "warn", None: "skip"}.get(code, "bad")


def _row(row: dict) -> str:
    details = row.get("details") or {}
    cells = [
        row["service"],
        row["stage"],
        row["script"],
        row["status"],
        "" if row.get("exit_code") is None else str(row["exit_code"]),
        f"{row.get('duration_s', 0):.1f}s",
        str(details.get("files_in", "")),
        str(details.get("rows_out", "")),
        details.get("message", "") if row.get("exit_code") not in (0, None) else "",
        row.get("log", ""),
    ]
    return f'<tr class="{_css(row)}">' + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>"


def _login_item(needed: dict) -> str:
    """A browser platform's login command, or an API platform's own renewal instructions."""
    what = needed["command"]
    if what.startswith("python "):
        return (
            f"<li>{escape(needed['service'])}: log in again with <code>{escape(what)}</code></li>"
        )
    return f"<li>{escape(needed['service'])}: {escape(what)}</li>"


def _set_aside(record: dict, kind: str) -> str:
    """List items of the files a run quarantined or retired, with their reasons."""
    return "".join(
        f"<li>{escape(r['service'])}: <code>{escape(q['file'])}</code>: {escape(q['reason'])}</li>"
        for r in record["scripts"]
        for q in (r.get("details") or {}).get(kind, [])
    )


def _failed_items(record: dict) -> str:
    return "".join(
        f"<li>{escape(r['service'])} {escape(r['stage'])}: exit {r['exit_code']}: "
        f"{escape((r.get('details') or {}).get('message') or r['status'])}</li>"
        for r in record["scripts"]
        if r.get("exit_code") not in (None, 0, 3, 4, 5)  # timeouts and crashes included
    )


def _stale_items(record: dict) -> str:
    return "".join(
        f'<li class="{"bad" if t["state"] == "error" else "warn"}">{escape(t["table"])}: '
        f"{escape(t['state'])}: {escape(t['reason'])}</li>"
        for t in record.get("freshness") or []
        if t["state"] in ("warn", "error")
    )


def _quality_items(record: dict) -> str:
    return "".join(
        f'<li class="{"bad" if q["severity"] == "error" else "warn"}">{escape(q["table"])}: '
        f"{escape(q['check'])}: {escape(q['detail'])}</li>"
        for q in record.get("quality") or []
    )


def _this_run(record: dict, name: str) -> str:
    """What this run did to a table: rows added, changed, removed (by key), or nothing."""
    published = [
        t
        for r in record["scripts"]
        for t in (r.get("details") or {}).get("tables", [])
        if t["table"] == name
    ]
    if not published:
        return "not rebuilt"
    done = published[0]
    if not done.get("rewritten"):
        return "unchanged"
    if "added" not in done:
        return f"rewritten ({done['rows']} rows; too large to compare)"
    return f"+{done['added']} added, {done['changed']} changed, -{done['removed']} removed"


def _tables(record: dict, previous: dict | None) -> str:
    """Per curated table: rows, what this run changed in it, freshness."""
    rows = []
    for t in record.get("freshness") or []:
        css = {"ok": "ok", "warn": "warn", "error": "bad"}.get(t["state"], "skip")
        cells = [t["table"], str(t["rows"]), _this_run(record, t["table"]), t["newest_data"]]
        cells += [t["last_extracted"], t["state"], t["reason"]]
        rows.append(
            f'<tr class="{css}">' + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>"
        )
    if not rows:
        return ""
    head = "".join(
        f"<th>{h}</th>"
        for h in ("table", "rows", "this run", "newest data", "last extraction", "freshness", "why")
    )
    return f"<h2>Curated tables</h2><table><tr>{head}</tr>{''.join(rows)}</table>"


def render_html(
    record: dict, charts: list[tuple[str, str]] = (), previous: dict | None = None
) -> str:
    """The HTML run report for a run record (with its charts, and the previous run's record
    for the row changes)."""
    rows = "\n".join(_row(r) for r in record["scripts"])
    failed, stale, quality = _failed_items(record), _stale_items(record), _quality_items(record)
    figures = "".join(f"<h3>{escape(title)}</h3>{html}" for title, html in charts)
    logins = "".join(_login_item(x) for x in record["login_needed"])
    quarantine_items, retired_items = (
        _set_aside(record, "quarantined"),
        _set_aside(record, "retired"),
    )
    ignored_items = _set_aside(record, "ignored")
    script_warnings = [
        f"{r['service']} {r['stage']}: {w}"
        for r in record["scripts"]
        for w in (r.get("details") or {}).get("warnings", [])
    ]
    warnings = "".join(f"<li>{escape(w)}</li>" for w in [*record["warnings"], *script_warnings])
    mirror = record.get("mirror")
    mirrored = (
        ""
        if not mirror
        else f'<p class="{"bad" if mirror["behind"] else "ok"}">Mirror: '
        + (
            escape(
                f"behind: {'all' if mirror['behind'] < 0 else mirror['behind']} files "
                f"({mirror['error']})"
            )
            if mirror["behind"]
            else f"{mirror['uploaded']} uploaded, {mirror['removed']} removed, up to date"
        )
        + "</p>"
    )
    stopped = (record.get("interrupted") or {}).get("signal")
    interrupted = (
        f'<h2 class="bad">Interrupted by {escape(stopped)}</h2><p>The run was stopped before '
        "it finished: the scripts that were running are marked interrupted, the others skipped."
        "</p>"
        if stopped
        else ""
    )
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>BEDROT Data Lake run {escape(record["run_id"])}</title><style>{_STYLE}</style></head><body>
<h1>Run {escape(record["run_id"])}: exit {record["exit_code"]}
({escape(record["exit_meaning"])})</h1>
<p>{escape(record["started_at"])} to {escape(record["finished_at"])}, lake
<code>{escape(record["lake_root"])}</code></p>
{interrupted}
{f"<h2>Needs you: failed</h2><ul>{failed}</ul>" if failed else ""}
{f"<h2>Needs a person: log in again or renew a token</h2><ul>{logins}</ul>" if logins else ""}
{f"<h2>Quarantined input</h2><ul>{quarantine_items}</ul>" if quarantine_items else ""}
{f"<h2>Stale tables</h2><ul>{stale}</ul>" if stale else ""}
{f"<h2>Data quality</h2><ul>{quality}</ul>" if quality else ""}
{_tables(record, previous)}
{f"<h2>Retired raw files</h2><ul>{retired_items}</ul>" if retired_items else ""}
{f"<h2>Ignored input</h2><ul>{ignored_items}</ul>" if ignored_items else ""}
<h2>Scripts</h2><table><tr><th>service</th><th>stage</th><th>script</th><th>status</th>
<th>exit</th><th>time</th><th>files in</th><th>rows out</th><th>message</th><th>log</th></tr>
{rows}</table>
{mirrored}
{f"<h2>Warnings</h2><ul>{warnings}</ul>" if warnings else ""}
{f"<h2>Charts</h2>{figures}" if figures else ""}
</body></html>
"""


def _history(lake: Lake, record: dict, keep: int = 30) -> list[dict]:
    """The last `keep` run records, oldest first, this one last."""
    runs = []
    for path in sorted(lake.runs.glob("*/run.json"))[-keep:]:
        try:
            old = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if old.get("run_id") != record["run_id"]:
            runs.append(old)
    return [*runs[-(keep - 1) :], record]


def write_reports(lake: Lake, run_id: str, record: dict, print_: str | None = None) -> None:
    """Write run.json and report.html (with its charts) for a run, and the `latest` copies.
    With the curated zone's fingerprint (`datalake.run.reuse`), the charts the last run drew
    for the same curated tables are reused, the run history's too if no script ran."""
    from datalake.run import reuse

    text = redact(json.dumps(redact_obj(record), indent=1, default=str)) + "\n"
    history = _history(lake, record)
    try:
        from datalake.run.charts import HISTORY_TITLE, report_charts

        kept = reuse.load(lake, print_) if print_ else {}
        reused = kept.get("charts") if isinstance(kept.get("charts"), dict) else {}
        if any(script.get("log") for script in record.get("scripts", [])):
            reused.pop(HISTORY_TITLE, None)  # a script ran: the history has a new point
        charts = report_charts(lake.root, history, reused)
        if print_:
            reuse.save(lake, print_, charts=dict(charts))
    except Exception as error:  # charts are for people: a broken one never loses a record
        log.warning("charts not drawn: %s", error)
        charts = []
    previous = history[-2] if len(history) > 1 else None
    # the images go in after redaction: base64 text must never be rewritten by a mask
    marks = [(title, f"<!--chart-{n}-->") for n, (title, _) in enumerate(charts)]
    html = redact(render_html(record, marks, previous))
    for (_, mark), (_, image) in zip(marks, charts, strict=True):
        html = html.replace(mark, image, 1)
    folder = lake.run_dir(run_id)
    atomic_write_text(folder / "run.json", text)
    atomic_write_text(folder / "report.html", html)
    atomic_write_text(lake.runs / "latest.json", text)
    atomic_write_text(lake.runs / "latest.html", html)
