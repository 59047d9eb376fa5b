"""Column types that keep money exact and timestamps in UTC on every backend."""
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime, Integer, Numeric
from sqlalchemy.types import TypeDecorator

SCALE = 4
_UNIT = Decimal(1).scaleb(-SCALE)

# bigint identity on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Money(TypeDecorator):
    """NUMERIC(20,4) on PostgreSQL; on SQLite a scaled integer (1/10000ths).

    SQLite has no decimal type and would store NUMERIC as a float, so sums there would
    round; an integer count of 1/10000ths keeps arithmetic and CHECKs exact.
    """

    impl = Numeric(20, SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(20, SCALE, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None or dialect.name != "sqlite":
            return value
        if isinstance(value, float):
            raise TypeError("money never travels as float")
        return int(Decimal(value).scaleb(SCALE))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-SCALE).quantize(_UNIT)
        return value


class UTCDateTime(TypeDecorator):
    """timestamptz on PostgreSQL; on SQLite naive text read back as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is not None and dialect.name == "sqlite":
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
