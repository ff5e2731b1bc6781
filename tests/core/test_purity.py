"""The core has no Django import: it must load in a bare interpreter."""

import subprocess
import sys


def test_the_pure_core_imports_without_django():
    code = (
        "import sys\n"
        "import core.periods, core.pricing, core.codes, core.contracts\n"
        "import core.money, core.errors, core.i18n, core.text\n"
        "leaked = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "print(','.join(leaked))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
