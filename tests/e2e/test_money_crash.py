"""Money against real server processes: the server is killed (SIGKILL) at random moments of
booking → payment → completion → settlement → payout, restarted, and every request retried
with its idempotency key; afterwards no money is lost or duplicated and the journal reconciles.
And many clients racing to spend one wallet: at most one wins."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from sparecap.db.engine import Database
from sparecap.db.money import Payment
from sparecap.services.reconcile import reconcile
from tests.support.server import (
    Member,
    ServerProcess,
    charger_spec,
    create_market,
    expect,
    http_client,
    next_local,
    serve_with_operator,
)

pytestmark = pytest.mark.slow

ITERATIONS = 5
PRICE = 4500  # the e2e charger's hourly list price
ENV = {"SPARECAP_DISPUTE_DAYS": "0", "SPARECAP_SETTLE_INTERVAL_SECONDS": "3600"}
SPENDERS = 12


class Crashing:
    """A server that a timer may kill mid-request; calls restart it and retry the same key."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.server, self.operator = serve_with_operator(db_url, env=ENV)
        self.client = http_client(self.server.base_url)
        self.restarts = 0

    def call(self, method: str, path: str, who: Member, key: str, body: Any = None) -> Any:
        while True:
            try:
                response = self.client.request(method, path, json=body, headers=who.headers(key))
            except httpx.TransportError:
                self._restart()
                continue
            return response.json()

    def kill_soon(self, rng: random.Random) -> threading.Timer:
        timer = threading.Timer(rng.uniform(0.0, 0.05), self.server.kill)
        timer.start()
        return timer

    def _restart(self) -> None:
        self.server.kill()
        self.server.stop()  # closes its logs
        self.client.close()
        self.server = ServerProcess.serve(self.db_url, env=ENV).start()
        self.client = http_client(self.server.base_url)
        self.restarts += 1

    def close(self) -> None:
        self.client.close()
        self.server.stop()


def _flow(
    app: Crashing, people: Any, charger: int, round_: int
) -> list[tuple[str, str, Member, Any]]:
    start = next_local(0, 8) + timedelta(hours=2 * round_)
    booking_body = {"resource_id": charger, "start": start.isoformat(),
                    "end": (start + timedelta(hours=1)).isoformat()}  # fmt: skip
    return [
        ("POST", "/v1/wallet/top-ups", people.demander, {"amount_minor": PRICE, "currency": "CNY"}),
        ("POST", "/v1/bookings", people.demander, booking_body),
        ("POST", "/v1/bookings/{id}/payments", people.demander, {"method": "wallet"}),
        ("POST", "/v1/bookings/{id}/start", people.provider, {}),
        ("POST", "/v1/bookings/{id}/complete", people.provider, {}),
        ("POST", "/v1/money/settle", people.operator, None),
        ("POST", "/v1/payouts", people.provider, {"amount_minor": PRICE, "currency": "CNY"}),
    ]


def test_crashes_lose_and_duplicate_no_money(db_url: str) -> None:
    rng = random.Random(20261128)
    app = Crashing(db_url)
    try:
        people = create_market(app.client, app.operator)
        listing = app.client.post(
            "/v1/resources", json=charger_spec(1), headers=people.provider.write_headers()
        )
        charger = expect(listing, 201)["id"]
        for round_ in range(ITERATIONS):
            steps = _flow(app, people, charger, round_)
            crash_at = rng.randrange(len(steps))
            booking_id = None
            for index, (method, path, who, body) in enumerate(steps):
                timer = app.kill_soon(rng) if index == crash_at else None
                answer = app.call(
                    method, path.format(id=booking_id), who, f"r{round_}-s{index}", body
                )
                if timer is not None:
                    timer.join()
                assert "error" not in answer, (round_, index, answer)
                if index == 1:
                    booking_id = answer["id"]
        assert app.restarts >= 1
    finally:
        app.close()
    db = Database(db_url)
    try:
        with db.read() as session:
            report = reconcile(session)
            purposes = dict(
                session.execute(
                    select(Payment.purpose, func.count()).group_by(Payment.purpose)
                ).all()
            )
    finally:
        db.dispose()
    assert report.ok, report.problems
    assert purposes == {"topup": ITERATIONS, "booking": ITERATIONS, "payout": ITERATIONS}
    # All money that came in went out again through the payouts: nothing lost, nothing doubled.
    assert report.totals["clearing CNY"] == 0
    assert report.totals["wallet CNY"] == 0


def test_one_wallet_cannot_be_spent_twice(db_url: str) -> None:
    server, operator = serve_with_operator(db_url, env=ENV)
    with server, http_client(server.base_url) as client:
        people = create_market(client, operator)
        top_up = {"amount_minor": 10_000, "currency": "CNY"}
        expect(
            client.post("/v1/wallet/top-ups", json=top_up, headers=people.demander.write_headers()),
            201,
        )
        barrier = threading.Barrier(SPENDERS)

        def spend(_: int) -> int:
            barrier.wait(timeout=60)
            response = client.post(
                "/v1/payouts", json=top_up, headers=people.demander.write_headers()
            )
            return response.status_code

        with ThreadPoolExecutor(SPENDERS) as pool:
            codes = sorted(pool.map(spend, range(SPENDERS)))
        wallet = expect(client.get("/v1/wallet", headers=people.demander.headers()), 200)
    assert codes == [201] + [409] * (SPENDERS - 1)
    assert {"account": "wallet", "currency": "CNY", "balance_minor": 0} in wallet
