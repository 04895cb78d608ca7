"""Clocks: the wall clock, or a simulated one so a demo runs inside its voting window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock(Clock):
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        self._t = start

    def now(self) -> datetime:
        return self._t

    def set(self, t: datetime) -> None:
        if t < self._t:
            raise ValueError("a simulated clock never goes back")
        self._t = t

    def advance(self, delta: timedelta) -> None:
        self._t += delta
