"""The rules the code and the tests cite are in the repository: docs/billing-rules.md.

They cite it as "billing-rules §7" (a numbered section, "### 7. Coupons and vouchers") and
"billing-rules example 6.1" (a numbered example, "**Example 6.1 — …**"); a citation of a section or
example the page does not have points a reader nowhere. Before, they cited the product's own
rules file, which the repository does not hold.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RULES_PAGE = ROOT / "docs" / "billing-rules.md"
PACKAGES = [
    "config",
    "core",
    "catalog",
    "subscriptions",
    "billing",
    "partners",
    "integrations",
    "reports",
    "tests",
    "bench",
]
# The old name, spelled so that this file does not cite it itself.
OLD_NAME = re.compile(r"\b" + "RUL" + r"ES\b")

SECTION = re.compile(r"§(\d+)(?:\s*[–-]\s*(\d+))?")
NUMBER = r"\d+\.\d+"
EXAMPLES = re.compile(
    rf"(?<![A-Za-z])(?<!for )examples?[ _]({NUMBER}|\d+_\d+)((?:\s*(?:,|and|–|-)\s*{NUMBER})*)",
    re.IGNORECASE,
)


def python_files() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def sections_and_examples(page: str) -> tuple[set[int], set[str]]:
    """The numbered sections ("### 7. …") and examples ("**Example 6.1 …", "**Example 7.1.**")
    of the rules page."""
    sections = {int(n) for n in re.findall(r"^### (\d+)\. ", page, flags=re.MULTILINE)}
    examples = set(re.findall(rf"\*\*Example ({NUMBER})\b", page))
    return sections, examples


def cited(text: str) -> tuple[set[int], set[str]]:
    """The sections and examples `text` cites: "billing-rules §4–5" is sections 4 and 5,
    "examples 3.1–3.4" is 3.1 to 3.4, "examples 4.2, 6.1 and 6.2" each of them, a test named
    "…_example_6_1" example 6.1."""
    sections = set()
    for first, last in SECTION.findall(text):
        sections.update(range(int(first), int(last or first) + 1))
    examples = set()
    for first, rest in EXAMPLES.findall(text):
        first = first.replace("_", ".")
        examples.add(first)
        for separator, number in re.findall(rf"(,|and|–|-)\s*({NUMBER})", rest):
            if separator in "–-":  # a range within one section
                section, start = first.split(".")
                examples.update(
                    f"{section}.{n}" for n in range(int(start), int(number.split(".")[1]) + 1)
                )
            else:
                examples.add(number)
    return sections, examples


def test_the_rules_page_numbers_its_sections_and_examples():
    sections, examples = sections_and_examples(RULES_PAGE.read_text())
    assert sections == set(range(1, 14))
    assert {"1.1", "3.4", "4.2", "6.1", "7.1", "8.2", "13.2"} <= examples


def test_citations_are_read_as_they_are_written():
    assert cited("billing-rules §4–5, example 4.1") == ({4, 5}, {"4.1"})
    assert cited("billing-rules examples 4.2, 6.1 and 6.2") == (set(), {"4.2", "6.1", "6.2"})
    assert cited("the golden examples 3.1–3.4") == (set(), {"3.1", "3.2", "3.3", "3.4"})
    assert cited("def test_the_quarter_of_example_6_1():") == (set(), {"6.1"})
    assert cited("a price, for example 60.00 per seat per year") == (set(), set())


def test_every_cited_section_and_example_is_in_the_rules_page():
    sections, examples = sections_and_examples(RULES_PAGE.read_text())
    missing = {}
    for path in python_files():
        cited_sections, cited_examples = cited(path.read_text())
        unknown = sorted(f"§{n}" for n in cited_sections - sections) + sorted(
            f"example {n}" for n in cited_examples - examples
        )
        if unknown:
            missing[str(path.relative_to(ROOT))] = unknown
    assert missing == {}, "not in docs/billing-rules.md"


def test_the_rules_are_cited_by_the_name_of_their_page():
    offenders = {}
    for path in python_files():
        text = path.read_text()
        # Every § is a section of the rules page, named so: "billing-rules §7".
        wrong = [m.group(0) for m in OLD_NAME.finditer(text)] + [
            m.group(0) for m in re.finditer(r"(?<!billing-rules )§\d+", text)
        ]
        if wrong:
            offenders[str(path.relative_to(ROOT))] = wrong
    assert offenders == {}, "cite docs/billing-rules.md as 'billing-rules §n'"


def test_the_citations_are_found():
    # a wrong pattern would make the checks above pass on nothing
    sections = examples = 0
    for path in python_files():
        found = cited(path.read_text())
        sections += len(found[0])
        examples += len(found[1])
    assert sections > 30 and examples > 30
