"""Named limits of the expression sandbox (the simpleeval habit: every bound is a constant with a name)."""
from __future__ import annotations

import decimal

import simpleeval

#: Longest expression text accepted.
MAX_EXPRESSION_LENGTH = 10_000
#: Deepest nesting of expression nodes (and of brackets) accepted.
MAX_NESTING = 50
#: Longest text an evaluation may produce (simpleeval's own bound).
MAX_TEXT_LENGTH = simpleeval.MAX_STRING_LENGTH
#: Most items a list may hold, sub-table rows included.
MAX_LIST_ITEMS = 10_000
#: Largest absolute exponent accepted by ``**`` and POWER.
MAX_EXPONENT = 10_000
#: Significant digits of every number.
PRECISION = 34
#: Largest decimal exponent of a number (1E+999999); beyond it an evaluation fails with ``number_too_large``.
MAX_DECIMAL_EXPONENT = 999_999
#: Longest span in days that date functions iterate over (about 270 years).
MAX_DAY_SPAN = 100_000
#: Default wall-clock budget of one evaluation, in seconds, checked by functions that iterate.
DEFAULT_TIME_BUDGET = 0.25
#: Names an identifier may not start with (simpleeval's list): dunders and private names.
DISALLOW_PREFIXES = tuple(simpleeval.DISALLOW_PREFIXES)

#: The decimal context of every evaluation: exact to 34 digits, bounded exponent, errors trapped.
CONTEXT = decimal.Context(
    prec=PRECISION,
    rounding=decimal.ROUND_HALF_EVEN,
    Emax=MAX_DECIMAL_EXPONENT,
    Emin=-MAX_DECIMAL_EXPONENT,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)
