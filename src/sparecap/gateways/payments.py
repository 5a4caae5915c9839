"""Payment providers behind one protocol, and the sandbox provider tests and the demo use.

The protocol is the shape WeChat Pay, Alipay and Stripe share: authorise an amount, capture
it later, void or refund it, pay out to a bank account, and tell the platform about late
outcomes through signed callbacks. References are derived from the platform's own ids, so a
retried call after a crash names the same payment at the provider (what Stripe calls an
idempotency key and WeChat Pay an out_trade_no).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from sparecap.domain.money import Money


class Outcome(StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"
    PENDING = "pending"  # the provider will say later, by callback


@dataclass(frozen=True, slots=True)
class ProviderResult:
    outcome: Outcome
    provider_ref: str
    message: str = ""


class ProviderTimeoutError(Exception):
    """The provider did not answer in time: the outcome is unknown until its callback."""


class WebhookSignatureError(Exception):
    pass


class EventType(StrEnum):
    AUTHORIZED = "payment.authorized"
    DECLINED = "payment.declined"
    CAPTURED = "payment.captured"
    REFUNDED = "payment.refunded"
    PAYOUT_PAID = "payout.paid"
    PAYOUT_FAILED = "payout.failed"


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    event_id: str
    type: EventType
    reference: str  # ours, as given to the provider ("payment:42")
    provider_ref: str


class PaymentProvider(Protocol):
    name: str

    def authorize(self, *, reference: str, amount: Money, instrument: str) -> ProviderResult: ...
    def capture(self, *, provider_ref: str, amount: Money) -> ProviderResult: ...
    def void(self, *, provider_ref: str) -> ProviderResult: ...
    def refund(self, *, provider_ref: str, amount: Money, reference: str) -> ProviderResult: ...
    def payout(self, *, reference: str, amount: Money, destination: str) -> ProviderResult: ...
    def parse_webhook(self, body: bytes, signature: str) -> WebhookEvent: ...


class SandboxProvider:
    """A deterministic provider. The instrument (or payout destination) says what happens:

    - `sandbox:ok` (or anything else): approved at once;
    - `sandbox:decline`: declined;
    - `sandbox:late`: pending; a signed callback confirms it later;
    - `sandbox:timeout`: the call times out, though the provider did authorise; a callback
      confirms it later (the case that makes callbacks necessary).
    """

    name = "sandbox"

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _ref(self, reference: str) -> str:
        digest = hmac.new(self._secret, reference.encode(), hashlib.sha256).hexdigest()
        return f"sbx_{digest[:24]}"

    def _answer(self, reference: str, instrument: str) -> ProviderResult:
        ref = self._ref(reference)
        match instrument:
            case "sandbox:decline":
                return ProviderResult(Outcome.DECLINED, ref, "card declined (sandbox)")
            case "sandbox:late":
                return ProviderResult(Outcome.PENDING, ref, "confirmation will follow")
            case "sandbox:timeout":
                raise ProviderTimeoutError(f"sandbox timed out on {ref}")
            case _:
                return ProviderResult(Outcome.APPROVED, ref)

    def authorize(self, *, reference: str, amount: Money, instrument: str) -> ProviderResult:
        return self._answer(reference, instrument)

    def capture(self, *, provider_ref: str, amount: Money) -> ProviderResult:
        return ProviderResult(Outcome.APPROVED, provider_ref)

    def void(self, *, provider_ref: str) -> ProviderResult:
        return ProviderResult(Outcome.APPROVED, provider_ref)

    def refund(self, *, provider_ref: str, amount: Money, reference: str) -> ProviderResult:
        return ProviderResult(Outcome.APPROVED, self._ref(reference))

    def payout(self, *, reference: str, amount: Money, destination: str) -> ProviderResult:
        return self._answer(reference, destination)

    def sign(self, body: bytes) -> str:
        return hmac.new(self._secret, body, hashlib.sha256).hexdigest()

    def event(self, *, event_id: str, type: EventType, reference: str) -> tuple[bytes, str]:
        """A callback as the sandbox would send it: its body and signature header."""
        payload = {
            "id": event_id,
            "type": type,
            "reference": reference,
            "ref": self._ref(reference),
        }
        body = json.dumps(payload).encode()
        return body, self.sign(body)

    def parse_webhook(self, body: bytes, signature: str) -> WebhookEvent:
        if not hmac.compare_digest(self.sign(body), signature):
            raise WebhookSignatureError("callback signature does not match")
        try:
            data = json.loads(body)
            return WebhookEvent(
                str(data["id"]), EventType(data["type"]), str(data["reference"]), str(data["ref"])
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookSignatureError(f"malformed callback: {exc}") from exc
