"""Background work of a server: firing due booking timers, expiring demands past their deadline,
releasing due escrow, running batch matching rounds and signing ledger checkpoints."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.orm import Session

from sparecap.bootstrap import Platform
from sparecap.gateways.witness_client import HttpWitnessClient, WitnessClient
from sparecap.services.bookings import run_due_timers
from sparecap.services.demands import expire_demands
from sparecap.services.ledger import sign_latest
from sparecap.services.ledger_cosigning import Submission, submit_latest
from sparecap.services.rounds import run_scheduled_round
from sparecap.services.settlement import settle_due

log = logging.getLogger(__name__)


def run_timers_once(platform: Platform) -> int:
    """Fire what is due now, in batches, until nothing is due."""
    return _drain(platform, lambda session: run_due_timers(session, ctx=platform.ctx))


def expire_demands_once(platform: Platform) -> int:
    """Expire every live demand past its deadline; returns how many. Rounds do it too, but a
    demand's status must not wait for the next round (nor stay open where rounds are off)."""
    return _drain(platform, lambda session: expire_demands(session, ctx=platform.ctx))


def settle_once(platform: Platform) -> int:
    """Release every escrow that is due; returns how many."""
    return _drain(platform, lambda session: settle_due(session, ctx=platform.ctx))


def match_round_once(platform: Platform) -> int:
    """One batch matching round over the live demands, as the platform; returns the matches."""
    with platform.db.write() as session:
        result = run_scheduled_round(session, ctx=platform.ctx)
        return len(result.matches) if result else 0


def _drain(platform: Platform, batch: Callable[[Session], int]) -> int:
    """Run `batch`, one transaction each, until it finds nothing to do; returns the total."""
    total = 0
    while done := _in_transaction(platform, batch):
        total += done
    return total


def _in_transaction(platform: Platform, batch: Callable[[Session], int]) -> int:
    with platform.db.write() as session:
        return batch(session)


def sign_checkpoint_once(platform: Platform) -> int:
    """Sign the ledger's current head if it grew; returns the signed size."""
    with platform.db.write() as session:
        checkpoint = sign_latest(
            session,
            signer=platform.ledger.signer,
            origin=platform.settings.ledger_origin,
            at=platform.ctx.clock.now(),
        )
        return checkpoint.size


def cosign_once(platform: Platform, client: WitnessClient) -> list[Submission]:
    """Offer the newest checkpoint to the witnesses that have not cosigned it yet."""
    return submit_latest(
        platform.db,
        client=client,
        policy=platform.finality,
        log_verifiers=platform.ledger.verifiers,
        clock=platform.ctx.clock,
    )


def _cosigning_task(platform: Platform) -> Callable[[], object]:
    """Each round's refusals are logged when they change, not every second a witness is down."""
    client = HttpWitnessClient(timeout=platform.settings.ledger_witness_timeout_seconds)
    reported: dict[str, str] = {}

    def run() -> None:
        for result in cosign_once(platform, client):
            detail = result.detail if result.outcome == "failed" else ""
            if reported.get(result.witness, "") != detail:
                if detail:
                    log.warning(
                        "witness %s refused checkpoint %d: %s", result.witness, result.size, detail
                    )
                else:
                    log.info("witness %s cosigns again", result.witness)
                reported[result.witness] = detail

    return run


class Periodic:
    """Runs `task` every `interval` seconds on a daemon thread until stopped.

    Polling, rather than sleeping until the next due time, needs no wake-up signal when new
    work appears, and a poll of an indexed column costs little.
    """

    def __init__(self, name: str, interval: float, task: Callable[[], object]) -> None:
        self._task = task
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._task()
            except Exception:  # one failed run must not stop the next
                log.exception("%s failed; retrying next interval", self._thread.name)


def background_tasks(platform: Platform) -> list[Periodic]:
    settings = platform.settings
    tasks = [
        Periodic(
            "sparecap-checkpoints",
            settings.checkpoint_interval_seconds,
            lambda: sign_checkpoint_once(platform),
        )
    ]
    if platform.finality.witnesses:
        tasks.append(
            Periodic(
                "sparecap-witnesses",
                settings.ledger_witness_interval_seconds,
                _cosigning_task(platform),
            )
        )
    if settings.scheduler_enabled:
        tasks.append(
            Periodic(
                "sparecap-timers",
                settings.scheduler_interval_seconds,
                lambda: (run_timers_once(platform), expire_demands_once(platform)),
            )
        )
        tasks.append(
            Periodic(
                "sparecap-settlement",
                settings.settle_interval_seconds,
                lambda: settle_once(platform),
            )
        )
    if settings.scheduler_enabled and settings.round_interval_seconds:
        tasks.append(
            Periodic(
                "sparecap-rounds",
                settings.round_interval_seconds,
                lambda: match_round_once(platform),
            )
        )
    return tasks
