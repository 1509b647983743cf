"""The sandbox notebooks run top to bottom on the demo lake (issue 18), so a change that breaks
one fails the build; they are stored without outputs and read curated through the package."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, clean_env

NOTEBOOKS = sorted((REPO / "sandbox").glob("*.ipynb"))


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("notebooks") / "demo_lake"
    result = subprocess.run(
        [sys.executable, "-m", "datalake.demo", "--root", str(root)],
        env=clean_env(root),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return root


def test_there_are_the_three_notebooks_stored_without_outputs():
    assert [p.stem for p in NOTEBOOKS] == [
        "earnings_by_month_and_store",
        "marketing_vs_streams_per_track",
        "streams_overview",
    ]
    for path in NOTEBOOKS:
        book = json.loads(path.read_text("utf-8"))
        for cell in book["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, path.name
        code = "\n".join("".join(c["source"]) for c in book["cells"] if c["cell_type"] == "code")
        assert "from datalake import notebook as lake" in code  # the package, never raw paths
        assert not re.search(r"\b(raw|staging|landing)/|read_parquet|\.parquet", code), path.name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_notebook_runs_top_to_bottom_on_the_demo_lake(path, demo_root, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    for name, value in clean_env(demo_root).items():  # the kernel inherits this environment
        monkeypatch.setenv(name, value)
    book = nbformat.read(path, as_version=4)
    NotebookClient(book, timeout=180, kernel_name="python3", cwd=str(REPO)).execute()
    text = "".join(out.get("text", "") for cell in book.cells for out in cell.get("outputs", []))
    assert f"lake {demo_root.resolve()}: 18 curated table(s)" in text
    images = [
        out
        for cell in book.cells
        for out in cell.get("outputs", [])
        if "image/png" in out.get("data", {})
    ]
    assert images, "every notebook draws at least one chart"
    expected = {
        "streams_overview": r"summable streams: ([\d,]+) = tidy_daily_streams: \1",
        "earnings_by_month_and_store": r"\d+ source-months, all exact",
        "marketing_vs_streams_per_track": r"Mira Vale - Night Drive: 24 day\(s\) of spend",
    }[path.stem]
    assert re.search(expected, text), text
