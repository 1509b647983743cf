"""Adding a platform is adding a folder: two throwaway services, end to end through the runner.

`zzapi` is an API platform (a key, offset paging) and `zzweb` a browser one (a login form, a
stats page), each with an extractor against a tiny fake served on 127.0.0.1, the three cleaners,
its own curated table and a partition of the shared `tidy_daily_streams`. They live in a
temporary code root (DATALAKE_CODE_ROOT, on PYTHONPATH as `src/` is): nothing of the project is
edited, and the runner discovers and runs them. README's "Adding a service" walks through this.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import REPO, RUNNER, clean_env

KEY, EMAIL, PASSWORD = "zz-key-SECRET-42", "label@example.com", "pw-SECRET-zz"
PLAYS = [("2026-11-01", 5), ("2026-11-02", 7), ("2026-11-03", 0), ("2026-11-04", 11)]
WEB_PLAYS = [("2026-11-02", 3), ("2026-11-03", 4)]

SERVICES = {
    "zzapi/__init__.py": "",
    "zzapi/settings.py": '''
        """zzapi constants."""

        SERVICE = "zzapi"
        DEFAULT_BASE_URL = "https://api.zzapi.example"
        PAGE_SIZE = 2
    ''',
    "zzapi/extractors/zzapi_extractor.py": '''
        """zzapi extractor: daily plays from the API (key in ZZAPI_KEY), offset paging."""

        from datalake.extract.api import ApiExtractor, api_main, api_setting, secret_setting
        from datalake.extract.http import HttpClient
        from datalake.extract.paging import offset_pages
        from zzapi.settings import DEFAULT_BASE_URL, PAGE_SIZE


        def connect(key: str, base_url: str):
            return HttpClient(headers={"Authorization": f"Bearer {key}"}, secrets=[key]), base_url


        def extract(run, client) -> int:
            http, base_url = client
            pages = offset_pages(http, f"{base_url}/api/plays", items="plays", page_size=PAGE_SIZE)
            run.save("plays", "plays", {"endpoint": "/api/plays"}, pages)
            return 0


        EXTRACTOR = ApiExtractor(
            settings=(
                secret_setting("ZZAPI_KEY", "key"),
                api_setting("ZZAPI_BASE_URL", "base_url", DEFAULT_BASE_URL),
            ),
            connect=connect,
            extract=extract,
            login=lambda client: "the key works",
            login_help="check that ZZAPI_KEY works",
            renew_hint="create a new key at https://zzapi.example/keys and set ZZAPI_KEY",
            items="plays",
        )


        def main() -> None:
            api_main(__file__, EXTRACTOR)


        if __name__ == "__main__":
            main()
    ''',
    "zzapi/cleaners/zzapi_raw2staging.py": '''
        """zzapi raw -> staging: one row per date, the latest extraction winning."""

        from datalake.stages.driver import run_stage
        from datalake.stages.raw2staging import build_staging
        from datalake.tables.io import read_csv_text
        from datalake.tables.lineage import add_lineage
        from datalake.tables.transforms import latest_per_key


        def plays(files):
            tables = [add_lineage(read_csv_text(f.path), f.lineage) for f in files]
            return latest_per_key(tables, "date")


        DATASETS = {"plays": plays}


        def main() -> None:
            run_stage(__file__, lambda ctx: build_staging(ctx, DATASETS))


        if __name__ == "__main__":
            main()
    ''',
    "zzapi/cleaners/zzapi_staging2curated.py": '''
        """zzapi staging -> curated: `zzapi_daily` and its partition of tidy_daily_streams."""

        from datalake.stages.driver import run_stage
        from datalake.stages.shared_tables import tidy_daily_streams
        from datalake.stages.staging2curated import CuratedTable, publish_curated
        from zzapi.settings import SERVICE

        TABLES = [
            CuratedTable("zzapi_daily", lambda staging: staging.table("plays"), inputs=("plays",)),
            CuratedTable(
                "tidy_daily_streams",
                lambda staging: tidy_daily_streams(staging, SERVICE, spotify="plays", apple=None),
                partition=SERVICE,
                inputs=("plays",),
            ),
        ]


        def main() -> None:
            run_stage(__file__, lambda ctx: publish_curated(ctx, TABLES))


        if __name__ == "__main__":
            main()
    ''',
    "zzweb/__init__.py": "",
    "zzweb/settings.py": '''
        """zzweb constants."""

        SERVICE = "zzweb"
        PLAYS_RE = r"var plays = (\\[.*?\\]);"
    ''',
    "zzweb/extractors/zzweb_extractor.py": '''
        """zzweb extractor: the stats page, through a browser session (ZZWEB_EMAIL/PASSWORD)."""

        import re

        from datalake.extract.browser import Site, browser_main

        SITE = Site(
            service="zzweb",
            base_url="https://zzweb.example",
            credential_prefix="ZZWEB",
            home_path="/dashboard",
            login_path=re.compile(r"^/signin"),
        )


        def extract(session) -> int:
            session.save_page("/stats", "plays", "plays.html", expect="var plays")
            return 0


        def main() -> None:
            browser_main(__file__, SITE, extract)


        if __name__ == "__main__":
            main()
    ''',
}
LANDING2RAW = '''
    """{service} landing -> raw: {what} to a daily `date,streams` series."""

    import json
    import re

    from datalake.stages.formats import daily_series, json_opening
    from datalake.stages.landing2raw import Format, ingest_landing
    from datalake.stages.driver import run_stage
    from {service}.settings import {settings}


    {parse}


    FORMATS = [Format("{name}", "plays", {detect}, daily_series(points), schema="raw_plays")]


    def main() -> None:
        run_stage(__file__, lambda ctx: ingest_landing(ctx, FORMATS))


    if __name__ == "__main__":
        main()
'''
PARSE_API = """def points(data: bytes):
        doc = json.loads(data)
        return [(p["date"], p["plays"]) for page in doc["pages"] for p in page["plays"]]"""
PARSE_WEB = """def points(data: bytes):
        found = re.search(PLAYS_RE, data.decode("utf-8"))
        return [(p["day"], p["count"]) for p in json.loads(found[1])]"""
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "date": {"type": "string", "format": "date"},
        "streams": {"type": "integer", "minimum": 0},
    },
    "required": ["date", "streams"],
}


def _write_services(root: Path) -> None:
    files = dict(SERVICES)
    api = LANDING2RAW.format(
        service="zzapi",
        what="the API's envelopes",
        settings="SERVICE",
        parse=PARSE_API,
        name="plays_api",
        detect='lambda s: json_opening(s, f"{SERVICE}_request") is not None',
    )
    web = LANDING2RAW.format(
        service="zzweb",
        what="the saved stats page",
        settings="PLAYS_RE",
        parse=PARSE_WEB,
        name="stats_page",
        detect="lambda s: re.search(PLAYS_RE, s.text) is not None",
    )
    files["zzapi/cleaners/zzapi_landing2raw.py"] = api
    files["zzweb/cleaners/zzweb_landing2raw.py"] = web
    for name in ("raw2staging", "staging2curated"):
        text = files[f"zzapi/cleaners/zzapi_{name}.py"].replace("zzapi", "zzweb")
        files[f"zzweb/cleaners/zzweb_{name}.py"] = text.replace(
            'spotify="plays", apple=None', 'spotify=None, apple="plays"'
        )
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip(), "utf-8")
    for service in ("zzapi", "zzweb"):
        schemas = root / service / "schemas"
        schemas.mkdir()
        for name in ("raw_plays", "stg_plays", f"{service}_daily"):
            doc = {**SCHEMA, "title": name, "x-key": ["date"]}
            if name == "raw_plays":
                doc["x-lineage"] = False
            (schemas / f"{name}.json").write_text(json.dumps(doc, indent=2), "utf-8")
        (root / service / "README.md").write_text(f"# {service}\n\nA throwaway test service.\n")


class _Fake(BaseHTTPRequestHandler):
    """The zzapi API (`/api/plays`, bearer key, count+offset) and the zzweb site (a login form,
    a session cookie, `/stats`)."""

    def log_message(self, *args) -> None:
        pass

    def _send(self, status: int, body: bytes = b"", kind="text/html", **headers) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        from urllib.parse import parse_qs, urlsplit

        parts = urlsplit(self.path)
        signed_in = "sid=ok" in (self.headers.get("Cookie") or "")
        if parts.path == "/api/plays":
            if self.headers.get("Authorization") != f"Bearer {KEY}":
                body = json.dumps({"title": "API Key Invalid", "status": 401}).encode()
                return self._send(401, body, "application/problem+json")
            query = {k: int(v[0]) for k, v in parse_qs(parts.query).items()}
            rows = [{"date": d, "plays": n} for d, n in PLAYS]
            page = rows[query["offset"] : query["offset"] + query["count"]]
            body = json.dumps({"plays": page, "total_items": len(rows)}).encode()
            return self._send(200, body, "application/json")
        if parts.path == "/signin":
            form = (
                '<form method="post" action="/signin"><input type="email" name="email">'
                '<input type="password" name="password"><button type="submit">Sign in</button>'
                "</form>"
            )
            return self._send(200, f"<html><body>{form}</body></html>".encode())
        if not signed_in:
            return self._send(302, Location="/signin")
        if parts.path == "/stats":
            days = json.dumps([{"day": d, "count": n} for d, n in WEB_PLAYS])
            return self._send(200, f"<html><script>var plays = {days};</script></html>".encode())
        return self._send(200, b"<html><body>Dashboard</body></html>")

    def do_POST(self) -> None:
        from urllib.parse import parse_qs

        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if (form.get("email"), form.get("password")) == (EMAIL, PASSWORD):
            return self._send(302, Location="/dashboard", Set_Cookie="sid=ok; Path=/")
        return self._send(200, b'<html><div role="alert">Wrong password</div></html>')


@pytest.fixture
def fake():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Fake)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _project_files() -> dict[str, tuple[int, int]]:
    """Size and mtime of every project file (what a new service must not need to edit)."""
    found = {}
    for top in ("src", "cronjob", "tests", "scripts", ".ci"):
        for path in (REPO / top).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and ".egg-info" not in str(path):
                info = path.stat()
                found[path.relative_to(REPO).as_posix()] = (info.st_size, info.st_mtime_ns)
    for name in ("pyproject.toml", "README.md", ".env.example"):
        info = (REPO / name).stat()
        found[name] = (info.st_size, info.st_mtime_ns)
    return found


def _rows(lake: Path, table: str) -> list[dict[str, str]]:
    with open(lake / "curated" / f"{table}.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_two_new_services_are_a_folder_each_and_run_end_to_end(tmp_path, fake):
    code, lake = tmp_path / "code", tmp_path / "lake"
    _write_services(code)
    before = _project_files()
    env = clean_env(
        lake,
        DATALAKE_CODE_ROOT=str(code),
        PYTHONPATH=os.pathsep.join([str(code), os.environ.get("PYTHONPATH", "")]),
        ZZAPI_KEY=KEY,
        ZZAPI_BASE_URL=fake,
        ZZWEB_EMAIL=EMAIL,
        ZZWEB_PASSWORD=PASSWORD,
        ZZWEB_BASE_URL=fake,
        PLAYWRIGHT_SESSION_DIR=str(tmp_path / "sessions"),
        BROWSER_HEADLESS="true",
        BROWSER_TIMEOUT_SECONDS="10",
    )

    def runner(*flags: str, **extra: str):
        return subprocess.run(
            [sys.executable, str(RUNNER), "--no-progress", *flags],
            env={**env, **extra},
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )

    first = runner()
    assert first.returncode == 0, first.stdout + first.stderr
    record = json.loads((lake / "_runs" / "latest.json").read_text("utf-8"))
    ran = {(s["service"], s["stage"]): s["status"] for s in record["scripts"]}
    assert ran == {
        (service, stage): "ok"
        for service in ("zzapi", "zzweb")
        for stage in ("extract", "landing2raw", "raw2staging", "staging2curated")
    }
    api = [(r["date"], int(r["streams"])) for r in _rows(lake, "zzapi_daily")]
    web = [(r["date"], int(r["streams"])) for r in _rows(lake, "zzweb_daily")]
    assert api == PLAYS and web == WEB_PLAYS
    shared = [
        (r["source"], r["date"], r["spotify_streams"], r["apple_streams"], r["combined_streams"])
        for r in _rows(lake, "tidy_daily_streams")
    ]
    assert shared == [
        *(("zzapi", d, str(n), "", "") for d, n in PLAYS),
        *(("zzweb", d, "", str(n), "") for d, n in WEB_PLAYS),
    ]
    assert all(
        r["_source_file"].startswith("landing/zzapi/plays/") for r in _rows(lake, "zzapi_daily")
    )
    for path in lake.rglob("*"):  # neither secret reached a zone, a log or a report
        if path.is_file():
            assert (
                KEY.encode() not in path.read_bytes() and PASSWORD.encode() not in path.read_bytes()
            )

    again = runner("--skip-extractors")
    assert again.returncode == 0
    record = json.loads((lake / "_runs" / "latest.json").read_text("utf-8"))
    assert {s["status"] for s in record["scripts"]} == {"up to date"}
    assert _project_files() == before  # nothing outside the two folders was edited

    # a revoked key: exit 3, and the report says what a person does for this platform
    revoked = runner("--service", "zzapi", "--stage", "extract", ZZAPI_KEY="zz-key-REVOKED")
    assert revoked.returncode == 3, revoked.stdout + revoked.stderr
    record = json.loads((lake / "_runs" / "latest.json").read_text("utf-8"))
    assert record["login_needed"] == [
        {
            "service": "zzapi",
            "command": "create a new key at https://zzapi.example/keys and set ZZAPI_KEY",
        }
    ]
