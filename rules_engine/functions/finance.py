"""Finance functions with Excel semantics: PMT, IPMT, PPMT, FV, PV, RATE, NPV (see ``rules_engine.finance``)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from .. import finance
from ..errors import EvalError
from .args import number, numbers
from .registry import function


def _args(name: str, values: tuple[Any, ...]) -> list[Decimal] | None:
    out = [number(v, name) for v in values]
    if any(v is None for v in out):
        return None
    return out  # type: ignore[return-value]


def _when(value: Any, name: str) -> Decimal:
    when = finance.ZERO if value is None else number(value, name)
    if when not in (0, 1):
        raise EvalError(f"{name}: type must be 0 (end of period) or 1 (beginning)", "invalid_value")
    return when  # type: ignore[return-value]


@function("PMT", ["number", "number", "number", "number", "number"], min_args=3, returns="number",
          category="finance", doc="The payment per period of an annuity: PMT(rate, nper, pv, [fv], [type]).",
          example="PMT(rate / 12, term, -amount)")
def pmt(rate: Any, nper: Any, pv: Any, fv: Any = None, when: Any = None) -> Decimal | None:
    args = _args("PMT", (rate, nper, pv))
    return None if args is None else finance.pmt_value(*args, number(fv, "PMT") or finance.ZERO, _when(when, "PMT"))


@function("IPMT", ["number", "number", "number", "number", "number", "number"], min_args=4, returns="number",
          category="finance", doc="The interest part of one payment: IPMT(rate, per, nper, pv, [fv], [type]).",
          example="IPMT(rate / 12, 1, term, -amount)")
def ipmt(rate: Any, per: Any, nper: Any, pv: Any, fv: Any = None, when: Any = None) -> Decimal | None:
    args = _args("IPMT", (rate, per, nper, pv))
    return None if args is None else finance.ipmt_value(*args, number(fv, "IPMT") or finance.ZERO,
                                                         _when(when, "IPMT"))


@function("PPMT", ["number", "number", "number", "number", "number", "number"], min_args=4, returns="number",
          category="finance", doc="The principal part of one payment: PPMT(rate, per, nper, pv, [fv], [type]).",
          example="PPMT(rate / 12, 1, term, -amount)")
def ppmt(rate: Any, per: Any, nper: Any, pv: Any, fv: Any = None, when: Any = None) -> Decimal | None:
    args = _args("PPMT", (rate, per, nper, pv))
    return None if args is None else finance.ppmt_value(*args, number(fv, "PPMT") or finance.ZERO,
                                                         _when(when, "PPMT"))


@function("FV", ["number", "number", "number", "number", "number"], min_args=3, returns="number",
          category="finance", doc="The future value of an investment: FV(rate, nper, pmt, [pv], [type]).",
          example="FV(0.04 / 12, 24, -500)")
def fv(rate: Any, nper: Any, payment: Any, pv: Any = None, when: Any = None) -> Decimal | None:
    args = _args("FV", (rate, nper, payment))
    return None if args is None else finance.fv_value(*args, number(pv, "FV") or finance.ZERO, _when(when, "FV"))


@function("PV", ["number", "number", "number", "number", "number"], min_args=3, returns="number",
          category="finance", doc="The present value of a series of payments: PV(rate, nper, pmt, [fv], [type]).",
          example="PV(0.05 / 12, 60, -1000)")
def pv(rate: Any, nper: Any, payment: Any, fv_: Any = None, when: Any = None) -> Decimal | None:
    args = _args("PV", (rate, nper, payment))
    return None if args is None else finance.pv_value(*args, number(fv_, "PV") or finance.ZERO, _when(when, "PV"))


@function("RATE", ["number", "number", "number", "number", "number", "number"], min_args=3, returns="number",
          category="finance", doc="The interest rate per period: RATE(nper, pmt, pv, [fv], [type], [guess]).",
          example="RATE(36, -3042.19, 100000)")
def rate(nper: Any, payment: Any, pv: Any, fv_: Any = None, when: Any = None, guess: Any = None) -> Decimal | None:
    args = _args("RATE", (nper, payment, pv))
    if args is None:
        return None
    return finance.rate_value(*args, number(fv_, "RATE") or finance.ZERO, _when(when, "RATE"),
                              number(guess, "RATE") or Decimal("0.1"))


@function("NPV", ["number", "numbers"], max_args=None, rest="numbers", returns="number", iterates=True,
          category="finance", doc="The net present value of payments at the end of periods 1, 2, ...: "
                                  "NPV(rate, value1, [value2], ...).", example="NPV(0.1, -10000, 3000, 4200, 6800)")
def npv(deadline: float, rate_: Any, *values: Any) -> Decimal | None:
    r = number(rate_, "NPV")
    return None if r is None else finance.npv_value(r, numbers(values, deadline, "NPV"))
