"""Excel and CSV import and export of form records (docs/import-export.md).

``reading`` checks and reads uploads, ``mapping`` matches columns to fields, ``importer`` checks rows with the
records API's validation and writes them in bulk, ``exporter`` streams list views, ``service`` runs import jobs.
"""
from .exporter import Export, neutralise
from .importer import Importer, Options, Plan, relation_key
from .reading import LIMITS, Limits, Workbook, read_upload

__all__ = ["Export", "Importer", "LIMITS", "Limits", "Options", "Plan", "Workbook", "neutralise", "read_upload",
           "relation_key"]
