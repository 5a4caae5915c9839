"""Money flow through the HTTP API: quote → pay → escrow → complete → release → payout, a
cancellation refunded by policy, callbacks, statements and refusals that write nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from sparecap.bootstrap import Platform
from sparecap.db.money import JournalEntry, Payment
from sparecap.domain.clock import FixedClock
from sparecap.gateways.payments import EventType, SandboxProvider
from tests.api.conftest import Api
from tests.support.market import Party, charger_spec

TEN = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _count(platform: Platform, model: type) -> int:
    with platform.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def charger(api: Api, people: dict[str, Party]) -> int:
    resource = api.post("/v1/resources", people["provider"], charger_spec()).json()
    terms = {"tariff": {"elements": [
        {"components": [{"dimension": "time", "price_minor": 3000}],
         "restrictions": {"start_time": "22:00", "end_time": "08:00"}},
        {"components": [{"dimension": "time", "price_minor": 4000}]},
    ]}, "policy": {"free_cancel_hours": 24, "late_cancel_bp": 5000}}  # fmt: skip
    answer = api.write("PUT", f"/v1/resources/{resource['id']}/terms", people["provider"], terms)
    assert answer.status_code == 200, answer.text
    return int(resource["id"])


def _book(api: Api, who: Party, resource: int, start: datetime, hours: int = 1) -> dict[str, Any]:
    body = {"resource_id": resource, "start": start.isoformat(),
            "end": (start + hours * HOUR).isoformat()}  # fmt: skip
    answer = api.post("/v1/bookings", who, body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_preview_shows_line_items_before_booking(
    api: Api, people: dict[str, Party], charger: int
) -> None:
    # 07:00-09:00 Shanghai: one hour at the night rate, one at the day rate.
    start = TEN - 3 * HOUR
    body = {"resource_id": charger, "start": start.isoformat(),
            "end": (start + 2 * HOUR).isoformat()}  # fmt: skip
    quote = api.post("/v1/prices/preview", people["demander"], body).json()
    assert [line["amount_minor"] for line in quote["lines"]] == [3000, 4000]
    assert quote["total_minor"] == 7000


def test_booking_pays_escrows_completes_releases_and_pays_out(
    api: Api, people: dict[str, Party], charger: int, clock: FixedClock
) -> None:
    demander, provider = people["demander"], people["provider"]
    topped = api.post("/v1/wallet/top-ups", demander, {"amount_minor": 10_000, "currency": "CNY"})
    assert topped.json()["status"] == "captured"
    booking = _book(api, demander, charger, TEN)
    paid = api.post(f"/v1/bookings/{booking['id']}/payments", demander, {"method": "wallet"})
    assert paid.status_code == 201, paid.text
    assert paid.json()["status"] == "captured"
    money = api.get(f"/v1/bookings/{booking['id']}/money", demander).json()
    assert money["money_status"] == "escrowed"
    for event in ("start", "complete"):
        assert api.post(f"/v1/bookings/{booking['id']}/{event}", provider, {}).status_code == 200
    clock.advance(timedelta(days=4))
    assert api.post("/v1/money/settle", people["operator"]).json() == {"settled": 1}
    settled = api.get(f"/v1/bookings/{booking['id']}/money", provider).json()
    assert settled["settlement"]["provider_minor"] == 4000
    payout = {"amount_minor": 4000, "currency": "CNY", "instrument": "bank:6222"}
    assert api.post("/v1/payouts", provider, payout).json()["status"] == "paid"
    wallet = api.get("/v1/wallet", provider).json()
    assert {"account": "wallet", "currency": "CNY", "balance_minor": 0} in wallet
    report = api.get("/v1/money/reconcile", people["auditor"]).json()
    assert report["ok"], report["problems"]


def test_late_cancellation_refunds_half(
    api: Api, people: dict[str, Party], charger: int, clock: FixedClock
) -> None:
    demander = people["demander"]
    booking = _book(api, demander, charger, TEN)  # starts in 26 hours
    paid = api.post(f"/v1/bookings/{booking['id']}/payments", demander,
                    {"method": "sandbox", "instrument": "sandbox:ok"})  # fmt: skip
    assert paid.json()["status"] == "captured"
    clock.advance(timedelta(hours=20))
    assert api.post(f"/v1/bookings/{booking['id']}/cancel", demander, {}).status_code == 200
    money = api.get(f"/v1/bookings/{booking['id']}/money", demander).json()
    assert money["money_status"] == "refunded"
    assert money["settlement"]["refund_minor"] == 2000
    payment = api.get(f"/v1/payments/{paid.json()['id']}", demander).json()
    assert payment["refunded_minor"] == 2000


def test_statement_as_csv_and_json(api: Api, people: dict[str, Party], charger: int) -> None:
    demander = people["demander"]
    api.post("/v1/wallet/top-ups", demander, {"amount_minor": 5_000, "currency": "CNY"})
    period = {"currency": "CNY", "start": (TEN - 10 * 24 * HOUR).isoformat(),
              "end": (TEN + 24 * HOUR).isoformat()}  # fmt: skip
    data = api.get("/v1/statements", demander, **period).json()
    assert (data["opening_minor"], data["closing_minor"]) == (0, 5_000)
    csv_text = api.get("/v1/statements", demander, format="csv", **period).text
    assert csv_text.splitlines()[1].endswith(",top_up,,5000,5000,CNY")
    other = api.get("/v1/statements", people["other"], participant_id=demander.id, **period)
    assert other.status_code == 404


def test_callback_endpoint_checks_signature_and_applies_once(
    api: Api, people: dict[str, Party], platform: Platform
) -> None:
    late = {"amount_minor": 3_000, "currency": "CNY", "instrument": "sandbox:late"}
    payment = api.post("/v1/wallet/top-ups", people["demander"], late).json()
    assert payment["status"] == "pending"
    sandbox = platform.ctx.payments["sandbox"]
    assert isinstance(sandbox, SandboxProvider)
    body, signature = sandbox.event(
        event_id="evt-1", type=EventType.AUTHORIZED, reference=f"payment:{payment['id']}"
    )
    forged = api.client.post("/v1/payments/callbacks/sandbox", content=body,
                             headers={"Sparecap-Signature": "0" * 64})  # fmt: skip
    assert forged.status_code == 401
    for _ in range(2):
        answer = api.client.post("/v1/payments/callbacks/sandbox", content=body,
                                 headers={"Sparecap-Signature": signature})  # fmt: skip
        assert answer.json() == {"event_id": "evt-1", "outcome": "applied"}
    wallet = api.get("/v1/wallet", people["demander"]).json()
    assert wallet == [{"account": "wallet", "currency": "CNY", "balance_minor": 3_000}]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"amount_minor": 0, "currency": "CNY"}, "invalid_amount"),
        ({"amount_minor": -100, "currency": "CNY"}, "invalid_amount"),
        ({"amount_minor": 100, "currency": "XYZ"}, "invalid_amount"),
        ({"amount_minor": 10**16, "currency": "CNY"}, "invalid_input"),
        ({"amount_minor": 100, "currency": "CNY", "provider": "nope"}, "unknown_provider"),
    ],
)
def test_bad_amounts_get_4xx_and_write_nothing(
    api: Api, people: dict[str, Party], platform: Platform, body: dict[str, Any], code: str
) -> None:
    answer = api.post("/v1/wallet/top-ups", people["demander"], body)
    assert 400 <= answer.status_code < 500
    assert answer.json()["error"]["code"] == code
    assert _count(platform, Payment) == 0
    assert _count(platform, JournalEntry) == 0


def test_overdrawn_payout_is_refused(
    api: Api, people: dict[str, Party], platform: Platform
) -> None:
    answer = api.post("/v1/payouts", people["provider"], {"amount_minor": 1, "currency": "CNY"})
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "insufficient_funds"
    assert _count(platform, JournalEntry) == 0


def test_payment_retry_replays_and_pays_once(
    api: Api, people: dict[str, Party], charger: int, platform: Platform
) -> None:
    demander = people["demander"]
    api.post("/v1/wallet/top-ups", demander, {"amount_minor": 10_000, "currency": "CNY"})
    booking = _book(api, demander, charger, TEN)
    path = f"/v1/bookings/{booking['id']}/payments"
    first = api.post(path, demander, {"method": "wallet"}, key="pay-1")
    again = api.post(path, demander, {"method": "wallet"}, key="pay-1")
    assert first.json() == again.json()
    assert _count(platform, Payment) == 2  # the top-up and one booking payment
