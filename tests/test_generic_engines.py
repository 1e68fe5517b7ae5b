"""The engines are generic: no lending word or rule in their code, templates, schemas or tests' apps."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGINES = ("engine", "forms_engine", "flow_engine", "rules_engine", "report_engine", "designer_ui")
#: words of the lending domain (generic finance such as instalments, or "overdue" tasks, is fine)
WORDS = re.compile(r"(?<![a-z])(loans?|lending|lender|borrowers?|credit[ _]?(score|limit|officer)|repayments?|"
                   r"collateral|disburse[a-z]*|guarantor|mortgage|write[- _]?off|bad[- _]debt)(?![a-z])"
                   r"|贷|放款|还款|抵押|担保人|授信", re.I)
SUFFIXES = {".py", ".html", ".js", ".css", ".json", ".yaml", ".yml", ".md", ".txt"}


def offending_lines() -> list[str]:
    found = []
    for package in ENGINES:
        for path in sorted((ROOT / package).rglob("*")):
            if path.suffix not in SUFFIXES or not path.is_file() or "node_modules" in path.parts \
                    or path.name == "regions.json" or "vendor" in path.parts:
                continue
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if WORDS.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    return found


def test_engine_packages_contain_no_lending_words() -> None:
    assert offending_lines() == []


def test_the_check_would_catch_one() -> None:
    assert WORDS.search("def approve_loan(amount):") and WORDS.search("# 贷款审批") and not WORDS.search("download")
