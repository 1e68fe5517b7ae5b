"""Storage column types shared by field types.

``ExactDecimal`` keeps money and numbers exact on both databases: NUMERIC on PostgreSQL, and on SQLite (which has
no decimal type) a scaled BIGINT, so sums stay exact there too and SQL aggregates return Decimals.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Numeric
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

JsonColumn = JSON().with_variant(JSONB(), "postgresql")


class ExactDecimal(TypeDecorator):
    impl = Numeric
    cache_ok = True

    def __init__(self, scale: int = 2, precision: int = 24) -> None:
        super().__init__()
        self.scale = scale
        self.precision = precision
        self._quantum = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect):  # type: ignore[no-untyped-def]
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect) -> Any:  # type: ignore[no-untyped-def]
        if value is None:
            return None
        number = value if isinstance(value, Decimal) else Decimal(str(value))
        number = number.quantize(self._quantum, rounding=ROUND_HALF_UP)
        if dialect.name == "sqlite":
            return int(number.scaleb(self.scale))
        return number

    def process_result_value(self, value: Any, dialect) -> Any:  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if dialect.name == "sqlite":
            if isinstance(value, float):  # AVG and friends come back as REAL
                return Decimal(repr(value)).scaleb(-self.scale).quantize(self._quantum, rounding=ROUND_HALF_UP)
            return Decimal(int(value)).scaleb(-self.scale)
        return Decimal(value).quantize(self._quantum, rounding=ROUND_HALF_UP)

    @property
    def python_type(self) -> type:
        return Decimal
