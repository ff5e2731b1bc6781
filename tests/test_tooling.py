"""The tools a contributor runs: `make lint` and the pre-commit hooks check the same things."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _lint_commands() -> set[str]:
    makefile = (ROOT / "Makefile").read_text()
    body = re.search(r"^lint:.*\n((?:\t.*\n)+)", makefile, re.M).group(1)
    return {line.strip().replace("$(BIN)/", "") for line in body.splitlines()}


def _hook_commands() -> set[str]:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    entries = {hook["entry"] for repo in config["repos"] for hook in repo["hooks"]}
    return {entry.replace(".venv/bin/", "") for entry in entries}


def test_pre_commit_runs_what_make_lint_runs():
    lint = {command.replace(" .", "") for command in _lint_commands()}
    assert lint == _hook_commands()
    assert "mypy" in lint


def test_the_pre_commit_configuration_is_valid():
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-config", ".pre-commit-config.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_checks_the_core_and_every_services_module():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    services = sorted(
        str(path.relative_to(ROOT))
        for pattern in ("*/services.py", "*/services")
        for path in ROOT.glob(pattern)
        if not path.parts[-2].startswith(".")
    )
    assert services  # catalog, subscriptions, billing, partners, integrations
    missing = [path for path in ["core", *services] if path not in config["files"]]
    assert not missing, f"add {missing} to [tool.mypy] files in pyproject.toml"


def test_the_core_and_the_services_type_check():
    result = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout
