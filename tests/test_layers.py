"""The import graph keeps its floors (the contracts are in pyproject.toml, [tool.importlinter]).

Models, services and selectors import downwards only — core ← catalog ← subscriptions ←
billing ← partners, integrations' plumbing above them — and no door; the doors (admin, views,
forms, api, tasks, commands, template tags, urls) may import across apps in any direction.
`make lint` runs the same check (lint-imports).
"""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = [
    "core",
    "catalog",
    "subscriptions",
    "billing",
    "partners",
    "integrations",
    "reports",
    "storefront",
    "config",
    "demo",
]


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    # In a child process started in `root`: the graph is read from the packages found there
    # (this process has the working tree's already imported).
    code = (
        "import sys\n"
        "sys.path.insert(0, '.')\n"
        "from importlinter.cli import lint_imports\n"
        "sys.exit(lint_imports(no_cache=True, no_logo=True))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False
    )


def test_the_tree_keeps_the_contracts():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def copy_tree(target: Path) -> None:
    shutil.copy(ROOT / "pyproject.toml", target)
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, target / package, ignore=shutil.ignore_patterns("__pycache__")
        )


def test_an_upward_import_from_a_domain_module_breaks_them(tmp_path):
    copy_tree(tmp_path)
    services = tmp_path / "catalog" / "services.py"
    services.write_text(services.read_text() + "\nfrom billing.models import Invoice  # upward\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Domain modules import downwards only BROKEN" in result.stdout
    assert "catalog.services -> billing.models" in result.stdout


def test_a_door_may_import_upwards(tmp_path):
    copy_tree(tmp_path)
    admin = tmp_path / "catalog" / "admin.py"
    admin.write_text(admin.read_text() + "\nfrom billing.models import Invoice  # a door\n")
    assert lint_imports(tmp_path).returncode == 0


def test_a_service_importing_a_door_breaks_them(tmp_path):
    copy_tree(tmp_path)
    services = tmp_path / "integrations" / "services.py"
    services.write_text(services.read_text() + "\nfrom subscriptions.api import CHANNEL\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Models, services and selectors import no door BROKEN" in result.stdout
