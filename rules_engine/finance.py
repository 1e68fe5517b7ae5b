"""Time-value-of-money formulas with Excel's semantics and sign conventions, exact in ``Decimal``.

Money paid out is negative, money received positive (``PMT(0.005, 36, -100000)`` is ``3042.19...``). ``when`` is 0
for payments at the end of each period (the default) and 1 for the beginning. The ``*_value`` functions expect
the evaluation's decimal context (the expression engine sets it); the public helpers below set it themselves.
``amortization_schedule`` builds instalment tables exact to the cent, the last row absorbing the rounding.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any, Literal, Sequence

from .errors import EvalError
from .limits import CONTEXT

ZERO, ONE = Decimal(0), Decimal(1)
CENT = Decimal("0.01")
#: Most Newton steps RATE takes before giving up.
RATE_MAX_ITERATIONS = 100
_RATE_TOLERANCE = Decimal("1e-24")

Method = Literal["equal_payment", "equal_principal", "interest_first"]


def _growth(rate: Decimal, nper: Decimal) -> Decimal:
    base = ONE + rate
    if base <= 0 and nper != nper.to_integral_value():
        raise EvalError("rate must be above -1", "invalid_value")
    return base ** (int(nper) if nper == nper.to_integral_value() else nper)


def pmt_value(rate: Decimal, nper: Decimal, pv: Decimal, fv: Decimal = ZERO, when: Decimal = ZERO) -> Decimal:
    """The payment per period of an annuity (Excel PMT)."""
    if nper == 0:
        raise EvalError("PMT: the number of periods must not be 0", "invalid_value")
    if rate == 0:
        return -(pv + fv) / nper
    g = _growth(rate, nper)
    return -(rate * (fv + pv * g)) / ((ONE + rate * when) * (g - ONE))


def fv_value(rate: Decimal, nper: Decimal, pmt: Decimal, pv: Decimal = ZERO, when: Decimal = ZERO) -> Decimal:
    """The future value (Excel FV)."""
    if rate == 0:
        return -(pv + pmt * nper)
    g = _growth(rate, nper)
    return -(pv * g + pmt * (ONE + rate * when) * (g - ONE) / rate)


def pv_value(rate: Decimal, nper: Decimal, pmt: Decimal, fv: Decimal = ZERO, when: Decimal = ZERO) -> Decimal:
    """The present value (Excel PV)."""
    if rate == 0:
        return -(fv + pmt * nper)
    g = _growth(rate, nper)
    return -(fv + pmt * (ONE + rate * when) * (g - ONE) / rate) / g


def ipmt_value(rate: Decimal, per: Decimal, nper: Decimal, pv: Decimal, fv: Decimal = ZERO,
               when: Decimal = ZERO) -> Decimal:
    """The interest part of payment ``per`` (Excel IPMT)."""
    if not 1 <= per <= nper:
        raise EvalError("IPMT: the period must be between 1 and the number of periods", "invalid_value")
    if when == 1 and per == 1:
        return ZERO
    payment = pmt_value(rate, nper, pv, fv, when)
    interest = fv_value(rate, per - 1, payment, pv, when) * rate
    return interest / (ONE + rate) if when == 1 else interest


def ppmt_value(rate: Decimal, per: Decimal, nper: Decimal, pv: Decimal, fv: Decimal = ZERO,
               when: Decimal = ZERO) -> Decimal:
    """The principal part of payment ``per`` (Excel PPMT)."""
    return pmt_value(rate, nper, pv, fv, when) - ipmt_value(rate, per, nper, pv, fv, when)


def npv_value(rate: Decimal, values: Sequence[Decimal]) -> Decimal:
    """The net present value of payments at the end of periods 1, 2, ... (Excel NPV)."""
    if rate == -1:
        raise EvalError("NPV: rate must not be -1", "invalid_value")
    total, factor = ZERO, ONE
    base = ONE + rate
    for value in values:
        factor *= base
        total += value / factor
    return total


def rate_value(nper: Decimal, pmt: Decimal, pv: Decimal, fv: Decimal = ZERO, when: Decimal = ZERO,
               guess: Decimal = Decimal("0.1")) -> Decimal:
    """The interest rate per period that makes the annuity balance (Excel RATE), by Newton's method."""
    if nper <= 0:
        raise EvalError("RATE: the number of periods must be positive", "invalid_value")
    rate = guess
    for _ in range(RATE_MAX_ITERATIONS):
        if rate <= -1:
            rate = Decimal("-0.99")
        if rate == 0:
            rate = Decimal("1e-12")
        g = _growth(rate, nper)
        g1 = g / (ONE + rate)
        f = pv * g + pmt * (ONE + rate * when) * (g - ONE) / rate + fv
        df = (pv * nper * g1 + pmt * when * (g - ONE) / rate
              + pmt * (ONE + rate * when) * (nper * g1 * rate - (g - ONE)) / (rate * rate))
        if df == 0:
            break
        step = f / df
        rate -= step
        if abs(step) < _RATE_TOLERANCE:
            return rate
    raise EvalError("RATE did not converge; check the signs of payment and present value", "no_solution")


