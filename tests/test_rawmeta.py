"""Raw-file metadata has a declared shape per format; a converter that breaks it fails loudly."""

from typing import Required

import pytest
from conftest import make_ctx

from datalake.stages.landing2raw import Format, ingest_landing
from datalake.stages.rawmeta import MetaError, RawMeta, check_meta


class ReportMeta(RawMeta, total=False):
    columns: Required[list[str]]
    partial: bool


def test_meta_must_match_its_declaration():
    assert check_meta(ReportMeta, {"rows": 2, "columns": ["a"]}, "report") == {
        "rows": 2,
        "columns": ["a"],
    }
    for wrong, words in (
        ({"columns": ["a"]}, "missing ['rows']"),
        ({"rows": 2, "columns": ["a"], "colour": "red"}, "undeclared ['colour']"),
        ({"rows": "2", "columns": ["a"]}, "wrong type ['rows']"),
        ({"rows": 2, "columns": [1]}, "wrong type ['columns']"),
        ({"rows": True, "columns": []}, "wrong type ['rows']"),
    ):
        with pytest.raises(MetaError, match=words.replace("[", r"\[").replace("]", r"\]")):
            check_meta(ReportMeta, wrong, "report")


def test_a_converter_returning_undeclared_meta_fails_the_script_not_the_file(lake_root):
    def convert(src, dst):
        dst.write_text("a\n1\n", "utf-8")
        return {"rows": 1, "mood": "happy"}

    landing = lake_root / "landing" / "distrokid"
    landing.mkdir(parents=True)
    (landing / "x_20261130T000000Z.csv").write_text("a\n1\n", "utf-8")
    ctx = make_ctx(lake_root, "distrokid", "landing2raw")
    with pytest.raises(MetaError, match="undeclared \\['mood'\\]"):
        ingest_landing(ctx, [Format("x", "things", lambda s: True, convert)])
    assert not ctx.report.quarantined
