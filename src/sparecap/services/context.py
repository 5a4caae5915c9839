"""What every use case may read besides its session: the clock and the timer policy."""

from __future__ import annotations

from dataclasses import dataclass, field

from sparecap.domain.bookings import TimerPolicy
from sparecap.domain.clock import Clock, SystemClock


@dataclass(frozen=True)
class ServiceContext:
    clock: Clock = field(default_factory=SystemClock)
    timers: TimerPolicy = field(default_factory=TimerPolicy)
    # Salt for the pseudonyms that stand for people on the public ledger. The composition root
    # loads the real one from the key file; the default serves tests only.
    ledger_salt: bytes = b"sparecap-test-salt"
