"""The layout of the tests themselves: each test module stands on its own, and is named after what
it tests.

A test module that imports another (for a fixture, a helper, a constant) runs that module's tests'
imports and fixtures with it, ties the two together when either moves, and hides where a helper
lives; shared pieces belong in tests/support/ or in a conftest.py. And a file named `*_more.py`
says when it was written, not what it tests: merge it into the file it extends or name it after
its subject.
"""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
TEST_MODULES = sorted(TESTS.rglob("test_*.py"))


def imported_modules(path: Path) -> list[str]:
    """Every module `path` imports, by its dotted name ("from tests.a import test_b" counts
    tests.a.test_b, since test_b may be the module)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            found.append(base)
            found.extend(f"{base}.{alias.name}".lstrip(".") for alias in node.names)
    return found


def test_the_test_modules_are_found():
    # a wrong glob would make the checks below pass on nothing
    assert len(TEST_MODULES) > 50
    assert Path(__file__).resolve() in TEST_MODULES


def test_a_test_module_imports_no_other_test_module():
    # one test for them all, naming every offender at once
    offenders = {
        str(path.relative_to(TESTS)): imports
        for path in TEST_MODULES
        if (
            imports := [
                n for n in imported_modules(path) if n.rsplit(".", 1)[-1].startswith("test_")
            ]
        )
    }
    assert offenders == {}, "move what they share to tests/support/ or a conftest.py"


def test_no_test_file_is_named_more():
    more = [str(p.relative_to(TESTS)) for p in TESTS.rglob("*_more.py")]
    assert more == [], "merge them into the file they extend, or name them after their subject"


def test_the_check_sees_an_import_of_a_test_module(tmp_path):
    # the spellings an import of a test module takes
    for source in (
        "from tests.api.test_access import CHANGES\n",
        "from tests.api import test_access\n",
        "import tests.api.test_access\n",
        "from .test_access import CHANGES\n",
    ):
        path = tmp_path / "test_example.py"
        path.write_text(source)
        assert any(n.rsplit(".", 1)[-1] == "test_access" for n in imported_modules(path)), source
