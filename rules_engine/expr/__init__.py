"""The expression language: parse (``parse.py``), translate to Python (``translate.py``), run (``expression.py``)."""
