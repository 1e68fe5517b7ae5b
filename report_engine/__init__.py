"""Loomwork's report engine: datasets, dimensions, measures and filters compiled to one SQL query per report,
plotly charts, dashboards with shared and linked filters, drill-down and export.

Public API: ``platform.services["reports"]`` (``report_engine.service.Reports``): ``run``, ``dashboard``,
``drill``, ``filter_options``, ``export``, ``sql``; specs in ``report_engine.spec``.
"""