def round_money(value: Decimal, places: int = 2) -> Decimal:
    """Round half-up (away from zero on ties) to ``places`` decimals: the money rule."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _dec(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def amortization_schedule(principal: Any, annual_rate: Any, months: int,
                          method: Method = "equal_payment") -> list[dict[str, Any]]:
    """An instalment table, exact to the cent, the last row absorbing all rounding.

    Args:
        principal: the amount repaid over the schedule (e.g. ``Decimal("100000.00")``).
        annual_rate: yearly rate as a fraction (``0.06`` for 6 %); the period rate is a twelfth of it.
        months: number of monthly periods.
        method: ``equal_payment`` (same total each month: Excel PMT rounded to the cent), ``equal_principal``
            (same principal each month, interest on the balance), ``interest_first`` (interest each month,
            the whole principal with the last one).

    Returns:
        One dict per period: ``period``, ``payment``, ``principal``, ``interest``, ``balance`` (Decimals).
        Principal parts sum exactly to ``principal``; interest each month is the balance times the period rate,
        rounded half-up to the cent.
    """
    if months < 1 or months > 1200:
        raise ValueError("months must be between 1 and 1200")
    if method not in ("equal_payment", "equal_principal", "interest_first"):
        raise ValueError(f"unknown method {method!r}")
    with localcontext(CONTEXT):
        amount, rate = round_money(_dec(principal)), _dec(annual_rate) / 12
        payment = round_money(pmt_value(rate, Decimal(months), -amount)) if method == "equal_payment" else ZERO
        even_principal = round_money(amount / months)
        balance, rows = amount, []
        for period in range(1, months + 1):
            interest = round_money(balance * rate)
            if period == months:
                part = balance
            elif method == "equal_payment":
                part = min(payment - interest, balance)
            elif method == "equal_principal":
                part = min(even_principal, balance)
            else:
                part = ZERO
            balance -= part
            rows.append({"period": period, "payment": part + interest, "principal": part, "interest": interest,
                         "balance": balance})
        return rows


def pmt(rate: Any, nper: Any, pv: Any, fv: Any = 0, when: Any = 0) -> Decimal:
    """Excel PMT for Python callers (any numbers; exact decimal result)."""
    with localcontext(CONTEXT):
        return pmt_value(_dec(rate), _dec(nper), _dec(pv), _dec(fv), _dec(when))


def ipmt(rate: Any, per: Any, nper: Any, pv: Any, fv: Any = 0, when: Any = 0) -> Decimal:
    """Excel IPMT for Python callers."""
    with localcontext(CONTEXT):
        return ipmt_value(_dec(rate), _dec(per), _dec(nper), _dec(pv), _dec(fv), _dec(when))


def ppmt(rate: Any, per: Any, nper: Any, pv: Any, fv: Any = 0, when: Any = 0) -> Decimal:
    """Excel PPMT for Python callers."""
    with localcontext(CONTEXT):
        return ppmt_value(_dec(rate), _dec(per), _dec(nper), _dec(pv), _dec(fv), _dec(when))
