"""The timer runner: a background thread that fires due booking timers on an interval."""

from __future__ import annotations

import logging
import threading

from sparecap.bootstrap import Platform
from sparecap.services.bookings import run_due_timers

log = logging.getLogger(__name__)


def run_timers_once(platform: Platform) -> int:
    """Fire what is due now, in batches, until nothing is due."""
    total = 0
    while True:
        with platform.db.write() as session:
            fired = run_due_timers(session, ctx=platform.ctx)
        total += fired
        if fired == 0:
            return total


class TimerThread:
    """Polls rather than sleeping until the next due time: new timers need no wake-up signal,
    and a poll of an indexed column costs little."""

    def __init__(self, platform: Platform) -> None:
        self._platform = platform
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sparecap-timers", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        interval = self._platform.settings.scheduler_interval_seconds
        while not self._stop.wait(interval):
            try:
                run_timers_once(self._platform)
            except Exception:  # a bad row must not stop every other timer
                log.exception("timer run failed; retrying next interval")
