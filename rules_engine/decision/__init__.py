"""Decision tables (DMN-like): definition → ``build_decision_table`` → ``DecisionTable.evaluate`` → ``Decision``.

``cells.py`` reads cells, ``loader.py`` checks a definition and compiles it, ``table.py`` runs it (hit policies,
traces), ``analysis.py`` finds overlaps and gaps, ``testing.py`` runs the examples a table carries.
"""
from __future__ import annotations

from .loader import build_decision_table
from .table import AGGREGATIONS, HIT_POLICIES, Decision, DecisionTable, Recording, recording
from .testing import TestResult, run_table_tests, run_tests, summary_line

__all__ = ["AGGREGATIONS", "HIT_POLICIES", "Decision", "DecisionTable", "Recording", "TestResult",
           "build_decision_table", "recording", "run_table_tests", "run_tests", "summary_line"]
