"""Run the Schematron XSLTs (XSLT 2.0, with Saxon) over e-invoice files, in a child process.

    python -m billing.einvoice.validation_worker < [{"stylesheets": [...], "document": "..."}]

Reads a JSON list of jobs on stdin and writes a JSON list of findings lists on stdout, one per
job, in order: {"rule", "flag", "text", "location", "stylesheet"} for each failed assert or
successful report of the SVRL. Each stylesheet is compiled once per run, however many documents
use it. Saxon (saxonche) is native code that can crash the process that loads it: the caller
(billing/einvoice/validation.py) runs this as a child, never in a web or Celery worker. Pure
Python, no Django, no network: the stylesheets' document() calls read the files beside them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from lxml import etree
from saxonche import PySaxonProcessor

SVRL = "http://purl.oclc.org/dsdl/svrl"


def findings(svrl: str, stylesheet: str) -> list[dict[str, str]]:
    root = etree.fromstring(svrl.encode())
    result = []
    for node in root.iter(f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report"):
        text = " ".join("".join(node.itertext()).split())
        result.append(
            {
                "rule": node.get("id") or "",
                "flag": node.get("flag") or "error",
                "text": text,
                "location": node.get("location") or "",
                "stylesheet": Path(stylesheet).name,
            }
        )
    return result


def run(jobs: list[dict]) -> list[list[dict[str, str]]]:
    with PySaxonProcessor(license=False) as processor:
        compiler = processor.new_xslt30_processor()
        compiled = {}
        results = []
        for job in jobs:
            found: list[dict[str, str]] = []
            for stylesheet in job["stylesheets"]:
                if stylesheet not in compiled:
                    compiled[stylesheet] = compiler.compile_stylesheet(stylesheet_file=stylesheet)
                svrl = compiled[stylesheet].transform_to_string(source_file=job["document"])
                found += findings(svrl, stylesheet)
            results.append(found)
        return results


def main() -> None:
    jobs = json.load(sys.stdin)
    json.dump(run(jobs), sys.stdout)


if __name__ == "__main__":
    main()
