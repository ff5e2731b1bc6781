"""The README's commands work as written, on a fresh checkout after `make setup`.

`make setup` runs for real (its migrate and seed_demo, not its pip install) into a var folder of
the test's own (CADENCE_VAR_DIR); then every `manage.py` command the README shows runs as
written, from the repository, in an environment with nothing else set: what a developer types
in a new terminal.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
STRONG_KEY = "k3J9x-2mQpL8vR4tY7wZ1aB5cD6eF0gH-iJ2kL3mN4oP5qR6sT7uV8wX9yZ"
# What the README leaves to the reader, filled in as a reader would.
PLACEHOLDERS = {
    "SECRET_KEY=…": f"SECRET_KEY={STRONG_KEY}",
    "ALLOWED_HOSTS=…": "ALLOWED_HOSTS=billing.example.com",
}
# Not run: it asks questions (and, without a terminal, answers that it skipped).
INTERACTIVE = {"createsuperuser"}


def readme_commands() -> list[str]:
    """Every manage.py command of the README: the lines of its shell blocks, and the commands
    in running text (with the variables the sentence sets before them, "With `DEBUG=false …`,
    `… check --deploy` reports no issue")."""
    text = README.read_text()
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            if "manage.py" in line:
                commands.append(line)
    for paragraph in re.split(r"\n\s*\n", re.sub(r"```.*?```", "", text, flags=re.S)):
        paragraph = " ".join(paragraph.split())
        for match in re.finditer(r"(?:With `([^`]*)`, )?`([^`]*manage\.py [^`]*)`", paragraph):
            variables, command = match.groups()
            if "…" in command:
                continue  # "the `.venv/bin/python manage.py …` commands": no command
            commands.append(f"{variables} {command}" if variables else command)
    return commands


def as_run(command: str) -> str:
    for placeholder, value in PLACEHOLDERS.items():
        command = command.replace(placeholder, value)
    if not (ROOT / ".venv" / "bin" / "python").exists():  # a suite run by another interpreter
        command = command.replace(".venv/bin/python", sys.executable)
    return command


def bare_environment(var_dir: Path, **extra: str) -> dict[str, str]:
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    return {**keep, "CADENCE_VAR_DIR": str(var_dir), **extra}


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    """The state `make setup` leaves, in a var folder of the test's own."""
    var_dir = tmp_path_factory.mktemp("var")
    result = subprocess.run(
        ["make", "-o", "install", "setup"],  # -o install: this suite's environment is installed
        cwd=ROOT,
        env=bare_environment(var_dir),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (var_dir / ".env").read_text().splitlines()[-1] == "DEBUG=true"
    return var_dir


def test_the_readme_shows_the_commands_this_test_runs():
    names = {command.split("manage.py", 1)[1].split()[0] for command in readme_commands()}
    assert {"drf_create_token", "run_billing", "seed_demo", "check", "createsuperuser"} <= names


@pytest.mark.parametrize(
    "command",
    [c for c in readme_commands() if c.split("manage.py", 1)[1].split()[0] not in INTERACTIVE],
)
def test_a_readme_command_works_as_written(checkout, command):
    # The README's own command line, run by a shell as a reader would.
    result = subprocess.run(  # noqa: S602
        as_run(command),
        shell=True,
        cwd=ROOT,
        env=bare_environment(checkout),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    if "drf_create_token" in command:
        assert "Generated token" in result.stdout
    if "check --deploy" in command:
        assert "System check identified no issues" in result.stdout


def test_seed_demo_prints_the_port_actually_served(checkout):
    result = subprocess.run(
        [as_run(".venv/bin/python"), "manage.py", "seed_demo"],
        cwd=ROOT,
        env=bare_environment(checkout, WEB_PORT="8123"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "http://127.0.0.1:8123/admin/" in result.stdout
    assert ":8000" not in result.stdout


def test_without_the_development_file_debug_stays_off(tmp_path):
    # A server: no var/.env, so no SECRET_KEY is no start (the defaults are not production's).
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=bare_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "SECRET_KEY is not set" in result.stderr


def test_the_environment_wins_over_the_development_file(checkout):
    # Production settings on a machine that once ran `make setup`: still clean.
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=bare_environment(
            checkout, DEBUG="false", SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="billing.example.com"
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
