"""End to end against real server processes: racing clients, idempotent retries, durable timers."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from sparecap.domain.bookings import BLOCKING
from tests.support.server import (
    Market,
    ServerProcess,
    charger_spec,
    create_market,
    expect,
    http_client,
    next_local,
    parking_spec,
    serve_with_operator,
)

pytestmark = pytest.mark.slow

RACERS = 64
SAME_KEY_RETRIES = 16
POOLED_BAYS = 5
HOLD_TTL_SECONDS = 2
# Failure thresholds only: a healthy run finishes far sooner, and nothing asserts on speed.
REQUEST_TIMEOUT_SECONDS = 120.0
BARRIER_TIMEOUT_SECONDS = 60.0
TIMER_DEADLINE_SECONDS = 30.0
SERVER_LOG_TAIL = 8000
BLOCKING_STATUSES = {s.value for s in BLOCKING}


@dataclass(frozen=True)
class Running:
    server: ServerProcess
    client: httpx.Client
    market: Market


@contextmanager
def running(db_url: str, env: dict[str, str] | None = None) -> Iterator[Running]:
    """A real server, an operator made by the CLI, a provider and a demander made by the API."""
    server, operator = serve_with_operator(db_url, env=env)
    with server, http_client(server.base_url, timeout=REQUEST_TIMEOUT_SECONDS) as client:
        try:
            yield Running(server, client, create_market(client, operator))
        except BaseException:
            # pytest shows captured output of a failed test: the server's traceback explains a 500.
            print(f"--- server stderr (last {SERVER_LOG_TAIL} chars) ---")
            print(server.stderr()[-SERVER_LOG_TAIL:])
            raise


def list_resource(run: Running, spec: dict[str, Any]) -> dict[str, Any]:
    headers = run.market.provider.write_headers()
    resource: dict[str, Any] = expect(
        run.client.post("/v1/resources", json=spec, headers=headers), 201
    )
    return resource


def race(
    base_url: str, clients: int, send: Callable[[httpx.Client, int], httpx.Response]
) -> list[httpx.Response]:
    """`clients` threads, each on its own connection, released together by a barrier."""
    barrier = threading.Barrier(clients)

    def one(i: int) -> httpx.Response:
        with http_client(base_url, timeout=REQUEST_TIMEOUT_SECONDS) as client:
            try:
                # Connect before the barrier, so it releases requests rather than handshakes.
                client.get("/healthz").raise_for_status()
                barrier.wait(BARRIER_TIMEOUT_SECONDS)
            except BaseException:
                barrier.abort()  # the others fail fast instead of waiting out the timeout
                raise
            return send(client, i)

    with ThreadPoolExecutor(max_workers=clients) as pool:
        return list(pool.map(one, range(clients)))


def error_code(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return "(not a JSON error body)"


def describe(responses: list[httpx.Response]) -> str:
    """The answers grouped by status and error code, one sample body each, for a failure message."""
    groups: dict[str, list[httpx.Response]] = {}
    for r in responses:
        code = error_code(r) if r.status_code >= 400 else ""
        groups.setdefault(f"{r.status_code} {code}".strip(), []).append(r)
    return "\n".join(f"{len(rs)} x {key}, e.g. {rs[0].text[:300]}" for key, rs in groups.items())


def window(start: datetime, minutes: int = 60) -> tuple[datetime, datetime]:
    return start, start + timedelta(minutes=minutes)


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def overlaps(conflict: dict[str, str], start: datetime, end: datetime) -> bool:
    return at(conflict["start"]) < end and start < at(conflict["end"])


def bookings_of(run: Running, resource_id: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = expect(
        run.client.get(
            "/v1/bookings",
            params={"resource_id": resource_id, "limit": 500},
            headers=run.market.provider.headers(),
        ),
        200,
    )
    return rows


def assert_refusals(
    losers: list[httpx.Response], start: datetime, end: datetime, responses: list[httpx.Response]
) -> None:
    for response in losers:
        error = response.json()["error"]
        assert error["code"] == "capacity_conflict", describe(responses)
        conflicts = error["details"]["conflicts"]
        assert conflicts, f"a refusal names no conflicting window: {response.text}"
        assert all(overlaps(c, start, end) for c in conflicts), response.text


def test_exclusive_unit_goes_to_exactly_one_of_64_racers(db_url: str) -> None:
    with running(db_url) as run:
        resource = list_resource(run, charger_spec(1))
        start, end = window(next_local(0, 10))
        body = {
            "resource_id": resource["id"],
            "unit_id": resource["units"][0]["id"],
            "start": start.isoformat(),
            "end": end.isoformat(),
        }
        demander = run.market.demander

        responses = race(
            run.server.base_url,
            RACERS,
            lambda c, _i: c.post("/v1/bookings", json=body, headers=demander.write_headers()),
        )

        statuses = Counter(r.status_code for r in responses)
        assert statuses == {201: 1, 409: RACERS - 1}, describe(responses)
        winner = next(r.json() for r in responses if r.status_code == 201)
        assert winner["status"] == "confirmed"
        assert_refusals([r for r in responses if r.status_code == 409], start, end, responses)
        # On an exclusive unit the one thing in the way is the winner's blocked window.
        for r in responses:
            if r.status_code == 409:
                [conflict] = r.json()["error"]["details"]["conflicts"]
                assert at(conflict["start"]) == at(winner["block_start"])
                assert at(conflict["end"]) == at(winner["block_end"])
        blocking = [b for b in bookings_of(run, resource["id"]) if b["status"] in BLOCKING_STATUSES]
        assert [b["id"] for b in blocking] == [winner["id"]]


def test_pooled_capacity_of_five_goes_to_exactly_five_of_64_racers(db_url: str) -> None:
    with running(db_url) as run:
        resource = list_resource(run, parking_spec(POOLED_BAYS))
        start, end = window(next_local(0, 10))
        body = {
            "resource_id": resource["id"],
            "start": start.isoformat(),
            "end": end.isoformat(),
            "quantity": 1,
        }
        demander = run.market.demander

        responses = race(
            run.server.base_url,
            RACERS,
            lambda c, _i: c.post("/v1/bookings", json=body, headers=demander.write_headers()),
        )

        statuses = Counter(r.status_code for r in responses)
        assert statuses == {201: POOLED_BAYS, 409: RACERS - POOLED_BAYS}, describe(responses)
        assert_refusals([r for r in responses if r.status_code == 409], start, end, responses)
        winners = {r.json()["id"] for r in responses if r.status_code == 201}
        blocking = [b for b in bookings_of(run, resource["id"]) if b["status"] in BLOCKING_STATUSES]
        assert {b["id"] for b in blocking} == winners
        assert sum(b["quantity"] for b in blocking) == POOLED_BAYS
        free = expect(
            run.client.get(
                f"/v1/resources/{resource['id']}/free",
                params={"start": start.isoformat(), "end": end.isoformat()},
                headers=demander.headers(),
            ),
            200,
        )
        assert all(not unit["free"] for unit in free["units"]), free


def test_concurrent_retries_with_one_idempotency_key_book_once(db_url: str) -> None:
    with running(db_url) as run:
        resource = list_resource(run, charger_spec(2))
        start, end = window(next_local(0, 10))
        # No unit named: a duplicate that slipped past the key would find the second unit free.
        body = {"resource_id": resource["id"], "start": start.isoformat(), "end": end.isoformat()}
        headers = run.market.demander.headers(idempotency_key=str(uuid.uuid4()))

        responses = race(
            run.server.base_url,
            SAME_KEY_RETRIES,
            lambda c, _i: c.post("/v1/bookings", json=body, headers=headers),
        )

        assert {r.status_code for r in responses} == {201}, describe(responses)
        assert len({r.json()["id"] for r in responses}) == 1, describe(responses)
        assert len(bookings_of(run, resource["id"])) == 1


def booking_status_in_database(db_url: str, booking_id: int) -> str:
    """Read past the API: no server is running when this is asked."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            status = conn.execute(
                text("SELECT status FROM bookings WHERE id = :id"), {"id": booking_id}
            ).scalar_one()
    finally:
        engine.dispose()
    return str(status)


