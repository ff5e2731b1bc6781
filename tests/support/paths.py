"""Files of the repository the tests read."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The French catalogue of every string: the i18n tests check it is complete and compiled.
PO = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"
