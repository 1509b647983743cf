"""TikTok landing -> raw.

Input: `landing/tiktok/<account>/{overview,followers,profile}/` (the extractor's) and files
dropped by hand anywhere under `landing/tiktok/`.
Output: `raw/tiktok/overview/*.csv` (`date,video_views,profile_views,likes,comments,shares`) and
`raw/tiktok/followers/*.csv` (`date,followers,follower_change`), dates ISO with their year put
back; the account, export, language and window in the raw file's metadata.
Recognised by content: Studio's "Download data" ZIP (its CSV read in memory, never extracted) or
the CSV itself, by its header in any known UI language (`settings.HEADERS`); the profile page
(its embedded state's `followerCount`, the follower count on the day of the capture).
The account is the handle at the end of TikTok's download name
(`Overview_<window start>_<epoch>_<handle>.zip`; the profile page names its own), else the
extractor's account folder; the year of a year-less date comes from the window start in the
name, else from the download time (the name's epoch, the landing stamp or the file's time).
Oddities: a file that cannot be tied to an account, a ZIP without an export CSV, an unsafe or
oversized ZIP (a member path leaving the folder, more than 100x or 64 MiB expanded), an empty,
truncated, unknown-layout or unknown-language export and a saved login page are quarantined.
"""

import csv
import io
import re
import zipfile
from pathlib import Path
from typing import Required

from datalake.paths import file_time, iso
from datalake.problems import Rejected, shown
from datalake.stages import formats
from datalake.stages.driver import run_stage
from datalake.stages.landing2raw import Format, ingest_landing
from datalake.stages.rawmeta import RawMeta
from datalake.tables.io import write_records
from tiktok.exports import download_name, header_language, put_years, read_export
from tiktok.settings import DATASETS, FOLLOWER_COLUMNS, HEADERS, OVERVIEW_COLUMNS, PROFILE_STATE

COLUMNS = {"overview": OVERVIEW_COLUMNS, "followers": FOLLOWER_COLUMNS}
REQUIRED = {"overview": OVERVIEW_COLUMNS, "followers": FOLLOWER_COLUMNS[:2]}
_STATE = re.compile(rf'<script[^>]*id="{PROFILE_STATE}"[^>]*>')


class ExportMeta(RawMeta, total=False):
    """A TikTok raw file: whose it is, what it was, how its dates were read."""

    account: Required[str]
    export: Required[str]  # Overview, FollowerHistory (TikTok's name), or profile
    language: str
    window_start: str


def kind_of(header: list[str]) -> str | None:
    """The dataset an export's header belongs to (overview, followers), in any language."""
    language = header_language(header)
    columns = {HEADERS[language][name] for name in header} if language else set()
    return next((d for d, names in COLUMNS.items() if set(names[:2]) <= columns), None)


def _zip_header(sample) -> tuple[str | None, list[str], list[str] | None]:
    """(dataset, member names, first CSV header) of a ZIP sample, from its CSV members."""
    if not formats.is_zip(sample) or formats.is_workbook(sample) or sample.size > len(sample.head):
        return None, [], None
    first_header = None
    with zipfile.ZipFile(io.BytesIO(sample.head)) as archive:
        names = archive.namelist()
        for name in (n for n in names if n.lower().endswith(".csv")):
            with archive.open(name) as member:
                line = member.read(4096).decode("utf-8-sig", "replace").splitlines()[:1]
            header = next(csv.reader(line), []) if line else []
            if kind_of(header):
                return kind_of(header), names, header
            first_header = first_header or header
    return None, names, first_header


def export_text(src: Path) -> str:
    """The CSV text of an export: the file, or the one CSV member of a downloaded ZIP."""
    data = src.read_bytes()
    if data.startswith(b"PK\x03\x04"):
        members = formats.zip_members(src, lambda n: n.lower().endswith(".csv"), "export CSV")
        if len(members) > 1:
            raise Rejected(f"ZIP holds {len(members)} CSV files ({shown(list(members))}): which?")
        data = next(iter(members.values()))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise Rejected(f"export is not UTF-8 text: {error}") from None


def folder_account(src: Path) -> str | None:
    """The account folder of the extractor's layout `landing/tiktok/<account>/<dataset>/`."""
    parts = src.parts
    for i in range(len(parts) - 4, -1, -1):
        if parts[i : i + 2] == ("landing", "tiktok") and parts[i + 3] in DATASETS:
            return parts[i + 2] if len(parts) == i + 5 else None
    return None


