"""What every use case may read besides its session: the clock, the timer policy, the platform's
fees and default booking policy, and the payment providers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sparecap.domain.bookings import TimerPolicy
from sparecap.domain.clock import Clock, SystemClock
from sparecap.domain.policies import Policy
from sparecap.domain.quotes import FeeSchedule
from sparecap.gateways.payments import PaymentProvider, SandboxProvider


def _sandbox_only() -> Mapping[str, PaymentProvider]:
    return {"sandbox": SandboxProvider(b"sparecap-sandbox")}


@dataclass(frozen=True)
class ServiceContext:
    clock: Clock = field(default_factory=SystemClock)
    timers: TimerPolicy = field(default_factory=TimerPolicy)
    # Salt for the pseudonyms that stand for people on the public ledger. The composition root
    # loads the real one from the key file; the default serves tests only.
    ledger_salt: bytes = b"sparecap-test-salt"
    fees: FeeSchedule = field(default_factory=FeeSchedule)
    default_policy: Policy = field(default_factory=Policy)
    payments: Mapping[str, PaymentProvider] = field(default_factory=_sandbox_only)