def test_hold_expires_after_a_crash_and_restart(db_url: str) -> None:
    fast_timers = {
        "SPARECAP_HOLD_TTL_SECONDS": str(HOLD_TTL_SECONDS),
        "SPARECAP_SCHEDULER_INTERVAL_SECONDS": "0.2",
    }
    with running(db_url, env=fast_timers) as run:
        resource = list_resource(run, charger_spec(1))
        start, end = window(next_local(0, 10))
        body = {
            "resource_id": resource["id"],
            "start": start.isoformat(),
            "end": end.isoformat(),
            "hold": True,
        }
        hold = expect(
            run.client.post("/v1/bookings", json=body, headers=run.market.demander.write_headers()),
            201,
        )
        run.server.kill()
        killed_at = datetime.now(UTC)
        demander = run.market.demander

    assert hold["status"] == "held"
    assert hold["timer_event"] == "expire"
    due = at(hold["timer_due_at"])
    # The crash came before the timer fired: whatever expires the hold now is the next process.
    assert booking_status_in_database(db_url, hold["id"]) == "held"
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 0.5)

    # The new process keeps the default 10-minute hold TTL: the due time must come from the row.
    restarted = ServerProcess.serve(db_url, env={"SPARECAP_SCHEDULER_INTERVAL_SECONDS": "0.2"})
    with (
        restarted as server,
        http_client(server.base_url, timeout=REQUEST_TIMEOUT_SECONDS) as client,
    ):
        deadline = time.monotonic() + TIMER_DEADLINE_SECONDS
        while True:
            booking = expect(
                client.get(f"/v1/bookings/{hold['id']}", headers=demander.headers()), 200
            )
            if booking["status"] != "held" or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert booking["status"] == "expired", booking
        last = booking["events"][-1]
        assert (last["event"], last["from_status"], last["actor_role"]) == (
            "expire",
            "held",
            "system",
        )
        assert at(last["at"]) > killed_at
        # Expiry gave the capacity back.
        expect(client.post("/v1/bookings", json=body, headers=demander.write_headers()), 201)