def account_of(src: Path, handle: str | None) -> str:
    account = handle or folder_account(src)
    if not account:
        raise Rejected(
            "cannot tell which TikTok account this file is for: keep TikTok's download name "
            "(Overview_<window start>_<epoch>_<handle>.zip, the handle last) or put it in "
            "landing/tiktok/<handle>/overview/"
        )
    return account


def export(dataset: str):
    """The converter of an overview or followers export (ZIP or CSV) into its raw CSV."""
    columns = COLUMNS[dataset]

    def convert(src: Path, dst: Path) -> dict:
        name = download_name(src)
        account = account_of(src, name and name.handle)
        language, rows = read_export(export_text(src))
        missing = [c for c in REQUIRED[dataset] if rows and c not in rows[0]]
        if missing or not rows:
            raise Rejected(
                f"export lacks {', '.join(missing)}" if missing else "export has no days"
            )
        start, downloaded = (name.window_start, name.downloaded) if name else (None, None)
        days = put_years([r["date"] for r in rows], language, start, downloaded or file_time(src))
        records = [
            (d.isoformat(), *(r.get(c, "") for c in columns[1:]))
            for d, r in zip(days, rows, strict=True)
        ]
        meta = {"rows": write_records(dst, list(columns), records), "account": account}
        meta.update(export=name.export if name else dataset, language=language)
        meta.update(first_date=days[0].isoformat(), last_date=days[-1].isoformat())
        if name:
            meta.update(window_start=name.window_start.isoformat(), extracted_at=iso(downloaded))
        return meta

    return convert


def profile(src: Path, dst: Path) -> dict:
    """The profile page's follower count, as that day's followers."""
    state = formats.embedded_json(src.read_bytes(), _STATE, "profile state")
    user = ((state.get("__DEFAULT_SCOPE__") or {}).get("webapp.user-detail") or {}).get("userInfo")
    if not isinstance(user, dict) or "followerCount" not in (user.get("stats") or {}):
        raise Rejected("profile page without a follower count (layout changed?)")
    day = file_time(src).date().isoformat()
    account = account_of(src, (user.get("user") or {}).get("uniqueId"))
    count = user["stats"]["followerCount"]
    rows = write_records(dst, list(FOLLOWER_COLUMNS), [(day, count, "")])
    meta = {"rows": rows, "account": account, "export": "profile"}
    return {**meta, "first_date": day, "last_date": day}


def is_export(dataset: str):
    def detect(sample) -> bool:
        if formats.is_zip(sample):
            return _zip_header(sample)[0] == dataset
        return kind_of(list(sample.header())) == dataset

    return detect


def _unknown(header) -> str:
    return (
        f"unknown TikTok export layout or language (header: {shown(header, 150)}); known: "
        f"{', '.join(HEADERS)} (settings.HEADERS)"
    )


def not_an_export(sample) -> str | None:
    """The reason a TikTok-looking file is no export we know: a ZIP without an export CSV (or
    that cannot be opened), or a file named like a download whose header is unknown."""
    if formats.is_zip(sample) and not formats.is_workbook(sample):
        if sample.size > len(sample.head):
            return f"ZIP of {sample.size:,} bytes, far larger than a TikTok export: not read"
        try:
            kind, names, header = _zip_header(sample)
        except (zipfile.BadZipFile, EOFError, ValueError) as error:
            return f"ZIP archive that cannot be read (cut short?): {error}"
        if kind is None and header:
            return _unknown(header)
        if kind is None:
            return f"ZIP without a TikTok export CSV (members: {shown(names, 150)})"
        return None
    header = list(sample.header())
    if download_name(sample.path) and kind_of(header) is None and sample.size:
        return _unknown(header)
    return None


login_required = formats.login_page(
    ('type="password"', "Log in | TikTok"),
    data_markers=(PROFILE_STATE, "Video Views", "Followers"),
    reason="not data: a TikTok login page (the session had expired; log in again with "
    "--login --account <handle>, then re-run the extractor)",
)
FORMATS = [
    Format(f"{d}_export", d, is_export(d), export(d), schema=f"raw_{d}", meta=ExportMeta)
    for d in COLUMNS
] + [
    Format(
        "profile_page",
        "followers",
        lambda s: PROFILE_STATE in s.text,
        profile,
        schema="raw_followers",
        meta=ExportMeta,
    )
]


def main() -> None:
    run_stage(
        __file__, lambda ctx: ingest_landing(ctx, FORMATS, rejects=[login_required, not_an_export])
    )


if __name__ == "__main__":
    main()
