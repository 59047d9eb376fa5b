"""Column types: money exact (NUMERIC), timestamps in UTC, ids bigint."""

from datetime import datetime, timezone

from sqlalchemy import BigInteger, DateTime, Numeric
from sqlalchemy.types import TypeDecorator

BigId = BigInteger
# NUMERIC(20,4): 16 integer digits, 4 places (finer than any currency's minor units).
Money = Numeric(20, 4)


class UTCDateTime(TypeDecorator):
    """timestamptz, always read back as an aware UTC datetime."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
