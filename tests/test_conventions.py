"""Conventions every discovered script follows, and docs that cannot drift from the code."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, clean_env

from datalake.run.discovery import discover

SCRIPTS, WARNINGS = discover(REPO / "src")
FORBIDDEN_IMPORTS = {"os", "shutil", "hashlib", "dotenv", "minio"}
ABSOLUTE_PATH = re.compile(r"^(/(home|tmp|usr|var|opt|root|mnt|srv|etc|work)/|[A-Za-z]:\\)")
MODULE_LEVEL_OK = (
    ast.Import,
    ast.ImportFrom,
    ast.FunctionDef,
    ast.ClassDef,
    ast.Assign,
    ast.AnnAssign,
)


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text("utf-8"))


def test_the_real_tree_has_no_stray_scripts():
    assert WARNINGS == []
    assert {s.service for s in SCRIPTS} >= {"distrokid"}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.path.name)
def test_script_shape(script):
    tree = _tree(script.path)
    assert ast.get_docstring(tree), "module docstring (input, output, grain, oddities)"
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert "main" in functions
    last = tree.body[-1]
    assert isinstance(last, ast.If) and "__main__" in ast.unparse(last.test)
    for node in tree.body[1:-1]:
        assert isinstance(node, MODULE_LEVEL_OK), f"side effect at import: {ast.unparse(node)}"
        if isinstance(node, ast.Assign | ast.AnnAssign):
            value = ast.unparse(node.value)
            assert "open(" not in value and "run_stage" not in value


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.path.name)
def test_script_hygiene(script):
    tree = _tree(script.path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = {a.name.split(".")[0] for a in node.names}
            assert not names & FORBIDDEN_IMPORTS, f"{names & FORBIDDEN_IMPORTS} belong in datalake"
        if isinstance(node, ast.ImportFrom) and node.module:
            assert node.module.split(".")[0] not in FORBIDDEN_IMPORTS
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id != "print", "use logging"
        if isinstance(node, ast.Attribute) and node.attr == "path":
            assert ast.unparse(node) != "sys.path"
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            assert not ABSOLUTE_PATH.match(node.value), f"absolute path {node.value!r}"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.path.name)
def test_importing_a_script_does_nothing(script, tmp_path):
    module = ".".join(script.path.relative_to(REPO / "src").with_suffix("").parts)
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        env=clean_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("service", sorted({s.service for s in SCRIPTS}))
def test_service_has_schemas_readme_and_tests(service):
    folder = REPO / "src" / service
    cleaners = [s for s in SCRIPTS if s.service == service and not s.is_extractor]
    if cleaners:
        assert list((folder / "schemas").glob("*.json")), "schema files next to the code"
    assert (folder / "README.md").exists()
    assert list((REPO / "tests").glob(f"test_{service}*.py")), "a test module for the service"


@pytest.mark.parametrize(
    "script", [s for s in SCRIPTS if s.stage == "raw2staging"], ids=lambda s: s.path.name
)
def test_every_staging_dataset_has_its_schema(script):
    import importlib

    module = importlib.import_module(
        ".".join(script.path.relative_to(REPO / "src").with_suffix("").parts)
    )
    datasets = getattr(module, "DATASETS", None)
    assert datasets, f"{script.path.name} declares no module-level DATASETS"
    for dataset in datasets:
        assert (script.path.parents[1] / "schemas" / f"stg_{dataset}.json").exists()


def test_every_runner_flag_is_documented_in_readme():
    readme = (REPO / "README.md").read_text("utf-8")
    help_text = subprocess.run(
        [sys.executable, str(REPO / "cronjob" / "run_datalake.py"), "--help"],
        capture_output=True,
        text=True,
    ).stdout
    flags = set(re.findall(r"--[a-z][a-z-]+", help_text)) - {"--help"}
    missing = sorted(f for f in flags if f"`{f}" not in readme)
    assert flags and missing == []


def test_every_datalake_command_has_help_and_is_documented_in_readme():
    from datalake.cli import COMMANDS

    readme = (REPO / "README.md").read_text("utf-8")
    top = subprocess.run(
        [sys.executable, "-m", "datalake", "--help"], capture_output=True, text=True, cwd=REPO
    )
    assert top.returncode == 0
    for name in COMMANDS:
        assert f"`datalake {name}`" in readme, name
        assert f"  {name} " in top.stdout, name
        result = subprocess.run(
            [sys.executable, "-m", "datalake", name, "--help"],
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        assert result.returncode == 0 and f"usage: datalake {name}" in result.stdout, name
    unknown = subprocess.run(
        [sys.executable, "-m", "datalake", "nope"], capture_output=True, text=True, cwd=REPO
    )
    assert unknown.returncode == 2 and "unknown command 'nope'" in unknown.stderr


def test_every_setting_read_by_the_code_is_in_env_example():
    example = (REPO / ".env.example").read_text("utf-8")
    names = set()
    for path in (REPO / "src").rglob("*.py"):
        names |= set(
            re.findall(
                r"(?:setting|secret|int_setting|float_setting|choice_setting)\(\s*\"([A-Z0-9_]+)\"",
                path.read_text("utf-8"),
            )
        )
    names |= _browser_setting_names()
    missing = sorted(n for n in names if not re.search(rf"^#?\s*{n}=", example, re.M))
    assert names and missing == []


def _browser_setting_names() -> set[str]:
    """The settings the browser layer reads per site through f-strings (`<PREFIX>_EMAIL`...;
    `<PREFIX>_ACCOUNTS` for a service with several accounts, else `<PREFIX>_ACCOUNT`)."""
    import importlib

    from datalake.extract.weblogin import Site

    found = set()
    for script in (s for s in SCRIPTS if s.is_extractor):
        module = importlib.import_module(
            ".".join(script.path.relative_to(REPO / "src").with_suffix("").parts)
        )
        for site in (v for v in vars(module).values() if isinstance(v, Site)):
            prefix = site.credential_prefix
            found |= {f"{prefix}_EMAIL", f"{prefix}_PASSWORD"}
            found.add(f"{prefix}_ACCOUNTS" if site.multi_account else f"{prefix}_ACCOUNT")
            found.add(site.base_url_name)
    assert found, "no browser Site found in any extractor"
    return found
