"""The clock protocol: domain code is handed the time, it never reads it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock tests move by hand."""

    def __init__(self, at: datetime) -> None:
        self._at = ensure_utc(at)

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta) -> None:
        self._at += delta

    def set(self, at: datetime) -> None:
        self._at = ensure_utc(at)


class NaiveDatetimeError(ValueError):
    pass


def ensure_utc(at: datetime) -> datetime:
    """Refuse naive datetimes; normalise aware ones to UTC."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise NaiveDatetimeError(f"datetime {at.isoformat()} has no time zone; send an offset or Z")
    return at.astimezone(UTC)
